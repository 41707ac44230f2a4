"""The shared figures: the right panels, the right numbers, and PNGs on disk."""
import numpy as np
import pytest

from coursekit import plotting

plt = plotting._pyplot()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_overlay_one_panel_or_two_with_a_prediction():
    image = np.random.default_rng(0).random((32, 32, 3))
    mask = np.zeros((32, 32), int)
    mask[8:24, 8:24] = 1
    assert len(plotting.overlay(image, mask).axes) == 1
    fig = plotting.overlay(image, mask, pred=1 - mask)
    assert [a.get_title() for a in fig.axes] == ["mask", "prediction"]
    layer = fig.axes[0].get_images()[1].get_array()
    np.testing.assert_allclose(layer[0, 0, :3], plotting.CLASS_COLORS[0])  # class 0 in the first colour


def test_overlay_draws_into_given_axes_and_leaves_class_minus_one_clear():
    fig, ax = plt.subplots()
    mask = np.full((8, 8), -1)
    mask[0, 0] = 0
    assert plotting.overlay(np.zeros((3, 8, 8)), mask, ax=ax) is fig  # channels-first image accepted
    layer = ax.get_images()[1].get_array()
    assert layer[0, 0, 3] > 0 and layer[1, 1, 3] == 0


def test_image_grid_rows_and_titles():
    images = np.zeros((10, 28, 28), np.uint8)
    fig = plotting.image_grid(images, labels=list(range(10)), class_names=[f"c{i}" for i in range(10)], ncols=4)
    assert len(fig.axes) == 12  # three rows of four, the last two blank
    assert [a.get_title() for a in fig.axes[:3]] == ["c0", "c1", "c2"]
    assert sum(bool(a.get_images()) for a in fig.axes) == 10


def test_learning_curves_losses_and_metrics_apart():
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6],
               "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.4, 0.6, 0.7]}
    fig = plotting.learning_curves(history)
    assert len(fig.axes) == 2
    loss_axis, metric_axis = fig.axes
    assert [line.get_label() for line in loss_axis.get_lines()] == ["loss", "val_loss"]
    assert [line.get_label() for line in metric_axis.get_lines()] == ["accuracy", "val_accuracy"]
    np.testing.assert_allclose(loss_axis.get_lines()[1].get_ydata(), history["val_loss"])
    assert len(plotting.learning_curves({"loss": [1.0, 0.9]}).axes) == 1


def test_confusion_matrix_annotates_counts():
    fig = plotting.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], ["a", "b", "c"])
    ax = fig.axes[0]
    counts = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), counts)
    assert [t.get_text() for t in ax.texts] == [str(c) for c in counts.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]


def test_save_writes_a_png_and_closes(tmp_path):
    fig = plotting.image_grid(np.zeros((2, 8, 8)), ncols=2)
    path = plotting.save(fig, tmp_path / "new" / "grid.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
