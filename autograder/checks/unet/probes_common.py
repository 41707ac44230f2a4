"""What both frameworks' U-Net probes share: the border weight map is NumPy in both
(copied beside probes.py in the sandbox)."""
import numpy as np

# A decoder block whose x/2 (12), skip (6) and output (10) widths all differ: upsampling to
# in_channels // 2 or to the skip's width builds other layers than upsampling to the output width.
# (In a U-Net's own blocks, x = 2 * filters and skip = filters, so those three coincide.)
DECODER_ODD = (2, 4, 4, 24, 6, 10)  # n, h, w, x channels, skip channels, filters


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
