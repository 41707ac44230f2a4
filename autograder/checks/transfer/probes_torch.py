"""Probes for the PyTorch transfer-learning exercise: probes_common's steps on PyTorch (the same
keys as probes_keras.py).

build_model(base, num_classes) is handed small bases with random weights: a two-layer
conv base for 32x32 images, and VGG16's own convolutional base (torchvision's `features`).
"""
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)  # graders run submissions side by side: one thread each, no oversubscription

import probes_common as common
from coursekit.sanity import sanity_steps, torch_loss_curve
from probes_common import TINY_BASE_SEED, TINY_CHANNELS


def tiny_base(seed: int, weights: int = TINY_BASE_SEED):
    """conv 8 -> pool -> conv 16 -> pool: (N, 3, 32, 32) -> (N, 16, 8, 8)."""
    torch.manual_seed(weights)
    base = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, TINY_CHANNELS, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    torch.manual_seed(seed)
    return base


def vgg16_base():
    """torchvision's VGG16 `features`, built without its 100-million-weight classifier."""
    from torchvision.models.vgg import cfgs, make_layers

    return make_layers(cfgs["D"])


def _channels_first(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def _predict(model, images: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(_channels_first(images)).numpy()


def _zero_weights(base):
    with torch.no_grad():
        for weight in base.parameters():
            weight.zero_()


def _fit_squared_error(model, images, target, steps):
    if any(p.requires_grad for p in model.parameters()):  # an optimiser with nothing to train raises: then nothing moves
        torch_loss_curve(model, _channels_first(images), torch.from_numpy(target), nn.functional.mse_loss, steps, lr=1e-2)


def _fit_cross_entropy(model, images, labels, steps, device):
    """On the logits; with nothing trainable, the loss stays where it is."""
    x, y = _channels_first(images), torch.from_numpy(labels)
    if any(p.requires_grad for p in model.parameters()):
        losses = torch_loss_curve(model, x, y, nn.functional.cross_entropy, steps, lr=1e-2, device=device)
    else:
        with torch.no_grad():
            losses = [float(nn.functional.cross_entropy(model(x), y))] * steps
    model.cpu()
    return losses


def _save_and_reload(ns, model, folder, seed):
    """Save the state_dict, load it into a model built afresh on another base."""
    torch.save(model.state_dict(), folder / "transfer.pt")
    reloaded = ns.build_model(tiny_base(seed + 1, weights=TINY_BASE_SEED + 1), num_classes=2)
    reloaded.load_state_dict(torch.load(folder / "transfer.pt", weights_only=True))
    return reloaded


TORCH = SimpleNamespace(
    seed=torch.manual_seed, tiny_base=tiny_base, vgg16_base=vgg16_base, predict=_predict,
    trainable=lambda model: int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
    weights=lambda model: list(model.parameters()), numpy=lambda weight: weight.detach().numpy().copy(),
    zero_weights=_zero_weights, fit_squared_error=_fit_squared_error, fit_cross_entropy=_fit_cross_entropy,
    probabilities=lambda model, images: torch.softmax(torch.from_numpy(_predict(model, images)), dim=1).numpy(),
    save_and_reload=_save_and_reload, sanity_steps=lambda: sanity_steps(gpu_steps=100, cpu_steps=30))


def probe_loader_odd_files(ns, ctx):
    """load_image on files of every kind, corrupt ones included, written here."""
    return common.loader_odd_files(ns, ctx)


def probe_loader_petimages(ns, ctx):
    """load_image on every file of the synthetic PetImages."""
    return common.loader_petimages(ns, ctx)


def probe_outputs(ns, ctx):
    return common.outputs(ns, ctx, TORCH)


def probe_uses_base(ns, ctx):
    return common.uses_base(ns, ctx, TORCH)


def probe_training_step(ns, ctx):
    return common.training_step(ns, ctx, TORCH)


def probe_training(ns, ctx):
    return common.training(ns, ctx, TORCH)


def probe_save_reload(ns, ctx):
    return common.save_reload(ns, ctx, TORCH)
