"""VGG16 with ImageNet weights when they can be had, the course's offline stand-in (and one line
saying so) when not.

weights: "auto" (ImageNet when the file is cached or can be downloaded, else the stand-in),
"imagenet" (network.DownloadError, saying why and what to do, when neither), "standin" (VGG16's
base pretrained here on a synthetic source task: coursekit.pretrain, cached in the data folder),
or "random". Each builder returns (model, pretrained): pretrained is True for ImageNet weights only.
"""
import contextlib
import os
import socket
from pathlib import Path

from coursekit import network
from coursekit.network import DownloadError

KERAS_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_NOTOP_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + KERAS_NOTOP_FILE
NO_WEIGHTS = ("VGG16 ImageNet weights unavailable, using the course's offline stand-in base "
              "(VGG16 pretrained here on synthetic pictures, not ImageNet)")
CHOICES = ("auto", "imagenet", "standin", "random")


def _use_imagenet(weights: str, cached: bool, where: Path, url: str) -> bool:
    """Whether to load ImageNet weights; prints the one-line notice when "auto" cannot."""
    if weights not in CHOICES:
        raise ValueError(f"weights must be one of {CHOICES}, not {weights!r}")
    if weights in ("random", "standin"):
        return False
    if cached:
        return True
    try:
        network.open_url(url).close()  # the weights' own URL, through the proxy settings in use
        return True
    except DownloadError as error:
        if weights == "imagenet":
            error.hint = f"Use weights='random' (or 'auto'), or download it by hand to {where}"
            raise
        print(f"{error.problem} ({url}): {NO_WEIGHTS}")
        return False


def _creatable(folder: str) -> bool:
    """Writable, or creatable in its nearest existing parent (as Keras makes its folder on import)."""
    path = Path(folder).expanduser()
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


def keras_weights_path() -> Path:
    """Where Keras keeps and looks for the VGG16 ImageNet weights without the top.

    Keras 3's own rule (keras.src.backend.config and keras.utils.get_file): $KERAS_HOME, else
    ~/.keras, else /tmp/.keras when the home folder is not writable; and /tmp/.keras whenever the
    chosen folder cannot be written.
    """
    home = os.path.expanduser("~")
    folder = os.environ.get("KERAS_HOME") or os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    if not _creatable(folder):
        folder = "/tmp/.keras"
    return Path(folder).expanduser() / "models" / KERAS_NOTOP_FILE


def torch_weights_path() -> Path:
    """Where torch.hub keeps torchvision's VGG16 ImageNet weights."""
    import torch
    from torchvision.models import VGG16_Weights

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG16_Weights.IMAGENET1K_V1.url).name


@contextlib.contextmanager
def _read_timeout():
    """Keras and torch.hub open their downloads without a timeout: give their sockets one while
    they download, so a server that stops sending cannot hang the notebook."""
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(before or network.READ_TIMEOUT)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


def vgg16_file(framework: str) -> tuple[Path, str]:
    """(where the ImageNet weights are kept, their URL) for framework "torch" or "keras"."""
    if framework == "keras":
        return keras_weights_path(), KERAS_NOTOP_URL
    from torchvision.models import VGG16_Weights

    return torch_weights_path(), VGG16_Weights.IMAGENET1K_V1.url


def can_have_imagenet(framework: str, weights: str = "auto") -> bool:
    """Whether the ImageNet weights are on disk or their URL answers, building no model: with
    "auto" one line when not, with "imagenet" DownloadError."""
    path, url = vgg16_file(framework)
    return _use_imagenet(weights, path.is_file(), path, url)


def _build(make, weights: str, path: Path, url: str):
    """(make(kind), kind == "imagenet") for kind "imagenet", "standin" or "random"; with "auto", a failed
    download falls back to the stand-in."""
    if not _use_imagenet(weights, path.is_file(), path, url):
        return make("random" if weights == "random" else "standin"), False
    try:
        with _read_timeout():
            return make("imagenet"), True
    except Exception as error:  # Keras raises a bare Exception when a download fails, torch a URLError or RuntimeError
        problem = f"the download or the file failed ({type(error).__name__}: {error})"
        if weights != "auto":
            raise DownloadError(url, problem, f"Use weights='random' (or 'auto'), or download it by hand to "
                                              f"{path}") from error
        print(f"{problem} ({url}): {NO_WEIGHTS}")
        return make("standin"), False


def keras_vgg16_base(input_shape=(150, 150, 3), weights: str = "auto"):
    """The VGG16 convolutional base (no top) for Keras, and whether it holds ImageNet weights."""
    import keras

    def make(kind):
        base = keras.applications.VGG16(include_top=False, weights="imagenet" if kind == "imagenet" else None,
                                        input_shape=tuple(input_shape))
        if kind == "standin":
            from coursekit import pretrain

            pretrain.load_into_keras(base, pretrain.standin_state())
        return base

    return _build(make, weights, *vgg16_file("keras"))


def torch_vgg16(weights: str = "auto"):
    """torchvision's VGG16 (features, avgpool, classifier), and whether it holds ImageNet weights.
    The stand-in fills the features only: its classifier keeps random weights."""
    from torchvision.models import VGG16_Weights, vgg16

    def make(kind):
        model = vgg16(weights=VGG16_Weights.IMAGENET1K_V1 if kind == "imagenet" else None)
        if kind == "standin":
            from coursekit import pretrain

            model.features.load_state_dict(pretrain.standin_state())
        return model

    return _build(make, weights, *vgg16_file("torch"))
