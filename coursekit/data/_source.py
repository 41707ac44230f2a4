"""The one decision every loader makes: the real dataset, or the synthetic one in its format."""
from pathlib import Path
from typing import Callable

from coursekit import network

SOURCES = ("auto", "real", "synthetic")


def pick_source(source: str, label: str, real_root: Path, has_real: Callable[[Path], bool],
                synthetic: Callable[[], Path], fetch_real: Callable[[Path], object], by_hand: str) -> Path:
    """The dataset's folder. source: "synthetic"; "real" (already in real_root, else downloaded
    there by fetch_real); "auto" (the real set when it is on disk or the network is up, else the
    synthetic one, with a one-line notice). by_hand: how to put the real files in place offline."""
    if source not in SOURCES:
        raise ValueError(f"source must be 'auto', 'real' or 'synthetic', not {source!r}")
    if source == "synthetic":
        return synthetic()
    if has_real(real_root):
        return real_root
    if not network.is_online():
        if source == "real":
            raise network.OfflineError(f"no network: the real {label} cannot be downloaded. "
                                       f"Use source='synthetic' (or 'auto'), or {by_hand}")
        folder = synthetic()
        print(f"no network: using the synthetic {label} in {folder}")
        return folder
    real_root.mkdir(parents=True, exist_ok=True)
    fetch_real(real_root)
    return real_root
