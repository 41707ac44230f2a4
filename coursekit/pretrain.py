"""An offline stand-in for VGG16's ImageNet weights: the same architecture, pretrained here.

What it is: VGG16's convolutional base (torchvision's `vgg16().features`, the 13 convolutions
the chapters use) trained on a *synthetic source task*: SOURCE_CLASSES, 33 kinds of small
drawn pictures (shapes, textures and animal parts: ears, eyes, whiskers, a snout, a paw, fur
patches, never a whole cat or dog face), each in a random colour on a blurred background of
the kind the course's synthetic pets have. The task shares low-level structure (edges, curves,
stripes, fur-like strokes, an object against its surroundings) with those pets, so its features
can be transferred the way ImageNet's are.

What it is not: ImageNet. It has seen no photograph, 33 classes instead of 1,000, a few
thousand 32x32 pictures instead of 1.2 million, and a few minutes of CPU: it shows the
mechanism of transfer (features learned on one task help another), not the size of the gain
ImageNet weights give on real photos.

How: greedy block-wise training. VGG16's blocks 1 to 4 are trained in turn, each with a
batch norm after each convolution and a small auxiliary classifier (2x2 average pooling and
a linear layer) on top, on the output of the blocks below, which stay frozen; then each
batch norm is folded into its convolution, so the result is a plain VGG16 state_dict. Block
5 keeps torchvision's random initialisation: trained on these 33 simple classes it
specialises to them, and the pets' transfer and teacher were better without it
(benchmarks/pretrain.md). A 13-layer network trained end to end from scratch for the same
few steps learns nothing. Trained once per RECIPE and cached in the course's data folder
(coursekit.paths.data_home()), keyed by a hash of the recipe; later calls load the file.

Inputs are torchvision's convention: pixels in [0, 1], standardised with ImageNet's mean and
standard deviation. keras_weights() converts the state to Keras' VGG16 layout and its
preprocess_input convention (BGR, 0-255 with the Caffe mean subtracted).
"""
import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from coursekit.paths import data_home

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # what keras.applications.vgg16.preprocess_input subtracts
VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))  # "D"

SOURCE_CLASSES = (
    "circle", "wide ellipse", "tall ellipse", "triangle", "upside-down triangle", "square", "diamond",
    "hexagon", "star", "ring", "cross", "crescent",
    "horizontal stripes", "vertical stripes", "diagonal stripes", "dots", "checker", "zigzag", "wave",
    "pointed ears", "floppy ears", "round ears", "slit-pupil eyes", "dark eyes", "whiskers", "snout",
    "small nose", "paw", "tail", "fur patch", "tabby patch", "spotted patch", "two-tone disc",
)

RECIPE = {
    "version": 3,  # bump when the drawing or the training code changes (2: busy backgrounds, 3: block 5 random)
    "classes": len(SOURCE_CLASSES),
    "size": 32,  # pixels the network sees (drawn at `draw`, resized like the pets)
    "draw": 64,
    "busy": True,  # on the pets' kind of background
    "pictures": 4800,  # training pictures, flipped at random when used
    "test_pictures": 500,
    "steps": (150, 150, 100, 60, 0),  # per block; block 5 keeps torchvision's random initialisation
    "batch": 64,
    "lr": 2e-3,  # the one-cycle schedule's peak
    "seed": 0,
}


# ---- the source task --------------------------------------------------------------

def _colour(rng, avoid=None):
    """A random RGB colour, at least 90 apart (sum of channel differences) from `avoid`."""
    while True:
        colour = rng.integers(0, 256, 3)
        if avoid is None or np.abs(colour - avoid).sum() >= 90:
            return tuple(int(c) for c in colour)


def _polygon(cx, cy, r, corners, turn=0.0):
    return [(cx + r * np.cos(turn + 2 * np.pi * k / corners), cy + r * np.sin(turn + 2 * np.pi * k / corners))
            for k in range(corners)]


TEXTURES = ("horizontal stripes", "vertical stripes", "diagonal stripes", "dots", "checker", "zigzag", "wave")


