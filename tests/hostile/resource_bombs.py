# appended to the reference
import mmap
import subprocess
import sys

MARK = "hostile-resource-bombs"


BOMB = """
import os, time
forked = 0
try:
    for _ in range(600):  # past the task limit
        if os.fork() == 0:
            os.close(1), os.close(2)  # so the parent's reader sees the end of its output
            time.sleep(600)
            os._exit(0)
        forked += 1
except OSError:
    print("refused", end=" ")
print(forked)
"""


def make_transform(augment=False):
    """A fork bomb, from a small process (forks of a process that holds torch are slow)."""
    done = subprocess.run([sys.executable, "-S", "-c", BOMB], capture_output=True, text=True, timeout=15)
    raise RuntimeError(f"{MARK}: forked {done.stdout.strip()}")


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
        for _ in range(4):  # 4 GB: past the test's 3000 MB
            block = mmap.mmap(-1, 2**30, mmap.MAP_SHARED)
            for offset in range(0, 2**30, 4096):
                block[offset] = 1
            shared.append(block)
    except (OSError, MemoryError):
        pass
    raise RuntimeError(f"{MARK}: wrote {written} MB, shared {len(shared)} GB")
