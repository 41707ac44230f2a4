"""Pick the accelerator when there is one, for both frameworks."""


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
