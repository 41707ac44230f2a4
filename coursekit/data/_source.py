"""The one decision every loader makes: the real dataset, or the synthetic one in its format."""
from pathlib import Path
from typing import Callable

from coursekit import network

SOURCES = ("auto", "real", "synthetic")


def pick_source(source: str, label: str, real_root: Path, has_real: Callable[[Path], bool],
                synthetic: Callable[[], Path], fetch_real: Callable[[Path], object], by_hand: str) -> Path:
    """The dataset's folder. source: "synthetic"; "real" (already in real_root, else downloaded
    there by fetch_real, which raises network.DownloadError when it cannot); "auto" (the real set
    when it is on disk or can be downloaded, else the synthetic one, with a one-line notice saying
    why). by_hand: how to put the real files in place without this library's download."""
    if source not in SOURCES:
        raise ValueError(f"source must be 'auto', 'real' or 'synthetic', not {source!r}")
    if source == "synthetic":
        return synthetic()
    if has_real(real_root):
        return real_root
    try:
        fetch_real(real_root)
        return real_root
    except network.DownloadError as error:
        if source == "real":
            error.hint = f"The real {label} is needed: use source='synthetic' (or 'auto'), or {by_hand}"
            raise
        folder = synthetic()
        print(f"{error.problem} ({error.url}): using the synthetic {label} in {folder}. "
              f"For the real one, {by_hand}")
        return folder
