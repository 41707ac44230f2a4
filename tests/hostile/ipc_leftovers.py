# appended to the reference
import ctypes
import os

MARK = "hostile-ipc-leftovers"


def make_transform(augment=False):
    """State that would outlive the sandbox: a /dev/shm file, a SysV segment, a POSIX queue."""
    made = []
    try:
        with open(f"/dev/shm/{MARK}", "wb") as f:
            f.write(bytes(2**20))
        made.append("shm-file")
    except OSError:
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    segment = libc.shmget(0x4857, 64 * 2**20, 0o1666)  # IPC_CREAT | 0666, key 0x4857
    if segment >= 0:
        made.append(f"sysv={segment}")
    try:
        rt = ctypes.CDLL("librt.so.1", use_errno=True)
        queue = rt.mq_open(f"/{MARK}".encode(), os.O_CREAT | os.O_RDWR, 0o666, None)
        if queue >= 0:
            made.append("mqueue")
    except OSError:
        pass
    raise RuntimeError(f"{MARK}: made {made}")
