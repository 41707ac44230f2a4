"""Pick the accelerator when there is one, for both frameworks; how many CPU threads they use."""
import os
import sys


def torch_device():
    """torch.device('cuda') when a CUDA GPU is usable, else torch.device('cpu')."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def keras_device() -> str:
    """'GPU' when TensorFlow sees a GPU, else 'CPU' (Keras places work itself)."""
    import tensorflow as tf

    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


def describe_devices() -> str:
    """One line that says what each installed framework will run on."""
    parts = []
    try:
        parts.append(f"PyTorch: {torch_device()}")
    except ImportError:
        parts.append("PyTorch: not installed")
    try:
        parts.append(f"Keras/TensorFlow: {keras_device()}")
    except ImportError:
        parts.append("Keras/TensorFlow: not installed")
    return "; ".join(parts)


def cpu_threads(source: str) -> int:
    """Threads for each framework: every core this process may use for a real-data run
    (COURSE_DATA=real: it has the machine to itself), one for the synthetic build, whose small
    models gain nothing from more and which shares a busy build machine."""
    if source != "real":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1  # macOS: no affinity


def set_threads(source: str) -> int:
    """cpu_threads(source) for PyTorch and TensorFlow, those of them already imported; returns it.
    Call it right after the imports: TensorFlow fixes its thread pools at its first operation."""
    threads = cpu_threads(source)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "tensorflow" in sys.modules:
        threading = sys.modules["tensorflow"].config.threading
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    return threads
