"""VGG16 with ImageNet weights when they can be had, random weights (and one line saying so) when not.

weights: "auto" (ImageNet when the file is cached or the network is up), "imagenet"
(OfflineError when neither), or "random". Each builder returns (model, pretrained).
"""
import os
from pathlib import Path

from coursekit.network import OfflineError, is_online

KERAS_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
NO_WEIGHTS_MESSAGE = "no network: VGG16 ImageNet weights unavailable, using random weights (transfer learning will not help)"
CHOICES = ("auto", "imagenet", "random")


def _use_imagenet(weights: str, cached: bool, where: Path) -> bool:
    """Whether to load ImageNet weights; prints the one-line notice when "auto" cannot."""
    if weights not in CHOICES:
        raise ValueError(f"weights must be one of {CHOICES}, not {weights!r}")
    if weights == "random":
        return False
    if cached or is_online():
        return True
    if weights == "imagenet":
        raise OfflineError(f"no network: VGG16 ImageNet weights cannot be downloaded. Use weights='random' "
                           f"(or 'auto'), or copy the file to {where}")
    print(NO_WEIGHTS_MESSAGE)
    return False


def keras_weights_path() -> Path:
    """Where Keras keeps the VGG16 ImageNet weights without the top ($KERAS_HOME or ~/.keras)."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "models" / KERAS_NOTOP_FILE


def torch_weights_path() -> Path:
    """Where torch.hub keeps torchvision's VGG16 ImageNet weights."""
    import torch
    from torchvision.models import VGG16_Weights

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG16_Weights.IMAGENET1K_V1.url).name


def _build(make, weights: str, path: Path):
    """(make(pretrained), pretrained); with "auto", a failed download falls back to random weights."""
    pretrained = _use_imagenet(weights, path.is_file(), path)
    if not pretrained:
        return make(False), False
    try:
        return make(True), True
    except Exception as error:  # Keras raises a bare Exception when a download fails
        if weights != "auto":
            raise
        print(f"VGG16 ImageNet weights could not be loaded ({error}); using random weights "
              f"(transfer learning will not help)")
        return make(False), False


def keras_vgg16_base(input_shape=(150, 150, 3), weights: str = "auto"):
    """The VGG16 convolutional base (no top) for Keras, and whether it holds ImageNet weights."""
    import keras

    def make(pretrained):
        return keras.applications.VGG16(include_top=False, weights="imagenet" if pretrained else None,
                                        input_shape=tuple(input_shape))

    return _build(make, weights, keras_weights_path())


def torch_vgg16(weights: str = "auto"):
    """torchvision's VGG16 (features, avgpool, classifier), and whether it holds ImageNet weights."""
    from torchvision.models import VGG16_Weights, vgg16

    def make(pretrained):
        return vgg16(weights=VGG16_Weights.IMAGENET1K_V1 if pretrained else None)

    return _build(make, weights, torch_weights_path())
