"""Probes for the PyTorch data exercise. They run in the sandbox beside the learner's
code, call it on fixed, seeded inputs and return plain arrays; checks.py judges them."""
from pathlib import Path

import numpy as np
import torch

from probes_common import BATCH_SIZE, FLIP_SAMPLES, INDICES, NUMBERS


def _raw_images(ctx, count):
    from coursekit.data.fashion import read_idx

    return read_idx(Path(ctx["data"]["fashion"]) / "FashionMNIST" / "raw" / "train-images-idx3-ubyte")[:count]


def _split_length(ctx, train: bool) -> int:
    """The number of labels in the split's raw file: the last item is taken there, not at the
    learner's len(), so a wrong length is charged on the length check alone."""
    from coursekit.data.fashion import read_idx

    name = "train-labels-idx1-ubyte" if train else "t10k-labels-idx1-ubyte"
    return len(read_idx(Path(ctx["data"]["fashion"]) / "FashionMNIST" / "raw" / name))


def probe_dataset(ns, ctx):
    train = ns.FashionMNISTDataset(ctx["data"]["fashion"], train=True)
    test = ns.FashionMNISTDataset(ctx["data"]["fashion"], train=False)
    n_train, n_test = _split_length(ctx, True), _split_length(ctx, False)
    items = [train[i if i >= 0 else n_train - 1] for i in INDICES]
    images, labels = zip(*items)
    return {
        "len_train": len(train),
        "len_test": len(test),
        "image_is_tensor": all(isinstance(x, torch.Tensor) for x in images),
        "image_dtype": str(getattr(images[0], "dtype", type(images[0]).__name__)),
        "image_shape": np.asarray(getattr(images[0], "shape", ())),
        "label_is_int": all(type(y) is int for y in labels),
        "images": np.stack([np.asarray(x, dtype=np.float32) for x in images]),
        "labels": np.asarray(labels, dtype=np.int64),
        "test_labels": np.asarray([int(test[i if i >= 0 else n_test - 1][1]) for i in INDICES], dtype=np.int64),
    }


def probe_dataset_transform(ns, ctx):
    seen = []

    def spy(raw):  # records what the dataset hands its transform
        seen.append((type(raw).__name__, str(getattr(raw, "dtype", "")), np.asarray(raw).shape))
        return torch.full((1, 28, 28), float(np.asarray(raw, dtype=np.float64).mean()))

    dataset = ns.FashionMNISTDataset(ctx["data"]["fashion"], train=True, transform=spy)
    image, _ = dataset[5]
    return {
        "calls": len(seen),
        "input_kind": " ".join(seen[0][:2]) if seen else "not called",
        "input_shape": np.asarray(seen[0][2] if seen else ()),
        "output_mean": float(np.asarray(image).mean()),
        "raw_mean": float(_raw_images(ctx, 6)[5].astype(np.float64).mean()),
    }


def probe_transform(ns, ctx):
    images = _raw_images(ctx, 8)
    plain = ns.make_transform(augment=False)
    outputs = [plain(x) for x in images]
    return {
        "is_tensor": all(isinstance(x, torch.Tensor) for x in outputs),
        "dtype": str(outputs[0].dtype),
        "outputs": np.stack([np.asarray(x, dtype=np.float32) for x in outputs]),
    }


def probe_augment(ns, ctx):
    torch.manual_seed(ctx["seed"])
    np.random.seed(ctx["seed"])
    image = _raw_images(ctx, 1)[0]
    augment = ns.make_transform(augment=True)
    return {"outputs": np.stack([np.asarray(augment(image), dtype=np.float32) for _ in range(FLIP_SAMPLES)]),
            "plain": np.asarray(ns.make_transform(augment=False)(image), dtype=np.float32)}


def _order(loader):
    return np.concatenate([np.asarray(batch[0]).ravel() for batch in loader])


def probe_loader(ns, ctx):
    """Two loaders with one seed are both made before either is iterated, and the global
    generator is used in between (a model is built, noise drawn), as in a real training loop:
    an order that re-seeds the global generator instead of owning one does not survive that."""
    numbers = torch.utils.data.TensorDataset(torch.arange(NUMBERS))
    make = ns.make_loader
    seed = int(ctx["seed"]) % 1000
    first = make(numbers, batch_size=BATCH_SIZE, shuffle=True, seed=seed)
    second = make(numbers, batch_size=BATCH_SIZE, shuffle=True, seed=seed)
    torch.nn.Linear(8, 8)  # initialisation draws from the global generator
    torch.rand(5)
    seed0_a = _order(first)
    torch.rand(5)
    seed0_b = _order(second)
    return {
        "seed0_a": seed0_a,
        "seed0_b": seed0_b,
        "seed1": _order(make(numbers, batch_size=BATCH_SIZE, shuffle=True, seed=seed + 1)),
        "unshuffled": _order(make(numbers, batch_size=BATCH_SIZE, shuffle=False)),
        "batch_sizes": np.asarray([len(b[0]) for b in make(numbers, batch_size=BATCH_SIZE, seed=0)]),
        "num_workers": make(numbers, num_workers=2).num_workers,
    }


def probe_loader_fashion(ns, ctx):
    dataset = ns.FashionMNISTDataset(ctx["data"]["fashion"], train=True, transform=ns.make_transform())
    images, labels = next(iter(ns.make_loader(dataset, batch_size=64, seed=0)))
    return {"images_shape": np.asarray(images.shape), "images_dtype": str(images.dtype),
            "labels_shape": np.asarray(labels.shape), "labels_dtype": str(labels.dtype)}


def probe_training_sanity(ns, ctx):
    """A linear classifier on one batch from the learner's pipeline: does the loss fall?"""
    from coursekit.sanity import sanity_steps, torch_loss_curve

    steps, device = sanity_steps(gpu_steps=150, cpu_steps=40)
    torch.manual_seed(ctx["seed"])
    dataset = ns.FashionMNISTDataset(ctx["data"]["fashion"], train=True, transform=ns.make_transform())
    images, labels = next(iter(ns.make_loader(dataset, batch_size=128, seed=0)))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
    losses = torch_loss_curve(model, images.float(), labels.long(), torch.nn.functional.cross_entropy, steps, 1e-2, device)
    return {"losses": np.asarray(losses), "device": device}
