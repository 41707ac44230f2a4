"""Fast, plain answers to 'can we download this?' so no loader ever hangs offline."""
import functools
import os
import shutil
import socket
import urllib.request
from pathlib import Path

OFFLINE_ENV = "COURSEKIT_OFFLINE"  # set to 1 to force the synthetic data and random weights
PROBE_HOSTS = (("www.robots.ox.ac.uk", 443), ("download.pytorch.org", 443))


class OfflineError(RuntimeError):
    """Raised when a real download is needed and there is no network."""


@functools.lru_cache(maxsize=None)
def is_online(timeout: float = 1.5) -> bool:
    """True when a real dataset host answers within `timeout` seconds.

    The answer is cached for the process. COURSEKIT_OFFLINE=1 forces False
    without touching the network (the tests use it).
    """
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        return False
    for host, port in PROBE_HOSTS:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def download(url: str, dest: Path, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` with a progress bar; the file appears only when complete."""
    from tqdm.auto import tqdm

    if not is_online():
        raise OfflineError(f"no network: cannot download {url}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
    shutil.move(partial, dest)
    return dest