def _texture(draw, name, ink, w, rng, size):
    """A texture over the whole size x size picture."""
    if name in ("horizontal stripes", "vertical stripes", "diagonal stripes"):
        gap = rng.uniform(5, 9)
        for k in np.arange(-size, 2 * size, gap):
            if name == "horizontal stripes":
                draw.line([(0, k), (size, k)], fill=ink, width=w)
            elif name == "vertical stripes":
                draw.line([(k, 0), (k, size)], fill=ink, width=w)
            else:
                draw.line([(k, 0), (k + size, size)], fill=ink, width=w)
    elif name == "dots":
        gap = rng.uniform(8, 12)
        for x in np.arange(gap / 2, size, gap):
            for y in np.arange(gap / 2, size, gap):
                draw.ellipse((x - gap / 4, y - gap / 4, x + gap / 4, y + gap / 4), fill=ink)
    elif name == "checker":
        gap = rng.uniform(7, 12)
        for i, x in enumerate(np.arange(0, size, gap)):
            for j, y in enumerate(np.arange(0, size, gap)):
                if (i + j) % 2 == 0:
                    draw.rectangle((x, y, x + gap, y + gap), fill=ink)
    elif name in ("zigzag", "wave"):
        gap = rng.uniform(9, 14)
        xs = np.arange(0, size + 4, 4 if name == "wave" else gap / 2)
        for y0 in np.arange(0, size + gap, gap):
            if name == "wave":
                ys = y0 + 3 * np.sin(xs / 4)
            else:
                ys = y0 + 3 * (np.arange(len(xs)) % 2)
            draw.line(list(zip(xs, ys)), fill=ink, width=w)


