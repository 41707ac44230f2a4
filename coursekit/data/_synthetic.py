"""The cache of generated datasets: written to a temporary folder, then renamed into
place, so a crash never leaves a half-written set that a later run would trust."""
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from coursekit.paths import data_home


def cached_dataset(name: str, params: dict, writer: Callable[[Path], object]) -> Path:
    """data_home()/synthetic/<name>-<hash of params>/, made by writer(folder) on first use."""
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    final = data_home() / "synthetic" / f"{name}-{key}"
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
    partial.chmod(0o755)  # mkdtemp makes it private; graders read it as another user
    try:
        writer(partial)
        partial.rename(final)
    except OSError:
        if not final.is_dir():  # another process won the race: use its copy
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final
