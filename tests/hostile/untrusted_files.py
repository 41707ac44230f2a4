# appended to the reference
import os
from pathlib import Path

MARK = "hostile-untrusted-files"


def make_transform(augment=False):
    """Where the grader used to read back (child.log, out/status.jsonl, out/*.npz): links to
    root-only files and /dev/zero, a FIFO, a device node; then floods its output."""
    made = []
    out = Path.cwd() / "out"
    out.mkdir(exist_ok=True)
    for link, target in (("child.log", "/etc/shadow"), ("out/probe_transform.npz", "/dev/zero"),
                         ("environ.log", "/proc/1/environ")):
        try:
            os.symlink(target, Path.cwd() / link)
            made.append(link)
        except OSError:
            pass
    for fifo in ("out/status.jsonl",):
        try:
            os.mkfifo(Path.cwd() / fifo)
            made.append(fifo)
        except OSError:
            pass
    try:
        os.mknod(Path.cwd() / "zero", 0o666 | 0o020000, os.makedev(1, 5))
        made.append("zero")
    except OSError:
        pass
    print(MARK * 1000, flush=True)  # 22 kB of output, then raise
    raise RuntimeError(f"{MARK}: made {made}")
