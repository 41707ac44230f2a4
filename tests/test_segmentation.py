"""coursekit.segmentation: the metrics on hand-made maps, the deformation and tiling on known arrays."""
import numpy as np
import pytest

from coursekit import plotting, segmentation


def two_cells(gap: int = 1) -> np.ndarray:
    """A 10x21 membrane map (1 = membrane): a border all round and a wall `gap` wide splitting it in two."""
    membrane = np.ones((10, 21), np.uint8)
    membrane[1:-1, 1:-1] = 0
    membrane[:, 10:10 + gap] = 1
    return membrane


def test_iou_per_class_counts_overlap_over_union_and_nan_for_absent_classes():
    true = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    np.testing.assert_allclose(segmentation.iou_per_class(pred, true, 3), [1 / 2, 2 / 3, np.nan])


def test_pixel_error_is_the_share_of_wrong_pixels():
    assert segmentation.pixel_error(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])) == 0.25


def test_cells_are_4_connected_regions_between_membranes():
    cells = segmentation.cells_from_membranes(two_cells())
    assert cells.max() == 2 and (cells[two_cells() == 1] == 0).all()
    diagonal = np.array([[0, 1], [1, 0]])  # two pixels touching at a corner: two cells
    assert segmentation.cells_from_membranes(diagonal).max() == 2


def test_rand_error_zero_for_the_truth_and_for_thicker_membranes_it_is_small():
    truth = two_cells()
    assert segmentation.rand_error(truth, truth) == 0.0
    thicker = two_cells(gap=2)  # one column of cell pixels predicted as membrane: singletons, a small recall loss
    assert 0 < segmentation.rand_error(thicker, truth) < 0.1


def test_rand_error_of_a_merge_matches_the_pair_count():
    truth = two_cells()
    merged = truth.copy()
    merged[4, 10] = 0  # a one-pixel gap in the wall merges the two cells
    a = b = 8 * 9  # pixels per true cell
    n = a + b
    precision = (a * (a - 1) + b * (b - 1)) / (n * (n - 1))  # pairs in one true cell / pairs in one predicted cell
    expected = 1 - 2 * precision / (precision + 1)  # recall 1: no true cell is split
    assert segmentation.rand_error(merged, truth) == pytest.approx(expected)
    assert segmentation.pixel_error(merged, truth) == pytest.approx(1 / truth.size)  # the pixel error barely notices


def test_rand_error_of_all_membrane_is_one():
    truth = two_cells()
    assert segmentation.rand_error(np.ones_like(truth), truth) == 1.0


def test_elastic_deform_moves_every_array_alike_and_keeps_label_values():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:64, :64]
    labels = ((x // 8 + y // 8) % 2).astype(np.int64)
    image = labels * 100.0
    warped_image, warped_labels = segmentation.elastic_deform([image, labels], rng, grid=3, std=4, orders=[0, 0])
    assert not np.array_equal(warped_labels, labels)  # it moved
    assert set(np.unique(warped_labels)) <= {0, 1}  # nearest neighbour: no new labels
    np.testing.assert_array_equal(warped_image, warped_labels * 100.0)  # one field for both
    assert segmentation.elastic_deform([image], np.random.default_rng(0), std=0)[0] == pytest.approx(image)


def test_apply_tiled_stitches_centres_and_sees_a_mirrored_margin():
    image = np.arange(50 * 70, dtype=float).reshape(50, 70)  # not a multiple of the tile
    np.testing.assert_array_equal(segmentation.apply_tiled(lambda w: w * 2, image, tile=16, margin=4), image * 2)
    sizes = []
    out = segmentation.apply_tiled(lambda w: sizes.append(w.shape) or np.stack([w, -w]), image, tile=32, margin=8)
    assert set(sizes) == {(48, 48)} and len(sizes) == 2 * 3
    np.testing.assert_array_equal(out, np.stack([image, -image]))  # leading axes kept


def test_draw_unet_labels_every_level():
    fig = segmentation.draw_unet(size=64, in_channels=3, num_classes=2, base_filters=4, depth=2)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for label in ("3\n64×64", "4\n64×64", "8\n32×32", "16\n16×16", "2\n64×64"):
        assert label in texts
    assert sum(label == "4\n64×64" for label in texts) == 2  # the top level, in the encoder and the decoder
    plotting._pyplot().close(fig)


def test_rand_error_matches_counting_every_pair():
    rng = np.random.default_rng(3)
    truth, pred = (rng.random((2, 12, 12)) < 0.35).astype(np.uint8)
    t, p = segmentation.cells_from_membranes(truth).ravel(), segmentation.cells_from_membranes(pred).ravel()
    inside = np.flatnonzero(t > 0)
    same_true = t[inside, None] == t[None, inside]
    same_pred = (p[inside, None] == p[None, inside]) & (p[inside, None] > 0)  # predicted membrane: singletons
    off_diagonal = ~np.eye(len(inside), dtype=bool)
    both = (same_true & same_pred & off_diagonal).sum()
    precision, recall = both / (same_pred & off_diagonal).sum(), both / (same_true & off_diagonal).sum()
    expected = 1 - 2 * precision * recall / (precision + recall)
    assert 0.05 < expected < 0.95  # a case with splits and merges, not a trivial one
    assert segmentation.rand_error(pred, truth) == pytest.approx(expected)
