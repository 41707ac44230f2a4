"""The `coursekit` command (also `python -m coursekit`).

    coursekit data preview [--out DIR] [--seed N]

writes the four synthetic datasets (into the data cache) and one PNG per dataset.
"""
import argparse
import functools
from pathlib import Path

import numpy as np

DEFAULT_PREVIEW_DIR = Path("book") / "figures" / "data_preview"
FIGSIZE, DPI = (8, 2.5), 80  # keeps each preview well under 150 KB


def _synthetic(name: str, defaults: dict, writer, seed: int) -> Path:
    """The cached synthetic set with this seed; seed 0 is the very set the loaders use."""
    from coursekit.data._synthetic import cached_dataset

    params = {**defaults, "seed": seed}
    kwargs = {k: v for k, v in params.items() if k != "version"}  # "version" only renames the cache
    return cached_dataset(name, params, functools.partial(writer, **kwargs))


def _pets(seed: int):
    from coursekit.data import pets
    from coursekit.plotting import overlay

    root = _synthetic("oxford-pet", pets.SYNTHETIC, pets.write_synthetic_pets, seed)
    names = pets.read_split(root)
    picked = [i for i, name in enumerate(names) if name[0].isupper()][:3] + \
        [i for i, name in enumerate(names) if name[0].islower()][:3]  # three cats, three dogs
    images, masks = pets.load_pets(root, size=128, limit=max(picked) + 1)
    images, masks, names = images[picked], masks[picked], [names[i] for i in picked]
    colours = [(0.0, 0.0, 0.0, 0.0), (0.1, 0.3, 0.9, 0.45), (1.0, 1.0, 0.0, 0.9)]  # pet clear, background, border
    fig, axes = _row(len(images))
    for ax, image, mask, name in zip(axes, images, masks, names):
        overlay(image, mask, class_colors=colours, ax=ax)
        ax.set_title(name, fontsize=8)
    fig.suptitle("Oxford-IIIT Pet (synthetic): trimaps overlaid (blue background, yellow border)", fontsize=9)
    return fig


def _isbi(seed: int):
    from coursekit.data import isbi

    root = _synthetic("isbi2012", isbi.SYNTHETIC, isbi.write_synthetic_isbi, seed)
    volume, membranes = isbi.load_isbi(root)
    fig, axes = _row(4)
    for k, z in enumerate((0, 15)):
        crop = np.s_[z, :256, :256]  # a quarter slice, so membranes stay visible when small
        axes[2 * k].imshow(volume[crop], cmap="gray", vmin=0, vmax=255)
        axes[2 * k].set_title(f"slice {z}", fontsize=8)
        axes[2 * k + 1].imshow(membranes[crop], cmap="gray_r", vmin=0, vmax=1)
        axes[2 * k + 1].set_title(f"slice {z}: membranes", fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle("ISBI 2012 (synthetic): EM sections and membrane labels", fontsize=9)
    return fig


def _petimages(seed: int):
    from coursekit.data import catsdogs

    root = _synthetic("petimages", catsdogs.SYNTHETIC, catsdogs.write_synthetic_petimages, seed)
    picked = _pick_petimages(catsdogs.list_images(root))
    fig, axes = _row(len(picked))
    for ax, (image, title) in zip(axes, picked):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(title, fontsize=7)
        ax.set_axis_off()
    fig.suptitle("PetImages (synthetic): Cat and Dog folders, varied sizes and modes", fontsize=9)
    return fig


def _pick_petimages(items, n: int = 6) -> list:
    """(array, title) for a few RGB cats and dogs, and a grayscale and a CMYK file."""
    from PIL import Image

    plain, special = [], {}
    for path, label in items:
        name = ("Cat", "Dog")[label]
        try:
            with Image.open(path) as image:
                image.load()
                mode, size = image.mode, image.size
                array = np.asarray(image.convert("L" if mode == "L" else "RGB"))
        except (OSError, SyntaxError):  # the deliberately corrupt files
            continue
        if mode == "RGB" and sum(title.startswith(name) for _, title in plain) < (n - 2) // 2:
            plain.append((array, f"{name} {size[0]}x{size[1]}"))
        elif mode in ("L", "CMYK") and mode not in special:
            special[mode] = (array, f"{name} {size[0]}x{size[1]}\n{'grayscale' if mode == 'L' else 'CMYK JPEG'}")
    return plain + list(special.values())


def _fashion(seed: int):
    from coursekit.data import fashion
    from coursekit.plotting import image_grid

    root = _synthetic("fashionmnist", fashion.SYNTHETIC, fashion.write_synthetic_fashion, seed)
    raw = Path(root) / "FashionMNIST" / "raw"
    images = fashion.read_idx(raw / "train-images-idx3-ubyte")[:16]
    labels = fashion.read_idx(raw / "train-labels-idx1-ubyte")[:16]
    fig, axes = _row(8, rows=2)
    image_grid(images, labels, fashion.FASHION_CLASSES, cmap="gray", axes=axes)
    for ax in axes:
        ax.title.set_fontsize(6)
    fig.suptitle("FashionMNIST (synthetic): raw IDX files", fontsize=9)
    return fig


def _row(n: int, rows: int = 1):
    """A preview-sized figure with rows of n axes (a flat list)."""
    from coursekit.plotting import _pyplot

    fig, axes = _pyplot().subplots(rows, n, figsize=FIGSIZE, squeeze=False, layout="constrained")
    return fig, list(axes.ravel())


PREVIEWS = {"pets": _pets, "isbi": _isbi, "petimages": _petimages, "fashion": _fashion}


def preview(out, seed: int = 0) -> list[Path]:
    """Write each synthetic dataset and save out/<name>.png; returns the paths."""
    from coursekit.plotting import save

    paths = []
    for name, make in PREVIEWS.items():
        path = save(make(seed), Path(out) / f"{name}.png", dpi=DPI)
        print(path)
        paths.append(path)
    return paths


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coursekit", description="The course's shared library.")
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="the course's datasets").add_subparsers(dest="action", required=True)
    show = data.add_parser("preview", help="write the synthetic datasets and a PNG preview of each")
    show.add_argument("--out", type=Path, default=DEFAULT_PREVIEW_DIR,
                      help=f"folder for the PNGs ({DEFAULT_PREVIEW_DIR})")
    show.add_argument("--seed", type=int, default=0, help="seed for the synthetic data (0: the one the book uses)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "data" and args.action == "preview":
        preview(args.out, args.seed)
    return 0
