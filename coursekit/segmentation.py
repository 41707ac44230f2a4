"""Segmentation helpers for the U-Net chapter: metrics (IoU, pixel error, Rand error), the
U-Net paper's elastic deformation and overlap-tile strategy, and a drawing of the U.

NumPy and SciPy only: the same helpers serve Keras and PyTorch models.
"""
import numpy as np


# ----- metrics -----

def iou_per_class(pred, true, num_classes: int) -> np.ndarray:
    """Intersection over union of each class, |pred = k and true = k| / |pred = k or true = k|.

    NaN for a class that is in neither map (nothing to score).
    """
    pred, true = np.asarray(pred).ravel(), np.asarray(true).ravel()
    scores = np.full(num_classes, np.nan)
    for k in range(num_classes):
        union = np.count_nonzero((pred == k) | (true == k))
        if union:
            scores[k] = np.count_nonzero((pred == k) & (true == k)) / union
    return scores


def pixel_error(pred, true) -> float:
    """The fraction of pixels whose predicted class is wrong."""
    return float(np.mean(np.asarray(pred) != np.asarray(true)))


def cells_from_membranes(membrane) -> np.ndarray:
    """Cell ids (1, 2, ...) from a membrane map (True or 1 = membrane): the connected regions of
    non-membrane pixels, 4-connected, so cells touching only at a corner stay apart. Membrane is 0."""
    from scipy import ndimage

    cells, _ = ndimage.label(~np.asarray(membrane, dtype=bool))
    return cells


def rand_error(pred_membrane, true_membrane) -> float:
    """1 - the Rand F-score of the predicted cells against the true cells, foreground-restricted.

    Cells are the connected regions between membranes (`cells_from_membranes`). Only the
    pixels inside a true cell are scored, in pairs: recall is the share of the pairs in one
    true cell that the prediction also puts in one cell (it falls when a cell is split),
    precision the share of the pairs in one predicted cell that are in one true cell (it
    falls when cells are merged), and F = 2PR / (P + R). A pixel predicted as membrane is a
    cell of its own, so a membrane drawn a little too thick costs little and a gap in a
    membrane, which merges two cells, costs a lot. This is the foreground-restricted Rand
    error of the ISBI 2012 challenge (Fiji's RandError), on a prediction thresholded once,
    without the challenge's search for the best threshold.
    """
    true = cells_from_membranes(true_membrane)
    pred = cells_from_membranes(pred_membrane)
    inside = true > 0
    t, p = true[inside].astype(np.int64), pred[inside].astype(np.int64)
    if t.size == 0:  # no cell in the truth: nothing to score
        return 0.0

    def pairs(counts) -> float:  # ordered pairs of distinct pixels in each group
        counts = np.asarray(counts, dtype=np.float64)
        return float(counts @ (counts - 1))

    in_cell = p > 0  # predicted membrane: singletons, in no pair
    same_both = pairs(np.unique(t[in_cell] * (p.max() + 1) + p[in_cell], return_counts=True)[1])
    same_true, same_pred = pairs(np.bincount(t)[1:]), pairs(np.bincount(p)[1:])
    if same_true == 0 and same_pred == 0:  # every pixel alone in both: they agree
        return 0.0
    precision = same_both / same_pred if same_pred else 1.0
    recall = same_both / same_true if same_true else 1.0
    if precision + recall == 0:
        return 1.0
    return float(1 - 2 * precision * recall / (precision + recall))


# ----- the paper's augmentation and tiling -----

def elastic_deform(arrays, rng, grid: int = 3, std: float = 10.0, orders=None) -> list:
    """The U-Net paper's elastic deformation, one random field for all the arrays.

    Displacements are drawn on a coarse grid x grid (Gaussian, `std` pixels) and spread to
    every pixel by cubic interpolation; each array (H, W) is resampled along them, with
    `orders` giving the interpolation order per array (1, linear, for images and weights;
    0, nearest, for labels, so no new label values appear). Beyond the edge: mirrored.
    """
    from scipy import ndimage

    h, w = np.asarray(arrays[0]).shape[:2]
    orders = orders or [1] * len(arrays)
    coarse = rng.normal(0.0, std, size=(2, grid, grid))

    def spread(n):  # (n, grid): cubic interpolation from the grid to n pixels, one column per grid point
        return ndimage.zoom(np.eye(grid), (n / grid, 1), order=3, mode="nearest", grid_mode=True)

    rows, cols = spread(h), spread(w)
    coords = np.mgrid[:h, :w].astype(np.float64) + np.stack([rows @ c @ cols.T for c in coarse])
    return [ndimage.map_coordinates(np.asarray(a), coords, order=o, mode="mirror") for a, o in zip(arrays, orders)]


