"""What both frameworks' U-Net probes share: the configurations they probe, the weights they
draw by position and shape, the output kind, the border weight map (NumPy in both); copied
beside probes.py in the sandbox."""
import numpy as np

# A decoder block whose x/2 (12), skip (6) and output (10) widths all differ: upsampling to
# in_channels // 2 or to the skip's width builds other layers than upsampling to the output width.
# (In a U-Net's own blocks, x = 2 * filters and skip = filters, so those three coincide.)
DECODER_ODD = (2, 4, 4, 24, 6, 10)  # n, h, w, x channels, skip channels, filters
DECODER_SHAPES = ((2, 4, 4, 8, 8, 4), (1, 3, 5, 6, 2, 4), (2, 8, 6, 4, 4, 4))  # n, h, w, x channels, skip channels, filters
DECODER = (2, 8, 8, 16, 8, 8)  # the block of a U-Net: skip channels = filters, x channels = 2 * filters
UNET_SHAPES = (((32, 48, 3), 3, 4, 2), ((16, 16, 1), 2, 2, 1), ((32, 32, 2), 5, 2, 3))  # input (h, w, c), classes, base, depth
UNET = ((32, 32, 3), 3, 4, 3)
WIRING = ((64, 64, 1), 2, 4, 3)
WIRING_DELTA = 10.0  # added to every channel of one pixel of one encoder level's features
SANITY = dict(size=32, images=2, base_filters=8, depth=2, lr=5e-3)


def _cells_image(seed: int, size: int, n_cells: int, gap: int) -> np.ndarray:
    """Instance labels: Voronoi cells 1..n separated by background (0) lines about gap pixels wide."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    marks = np.zeros((size, size), np.int32)
    points = rng.integers(0, size, size=(n_cells, 2))
    marks[points[:, 0], points[:, 1]] = np.arange(1, n_cells + 1)
    indices = ndimage.distance_transform_edt(marks == 0, return_distances=False, return_indices=True)
    cells = marks[indices[0], indices[1]]
    edge = np.zeros(cells.shape, bool)
    edge[:-1] |= cells[:-1] != cells[1:]
    edge[:, :-1] |= cells[:, :-1] != cells[:, 1:]
    return np.where(ndimage.distance_transform_edt(~edge) <= gap / 2, 0, cells)


def _label_images() -> dict:
    two = np.zeros((24, 30), np.int32)
    two[4:20, 3:13], two[6:18, 15:27] = 1, 2  # two cells, two pixels apart
    one = np.zeros((20, 20), np.int32)
    one[5:12, 6:15] = 7  # a single cell: no second neighbour, no border term
    return {
        "two_cells": two,
        "voronoi": _cells_image(0, 40, 9, 2).astype(np.int32),
        "voronoi_uint16": _cells_image(1, 32, 6, 3).astype(np.uint16),
        "one_cell": one,
    }


def weight_map_facts(border_weight_map) -> dict:
    """The learner's weight maps for fixed label images, default and given w0 and sigma."""
    images = _label_images()
    found = {}
    for name, labels in images.items():
        found[f"{name}_default"] = np.asarray(border_weight_map(labels.copy()), dtype=np.float64)
        found[f"{name}_no_border"] = np.asarray(border_weight_map(labels.copy(), w0=0.0), dtype=np.float64)
    found["voronoi_w5_s3"] = np.asarray(border_weight_map(images["voronoi"].copy(), w0=5.0, sigma=3.0), dtype=np.float64)
    found["two_cells_w20_s2"] = np.asarray(border_weight_map(images["two_cells"].copy(), w0=20.0, sigma=2.0), dtype=np.float64)
    found["no_cells"] = np.asarray(border_weight_map(np.zeros((8, 8), np.int32)), dtype=np.float64)
    return found


def failure_or(compute):
    """compute()'s value, or the error it raised as text: one configuration that breaks (a summed
    skip cannot take 6 channels beside 10) fails only the check that reads it, not the whole probe."""
    try:
        return compute()
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:300]


def first_changed_resolution(plain: list, perturbed: list, spatial: slice) -> tuple[int, int]:
    """Height and width (the maps' `spatial` axes) of the first map that the perturbation changed
    (0, 0 if none): the resolution at which the perturbed skip entered the decoder."""
    for before, after in zip(plain, perturbed):
        if before.shape != after.shape or not np.array_equal(before, after):
            return tuple(int(n) for n in after.shape[spatial])
    return (0, 0)


# ----- weights by position and shape, the same rule in both frameworks -----

def draw(position: int, shape, seed: int, scale: float) -> np.ndarray:
    return (np.random.default_rng([seed, position]).standard_normal(shape) * scale).astype(np.float32)


def canonical_weights(rows: np.ndarray, seed: int, variant: str) -> list:
    """(kernel, bias) per layer as (out, in, kh, kw) and (out,). variant: 'plain'; 'alt', the weights
    under which the reference's [upsampled, skip] concatenation computes what [skip, upsampled]
    computes with 'plain'; 'symmetric', both halves of each concatenation weighted alike."""
    weights, last_up = [], None
    for position, (is_up, cin, out, kh, kw) in enumerate(rows.tolist()):
        if cin < 0:
            weights.append(None)
            continue
        fan_in = cin if is_up else cin * kh * kw
        kernel = draw(position, (out, cin, kh, kw), seed, np.sqrt(2.0 / fan_in))
        bias = draw(position + 1000, (out,), seed, 0.1)
        if is_up:
            last_up = out
        elif last_up is not None:  # the first convolution after an upsampling reads the concatenation
            skip = cin - last_up
            if variant == "alt" and skip > 0:
                kernel = np.concatenate([kernel[:, skip:], kernel[:, :skip]], axis=1)
            if variant == "symmetric" and skip == last_up:
                kernel[:, skip:] = kernel[:, :skip]
            last_up = None
        weights.append((kernel, bias))
    return weights


def output_kind(out: np.ndarray, class_axis: int) -> str:
    sums = out.sum(axis=class_axis)
    if out.min() >= 0 and out.max() <= 1 and np.abs(sums - 1).max() < 1e-4:
        return "probabilities"
    return "non-negative scores" if out.min() >= 0 else "logits"
