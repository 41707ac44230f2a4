"""Probes for the PyTorch transfer-learning exercise (the same keys as probes_keras.py).

build_model(base, num_classes) is handed small bases with random weights: a two-layer
conv base for 32x32 images, and VGG16's own convolutional base (torchvision's `features`).
"""
from pathlib import Path

import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)  # graders run submissions side by side: one thread each, no oversubscription

from coursekit.sanity import sanity_steps, torch_loss_curve
from probes_common import loader_odd_files, loader_petimages, separable_task, true_class_summary


def probe_loader_odd_files(ns, ctx):
    """load_image on files of every kind, corrupt ones included, written here."""
    return loader_odd_files(ns, ctx)


def probe_loader_petimages(ns, ctx):
    """load_image on every file of the synthetic PetImages."""
    return loader_petimages(ns, ctx)


def tiny_base(seed: int):
    """conv 8 -> pool -> conv 16 -> pool: (N, 3, 32, 32) -> (N, 16, 8, 8)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))


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


def _trainable(model) -> int:
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def probe_outputs(ns, ctx):
    images, _ = separable_task(ctx["seed"], n=8)
    model = ns.build_model(tiny_base(ctx["seed"]), num_classes=2)
    torch.manual_seed(ctx["seed"])
    vgg = ns.build_model(vgg16_base(), num_classes=2)
    five = ns.build_model(tiny_base(ctx["seed"]), num_classes=5)
    outputs = _predict(model, images)
    return {
        "outputs": outputs,
        "shape_tiny": np.asarray(outputs.shape),
        "shape_vgg": np.asarray(_predict(vgg, images[:2]).shape),
        "shape_five": np.asarray(_predict(five, images[:2]).shape),
        "trainable_tiny": _trainable(model),
        "trainable_vgg": _trainable(vgg),
        "trainable_five": _trainable(five),
    }


def probe_uses_base(ns, ctx):
    """Outputs for different images; then again with every weight of the base set to zero."""
    images, _ = separable_task(ctx["seed"], n=8)
    base = tiny_base(ctx["seed"])
    model = ns.build_model(base, num_classes=2)
    intact = _predict(model, images)
    with torch.no_grad():
        for parameter in base.parameters():
            parameter.zero_()
    zeroed = _predict(model, images)
    return {"spread_intact": float(np.abs(intact - intact[:1]).max()),
            "spread_zeroed": float(np.abs(zeroed - zeroed[:1]).max())}


def probe_training_step(ns, ctx):
    """A few Adam steps with a squared-error loss that fits any number of outputs: which weights move?"""
    images, _ = separable_task(ctx["seed"], n=8)
    x = _channels_first(images)
    base = tiny_base(ctx["seed"])
    model = ns.build_model(base, num_classes=2)
    torch.manual_seed(ctx["seed"])
    base_ids = {id(p) for p in base.parameters()}
    head = [p for p in model.parameters() if id(p) not in base_ids]
    base_before = [p.detach().clone() for p in base.parameters()]
    head_before = [p.detach().clone() for p in head]
    trainable = [p for p in model.parameters() if p.requires_grad]
    if trainable:  # an optimiser with nothing to train raises: then nothing moves
        target = torch.zeros(_predict(model, images).shape)
        target[:, 0] = 1
        torch_loss_curve(model, x, target, nn.functional.mse_loss, steps=3, lr=1e-2)
    return {
        "base_change": max(float((p.detach() - b).abs().max()) for p, b in zip(base.parameters(), base_before)),
        "head_weights": len(head),
        "head_changed": int(sum(not torch.equal(p.detach(), b) for p, b in zip(head, head_before))),
    }


def probe_training(ns, ctx):
    """Adam on the trainable parameters, the separable task, one batch, cross-entropy on the logits."""
    steps, device = sanity_steps(gpu_steps=100, cpu_steps=30)
    images, labels = separable_task(ctx["seed"])
    x, y = _channels_first(images), torch.from_numpy(labels)
    model = ns.build_model(tiny_base(ctx["seed"]), num_classes=2)
    torch.manual_seed(ctx["seed"])
    if any(p.requires_grad for p in model.parameters()):
        losses = torch_loss_curve(model, x, y, nn.functional.cross_entropy, steps, lr=1e-2, device=device)
    else:  # nothing to train: the loss stays where it is
        with torch.no_grad():
            losses = [float(nn.functional.cross_entropy(model(x), y))] * steps
    model.cpu()
    probabilities = torch.softmax(torch.from_numpy(_predict(model, images)), dim=1).numpy()
    return {"losses": np.asarray(losses, np.float64), "device": device,
            **true_class_summary(probabilities, labels)}


def probe_save_reload(ns, ctx):
    """Save the state_dict, load it into a model built afresh on another base, predict again."""
    images, _ = separable_task(ctx["seed"], n=8)
    model = ns.build_model(tiny_base(ctx["seed"]), num_classes=2)
    path = Path.cwd() / "saved" / "transfer.pt"
    path.parent.mkdir(exist_ok=True)
    before = _predict(model, images)
    torch.save(model.state_dict(), path)
    reloaded = ns.build_model(tiny_base(ctx["seed"] + 1), num_classes=2)
    reloaded.load_state_dict(torch.load(path, weights_only=True))
    return {"before": before, "again": _predict(model, images), "after": _predict(reloaded, images)}
