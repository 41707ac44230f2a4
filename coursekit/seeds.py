"""One call seeds every random number generator the course uses."""
import os
import random
import sys

DEFAULT_SEED = 0


def seed_everything(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy, and TensorFlow and PyTorch if they are already imported.

    Frameworks that are not imported yet are not imported here (that would cost
    seconds); seed again after importing them, or import them first.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)  # also seeds every CUDA device
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)  # Python, NumPy and the backend
    return seed