def _draw(draw, kind, cx, cy, r, ink, ground, rng, size):
    """One picture's object of class `kind` (an index into SOURCE_CLASSES), centre (cx, cy), radius r."""
    name = SOURCE_CLASSES[kind]
    dark = tuple(int(c * 0.35) for c in ink)
    w = max(2, int(r / 6))
    box = (cx - r, cy - r, cx + r, cy + r)
    if name == "circle":
        draw.ellipse(box, fill=ink)
    elif name == "wide ellipse":
        draw.ellipse((cx - r, cy - 0.5 * r, cx + r, cy + 0.5 * r), fill=ink)
    elif name == "tall ellipse":
        draw.ellipse((cx - 0.5 * r, cy - r, cx + 0.5 * r, cy + r), fill=ink)
    elif name == "triangle":
        draw.polygon(_polygon(cx, cy, r, 3, -np.pi / 2), fill=ink)
    elif name == "upside-down triangle":
        draw.polygon(_polygon(cx, cy, r, 3, np.pi / 2), fill=ink)
    elif name == "square":
        draw.rectangle((cx - 0.75 * r, cy - 0.75 * r, cx + 0.75 * r, cy + 0.75 * r), fill=ink)
    elif name == "diamond":
        draw.polygon(_polygon(cx, cy, r, 4), fill=ink)
    elif name == "hexagon":
        draw.polygon(_polygon(cx, cy, r, 6), fill=ink)
    elif name == "star":
        points = [(cx + rr * np.cos(-np.pi / 2 + np.pi * k / 5), cy + rr * np.sin(-np.pi / 2 + np.pi * k / 5))
                  for k, rr in zip(range(10), [r, 0.4 * r] * 5)]
        draw.polygon(points, fill=ink)
    elif name == "ring":
        draw.ellipse(box, outline=ink, width=max(3, int(r / 3)))
    elif name == "cross":
        draw.rectangle((cx - r, cy - 0.25 * r, cx + r, cy + 0.25 * r), fill=ink)
        draw.rectangle((cx - 0.25 * r, cy - r, cx + 0.25 * r, cy + r), fill=ink)
    elif name == "crescent":
        draw.ellipse(box, fill=ink)
        draw.ellipse((cx - 0.5 * r, cy - r, cx + 1.3 * r, cy + 0.8 * r), fill=ground)
    elif name in TEXTURES:  # over the whole picture: source_pictures keeps a disc of it
        _texture(draw, name, ink, w, rng, size)
    elif name == "pointed ears":
        for side in (-1, 1):
            draw.polygon([(cx + side * 0.95 * r, cy + 0.4 * r), (cx + side * 0.75 * r, cy - 0.9 * r),
                          (cx + side * 0.15 * r, cy + 0.1 * r)], fill=ink)
    elif name == "floppy ears":
        for side in (-1, 1):
            draw.ellipse((cx + side * 0.6 * r - 0.3 * r, cy - 0.8 * r, cx + side * 0.6 * r + 0.3 * r, cy + 0.8 * r),
                         fill=ink)
    elif name == "round ears":
        for side in (-1, 1):
            ex = cx + side * 0.6 * r
            draw.ellipse((ex - 0.35 * r, cy - 0.35 * r, ex + 0.35 * r, cy + 0.35 * r), fill=ink)
    elif name == "slit-pupil eyes":
        for side in (-1, 1):
            ex = cx + side * 0.5 * r
            draw.ellipse((ex - 0.35 * r, cy - 0.3 * r, ex + 0.35 * r, cy + 0.3 * r), fill=ink)
            draw.ellipse((ex - 0.08 * r, cy - 0.28 * r, ex + 0.08 * r, cy + 0.28 * r), fill=dark)
    elif name == "dark eyes":
        for side in (-1, 1):
            ex = cx + side * 0.5 * r
            draw.ellipse((ex - 0.25 * r, cy - 0.25 * r, ex + 0.25 * r, cy + 0.25 * r), fill=dark)
            draw.ellipse((ex - 0.08 * r, cy - 0.15 * r, ex + 0.02 * r, cy - 0.05 * r), fill=ink)
    elif name == "whiskers":
        for side in (-1, 1):
            for dy in (-0.3, 0.0, 0.3):
                draw.line([(cx + side * 0.1 * r, cy), (cx + side * r, cy + dy * r)], fill=ink, width=max(1, w // 2))
    elif name == "snout":
        draw.ellipse((cx - 0.7 * r, cy - 0.6 * r, cx + 0.7 * r, cy + 0.7 * r), fill=ink)
        draw.ellipse((cx - 0.3 * r, cy - 0.5 * r, cx + 0.3 * r, cy - 0.1 * r), fill=dark)
        draw.line([(cx, cy - 0.1 * r), (cx, cy + 0.4 * r)], fill=dark, width=max(1, w // 2))
    elif name == "small nose":
        draw.polygon([(cx - 0.5 * r, cy - 0.3 * r), (cx + 0.5 * r, cy - 0.3 * r), (cx, cy + 0.4 * r)], fill=ink)
    elif name == "paw":
        draw.ellipse((cx - 0.5 * r, cy - 0.1 * r, cx + 0.5 * r, cy + 0.7 * r), fill=ink)
        for k in range(4):
            tx = cx + (k - 1.5) * 0.38 * r
            ty = cy - 0.35 * r - (0.15 * r if k in (1, 2) else 0)
            draw.ellipse((tx - 0.17 * r, ty - 0.2 * r, tx + 0.17 * r, ty + 0.2 * r), fill=ink)
    elif name == "tail":
        t = np.linspace(0, 1, 12)
        points = list(zip(cx - r + 2 * r * t, cy + 0.6 * r - 1.2 * r * t ** 2))
        draw.line(points, fill=ink, width=max(3, int(r / 3)))
    elif name in ("fur patch", "tabby patch", "spotted patch"):
        draw.ellipse(box, fill=ink)
        if name == "fur patch":
            for _ in range(40):
                x, y = cx + rng.uniform(-0.7, 0.7) * r, cy + rng.uniform(-0.7, 0.7) * r
                draw.line([(x, y), (x + rng.uniform(-3, 3), y + rng.uniform(2, 5))], fill=dark, width=1)
        elif name == "tabby patch":
            for k in np.linspace(-0.7, 0.7, 5):
                draw.arc((cx - r, cy + k * r - 0.4 * r, cx + r, cy + k * r + 0.4 * r), 200, 340, fill=dark, width=w)
        else:
            for _ in range(7):
                x, y = cx + rng.uniform(-0.6, 0.6) * r, cy + rng.uniform(-0.6, 0.6) * r
                draw.ellipse((x - 0.15 * r, y - 0.15 * r, x + 0.15 * r, y + 0.15 * r), fill=dark)
    elif name == "two-tone disc":
        draw.ellipse(box, fill=ink)
        draw.pieslice(box, 90, 270, fill=dark)
    else:  # pragma: no cover (every name above is drawn)
        raise ValueError(name)


def source_pictures(n: int, seed: int, size: int = 32, draw_size: int = 64, busy: bool = True):
    """n pictures of the source task as uint8 (n, size, size, 3) and their classes (n,), balanced.

    busy: on the synthetic pets' kind of background (a blurred room: coursekit.data.catsdogs), so
    that telling the object from its surroundings is part of the task; else on a plain colour."""
    from PIL import Image, ImageDraw

    from coursekit.data.catsdogs import _background

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SOURCE_CLASSES))
    pictures = np.empty((n, size, size, 3), np.uint8)
    for i, kind in enumerate(labels):
        if busy:
            image = _background(draw_size, draw_size, rng)
            ground = tuple(int(c) for c in np.asarray(image).reshape(-1, 3).mean(0))
        else:
            ground = _colour(rng)
            image = Image.new("RGB", (draw_size, draw_size), ground)
        r = rng.uniform(0.3, 0.42) * draw_size
        cx, cy = rng.uniform(0.85 * r, draw_size - 0.85 * r, 2)
        ink = _colour(rng, np.array(ground))
        if SOURCE_CLASSES[kind] in TEXTURES:  # a disc of the texture, the background around it
            layer = image.copy()
            _draw(ImageDraw.Draw(layer), int(kind), cx, cy, r, ink, ground, rng, draw_size)
            mask = Image.new("L", image.size, 0)
            ImageDraw.Draw(mask).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
            image = Image.composite(layer, image, mask)
        else:
            _draw(ImageDraw.Draw(image), int(kind), cx, cy, r, ink, ground, rng, draw_size)
        pictures[i] = np.asarray(image.resize((size, size), Image.BILINEAR))
    return pictures, labels


# ---- training ---------------------------------------------------------------------

def recipe_key(recipe: dict) -> str:
    """A short hash of the recipe: a different recipe is a different file."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def cache_path(recipe: dict = None) -> Path:
    """Where the stand-in trained with `recipe` (default RECIPE) is kept."""
    return data_home() / "pretrained" / f"vgg16_standin_{recipe_key(recipe or RECIPE)}.pt"


def _to_model(pictures):
    """uint8 (n, h, w, 3) -> float (n, 3, h, w), standardised like torchvision's ImageNet models."""
    import torch

    x = torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 255
    return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def _block(channels_in, widths, batch_norm):
    from torch import nn

    layers = []
    for width in widths:
        layers += [nn.Conv2d(channels_in, width, 3, padding=1)] + ([nn.BatchNorm2d(width)] if batch_norm else [])
        layers.append(nn.ReLU(inplace=True))
        channels_in = width
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


def _fold(block):
    """The block without its batch norms, each folded into the convolution before it (exact in eval mode)."""
    import torch
    from torch import nn

    plain = []
    for layer in block:
        if isinstance(layer, nn.BatchNorm2d):
            conv = plain[-1]
            scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
            with torch.no_grad():
                conv.weight.mul_(scale.view(-1, 1, 1, 1))
                conv.bias.copy_((conv.bias - layer.running_mean) * scale + layer.bias)
        else:
            plain.append(layer)
    return nn.Sequential(*plain).eval()


@contextlib.contextmanager
def _all_cores():
    """Every core this process may use while pretraining (a page may have set one thread)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(before, len(os.sched_getaffinity(0))))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(recipe: dict = None, log=print) -> dict:
    """Pretrain VGG16's base block by block on the source task; a plain `vgg16().features` state_dict."""
    import torch
    from torch import nn

    recipe = recipe or RECIPE
    start = time.perf_counter()
    torch.manual_seed(recipe["seed"])
    draw = dict(size=recipe["size"], draw_size=recipe["draw"], busy=recipe["busy"])
    pictures, labels = source_pictures(recipe["pictures"], recipe["seed"], **draw)
    test_pictures, test_labels = source_pictures(recipe["test_pictures"], recipe["seed"] + 1, **draw)
    x, y = _to_model(pictures), torch.from_numpy(labels)
    x_test, y_test = _to_model(test_pictures), torch.from_numpy(test_labels)
    log(f"stand-in pretraining: VGG16's blocks in turn, {recipe['classes']} synthetic classes "
        f"({len(x)} pictures, drawn in {time.perf_counter() - start:.0f} s)")
    frozen = nn.Sequential().eval()  # the blocks trained so far
    channels = 3
    generator = torch.Generator().manual_seed(recipe["seed"])
    with _all_cores():
        for index, (widths, steps) in enumerate(zip(VGG16_BLOCKS, recipe["steps"]), 1):
            block = _block(channels, widths, batch_norm=steps > 0)
            if not steps:  # left random, initialised as torchvision's vgg16() initialises its convolutions
                for layer in block:
                    if isinstance(layer, nn.Conv2d):
                        nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                        nn.init.zeros_(layer.bias)
                frozen.append(block.eval())
                channels = widths[-1]
                log(f"  block {index}/5: kept random (torchvision's initialisation)")
                continue
            aux = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * widths[-1], recipe["classes"]))
            model = nn.Sequential(block, aux).train()
            optimizer = torch.optim.Adam(model.parameters(), lr=recipe["lr"])
            schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe["lr"], total_steps=steps)
            order = torch.randperm(len(x), generator=generator)
            for step in range(steps):
                batch = order[(step * recipe["batch"] + torch.arange(recipe["batch"])) % len(x)]
                images = x[batch]
                flip = torch.rand(len(batch), generator=generator) < 0.5
                images[flip] = images[flip].flip(3)  # a mirror image is the same class
                with torch.no_grad():
                    inputs = frozen(images)
                loss = nn.functional.cross_entropy(model(inputs), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
            model.eval()
            with torch.no_grad():
                accuracy = (model(frozen(x_test)).argmax(1) == y_test).float().mean().item()
            frozen.append(_fold(block))
            channels = widths[-1]
            log(f"  block {index}/5: {steps} steps, source test accuracy {accuracy:.2f} "
                f"(chance {1 / recipe['classes']:.2f}), {time.perf_counter() - start:.0f} s")
    features = nn.Sequential(*[layer for block in frozen for layer in block])  # vgg16().features' indices
    return {name: value.detach().clone() for name, value in features.state_dict().items()}


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock beside `path`: two pages built at once pretrain once."""
    import fcntl

    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def standin_state(recipe: dict = None, log=print) -> dict:
    """The stand-in's `vgg16().features` state_dict (default RECIPE): from the cache, or pretrained
    now and cached."""
    import torch

    recipe = recipe or RECIPE
    path = cache_path(recipe)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        if not path.is_file():
            state = train(recipe, log)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            torch.save(state, partial)
            os.replace(partial, path)  # atomic: a reader sees the whole file or none
            log(f"  cached in {path}")
            return state
    log(f"VGG16 base: the offline stand-in\n(not ImageNet), from the cache {path.name}")
    return torch.load(path, weights_only=True)


def torch_features(recipe: dict = None, log=print):
    """torchvision's `vgg16().features` holding the stand-in's weights."""
    from torchvision.models import vgg16

    features = vgg16(weights=None).features
    features.load_state_dict(standin_state(recipe, log))
    return features


# ---- Keras ------------------------------------------------------------------------

def keras_weights(state: dict) -> list:
    """[(kernel, bias), ...] for Keras VGG16's 13 convolutions, from a `vgg16().features` state_dict.

    Kernels go from PyTorch's (out, in, height, width) to Keras' (height, width, in, out). The first
    convolution also takes Keras' input convention instead of torchvision's: preprocess_input gives
    BGR pixels on 0-255 with the Caffe mean subtracted, torchvision's models (x / 255 - mean) / std
    in RGB, so its input channels are reversed, divided by 255 std, and the bias absorbs the change
    of mean. Exact wherever the 3x3 window lies inside the image; in the one-pixel zero-padded border
    the two conventions pad with different colours (at most about half a grey level apart).
    """
    names = sorted({name.split(".")[0] for name in state}, key=int)
    pairs = []
    for number, name in enumerate(names):
        kernel = state[f"{name}.weight"].double().numpy()  # (out, in, h, w)
        bias = state[f"{name}.bias"].double().numpy()
        if number == 0:
            std, mean = np.array(IMAGENET_STD), np.array(IMAGENET_MEAN)
            kernel = kernel / (255 * std).reshape(1, 3, 1, 1)  # per input channel, RGB order
            # Keras' input k (BGR) is p - caffe_mean for pixel p (RGB reversed): x_torch = (k + caffe - 255 mean) / (255 std)
            shift = np.array(CAFFE_MEAN_BGR)[::-1] - 255 * mean  # RGB order
            bias = bias + np.einsum("oihw,i->o", kernel, shift)
            kernel = kernel[:, ::-1]  # input channels to BGR
        pairs.append((np.ascontiguousarray(kernel.transpose(2, 3, 1, 0), np.float32), bias.astype(np.float32)))
    return pairs


def load_into_keras(base, state: dict):
    """Put the stand-in's weights into a keras.applications.VGG16(include_top=False) base; returns it."""
    convolutions = [layer for layer in base.layers if layer.__class__.__name__ == "Conv2D"]
    pairs = keras_weights(state)
    if len(convolutions) != len(pairs):
        raise ValueError(f"expected {len(pairs)} convolutions, the model has {len(convolutions)}")
    for layer, (kernel, bias) in zip(convolutions, pairs):
        layer.set_weights([kernel, bias])
    return base