def apply_tiled(fn, image, tile: int = 128, margin: int = 16) -> np.ndarray:
    """fn applied tile by tile, each tile seen with `margin` pixels of context: the overlap-tile strategy.

    image: (H, W). fn takes a (tile + 2 margin, tile + 2 margin) window and returns an array
    whose last two axes have that size (leading axes, like classes, are kept); the centre
    tile x tile of each result is stitched into the output, (..., H, W). Context beyond the
    image's edge is mirrored, as the U-Net paper does, so edge tiles see plausible neighbours.
    """
    image = np.asarray(image)
    h, w = image.shape
    rows, cols = -(-h // tile), -(-w // tile)
    padded = np.pad(image, ((margin, margin + rows * tile - h), (margin, margin + cols * tile - w)), mode="symmetric")
    out = None
    for y in range(0, rows * tile, tile):
        for x in range(0, cols * tile, tile):
            result = np.asarray(fn(padded[y:y + tile + 2 * margin, x:x + tile + 2 * margin]))
            if out is None:
                out = np.empty(result.shape[:-2] + (rows * tile, cols * tile), result.dtype)
            out[..., y:y + tile, x:x + tile] = result[..., margin:margin + tile, margin:margin + tile]
    return out[..., :h, :w]


# ----- the architecture, drawn -----

def draw_unet(size: int = 64, in_channels: int = 3, num_classes: int = 3, base_filters: int = 8,
              depth: int = 3, ax=None):
    """The U: one box per feature map, labelled with its channels and size; arrows for the
    pooling (down), the up-convolution (up) and the skips (across). Returns the Figure."""
    from coursekit.plotting import _pyplot

    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(1.15 * (2 * depth + 3), 0.9 * (depth + 2)))
    widths = [base_filters * 2**level for level in range(depth + 1)]

    def box(x, level, channels, colour):
        side = size // 2**level
        height = 0.25 + 0.5 * side / size
        ax.add_patch(plt.Rectangle((x - 0.3, -level - height / 2), 0.6, height, facecolor=colour, edgecolor="0.3"))
        ax.text(x, -level, f"{channels}\n{side}×{side}", ha="center", va="center", fontsize=8)

    def arrow(x0, y0, x1, y1, label="", side="center", **style):
        ax.annotate("", (x1, y1), (x0, y0), arrowprops=dict(arrowstyle="->", color=style.get("color", "0.2"),
                                                           linestyle=style.get("linestyle", "-")))
        if label:  # beside a slanted arrow (side "right" or "left"), above a level one
            shift = {"right": -0.12, "left": 0.12}.get(side, 0)
            ax.text((x0 + x1) / 2 + shift, (y0 + y1) / 2 + (0.08 if side == "center" else 0), label,
                    ha=side, va="bottom" if side == "center" else "center", fontsize=8, color="0.3")

    box(-1, 0, in_channels, "white")
    arrow(-0.7, 0, -0.3, 0)
    for level in range(depth):
        box(level, level, widths[level], "#9ecae1")
        arrow(level + 0.15, -level - 0.3, level + 0.85, -level - 0.72, "max pool" if level == 0 else "", "right")
        box(2 * depth - level, level, widths[level], "#fdae6b")
        arrow(2 * depth - level - 0.85, -level - 0.72, 2 * depth - level - 0.15, -level - 0.3,
              "up-conv" if level == 0 else "", "left")
        arrow(level + 0.3, -level, 2 * depth - level - 0.3, -level,
              "skip: copy and concatenate" if level == 0 else "", color="tab:green", linestyle="--")
    box(depth, depth, widths[depth], "#bcbddc")
    box(2 * depth + 1, 0, num_classes, "white")
    arrow(2 * depth + 0.3, 0, 2 * depth + 0.7, 0)
    ax.text(2 * depth + 0.5, -0.45, "1×1 conv", ha="center", va="top", fontsize=8, color="0.3")
    ax.text(-1, 0.55, "input", ha="center", fontsize=8)
    ax.text(2 * depth + 1, 0.55, "classes", ha="center", fontsize=8)
    ax.text(depth / 2 - 0.5, -depth, "encoder", ha="center", fontsize=9, color="tab:blue")
    ax.text(1.5 * depth + 0.5, -depth, "decoder", ha="center", fontsize=9, color="tab:orange")
    ax.set_xlim(-1.5, 2 * depth + 1.5)
    ax.set_ylim(-depth - 0.6, 0.9)
    ax.set_axis_off()
    return ax.figure
