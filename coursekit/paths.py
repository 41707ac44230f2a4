"""Where the course keeps downloaded and generated data."""
import os
from pathlib import Path

DATA_ENV = "COURSEKIT_DATA"


def data_home() -> Path:
    """$COURSEKIT_DATA, else ~/.cache/coursekit. Created on first use."""
    root = Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "coursekit")
    root.mkdir(parents=True, exist_ok=True)
    return root
