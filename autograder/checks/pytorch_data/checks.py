"""Checks for the PyTorch data exercise: the learner's probe results against the reference's."""
import numpy as np

from autograder.checkkit import check, expect, expect_close, expect_equal, judged_only_if, loss_bar
from autograder.checks.pytorch_data.probes_common import BATCH_SIZE, NUMBERS, items_named


def _length_right(got, want) -> bool:
    """False when the learner's len() is wrong: a loader then draws indices the data lacks."""
    dataset = got.values.get("probe_dataset")
    return dataset is None or int(dataset["len_train"]) == int(want["probe_dataset"]["len_train"])


@check(points=1, hint="__len__ returns the number of labels of the split you read in __init__.")
def check_length(got, want):
    """len() of the training and test sets"""
    expect_equal(got["probe_dataset"]["len_train"], want["probe_dataset"]["len_train"], "len(FashionMNISTDataset(root, train=True))")
    expect_equal(got["probe_dataset"]["len_test"], want["probe_dataset"]["len_test"], "len(FashionMNISTDataset(root, train=False))")


@check(points=1, hint="Without a transform: convert the uint8 pixels to float32, scale to [0, 1], add the channel axis; return the label with int().")
def check_item_types(got, want):
    """an item is (float32 tensor of shape (1, 28, 28), int)"""
    item = got["probe_dataset"]
    expect(item["image_is_tensor"], f"the image is a {item['image_dtype']}, not a torch.Tensor")
    expect_equal(item["image_dtype"], want["probe_dataset"]["image_dtype"], "the image's dtype")
    expect_equal(item["image_shape"], want["probe_dataset"]["image_shape"], "the image's shape")
    expect(item["label_is_int"], "the label is not a plain Python int: return int(label)")


@check(points=1, hint="Read the labels file of the split (train-labels or t10k-labels) and index it with the same index as the image.")
def check_labels(got, want):
    """the same labels as the reference for the same indices"""
    expect_equal(got["probe_dataset"]["labels"], want["probe_dataset"]["labels"], f"labels of {items_named()}")
    expect_equal(got["probe_dataset"]["test_labels"], want["probe_dataset"]["test_labels"],
                 f"labels of test {items_named()} (train=False reads the t10k files)")


@check(points=2, hidden=True, hint="Scale the uint8 pixels to [0, 1] by dividing by 255.")
def check_item_values(got, want):
    """the same image values as the reference, in [0, 1]"""
    images = got["probe_dataset"]["images"]
    expect(images.min() >= 0 and images.max() <= 1, f"pixel values run from {images.min():.3g} to {images.max():.3g}, not within [0, 1]")
    expect_close(images, want["probe_dataset"]["images"], f"images of {items_named()}", atol=1e-6)


@check(points=1, hint="With a transform, __getitem__ returns transform(raw) where raw is the uint8 (28, 28) array.")
def check_transform_applied(got, want):
    """the dataset hands its transform the raw uint8 (28, 28) image and returns what it gives"""
    spy = got["probe_dataset_transform"]
    expect_equal(spy["calls"], want["probe_dataset_transform"]["calls"], "calls of the transform for one item")
    expect_equal(spy["input_kind"], want["probe_dataset_transform"]["input_kind"], "what the transform receives (type and dtype)")
    expect_equal(spy["input_shape"], want["probe_dataset_transform"]["input_shape"], "the shape the transform receives")
    expect_close(spy["output_mean"], spy["raw_mean"], "the item returned (it should be the transform's output)")


@check(points=1, hint="ToTensor() scales to [0, 1] and adds the channel axis; then Normalize((MEAN,), (STD,)).")
def check_normalise(got, want):
    """make_transform() gives a normalised float32 tensor like the reference"""
    out = got["probe_transform"]
    expect(out["is_tensor"], "make_transform()(image) does not return a torch.Tensor")
    expect_equal(out["dtype"], want["probe_transform"]["dtype"], "the transformed image's dtype")
    expect_close(out["outputs"], want["probe_transform"]["outputs"], "transformed images", atol=1e-5)


@check(points=1, hidden=True, hint="With augment=True add RandomHorizontalFlip(p=0.5) before Normalize.")
def check_augment(got, want):
    """augment=True flips left-right about half of the time, and does nothing else"""
    outputs, plain = got["probe_augment"]["outputs"], got["probe_augment"]["plain"]
    flipped = np.flip(plain, axis=-1)
    judged_only_if(not np.allclose(plain, flipped, atol=1e-5), "check_normalise",
                   "your plain transform gives an image that is its own mirror image, so no flip can be seen")
    is_plain = np.isclose(outputs, plain, atol=1e-5).all(axis=(1, 2, 3))
    is_flip = np.isclose(outputs, flipped, atol=1e-5).all(axis=(1, 2, 3))
    expect((is_plain | is_flip).all(), f"{int((~(is_plain | is_flip)).sum())} of {len(outputs)} augmented images are neither the plain nor the flipped image")
    share = is_flip.mean()
    # FLIP_SAMPLES (40) fair coin flips land outside [0.2, 0.8] with probability about 2e-4
    expect(0.2 <= share <= 0.8, f"{share:.0%} of augmented images were flipped; expected about 50%")


@check(points=1, hint="Return the DataLoader with batch_size as given; keep the last, smaller batch.")
def check_loader_batches(got, want):
    """batches of the asked size, the last one kept; image and label batches of the right shape"""
    judged_only_if(_length_right(got, want), "check_length", "the loader over FashionMNIST uses your len()")
    expect_equal(got["probe_loader"]["batch_sizes"], want["probe_loader"]["batch_sizes"], f"batch sizes for {NUMBERS} items, batch_size={BATCH_SIZE}")
    fashion, reference = got["probe_loader_fashion"], want["probe_loader_fashion"]
    for key in ("images_shape", "images_dtype", "labels_shape", "labels_dtype"):
        expect_equal(fashion[key], reference[key], f"first FashionMNIST batch: {key.replace('_', ' ')}")
    expect_equal(got["probe_loader"]["num_workers"], want["probe_loader"]["num_workers"], "num_workers passed on to the DataLoader")


@check(points=1, hint="Give the DataLoader generator=torch.Generator().manual_seed(seed).")
def check_loader_reproducible(got, want):
    """the same seed gives the same order, and every item comes once per epoch"""
    judged_only_if(_batches_right(got, want), "check_loader_batches", "your loader's batches differ from the reference's")
    loader = got["probe_loader"]
    expect(np.array_equal(np.sort(loader["seed0_a"]), np.arange(NUMBERS)), f"an epoch does not yield each of the {NUMBERS} items exactly once")
    expect(np.array_equal(loader["seed0_a"], loader["seed0_b"]),
           "two loaders made with the same seed gave different orders when both were made before either was "
           "iterated and the global generator was used in between: give the DataLoader its own "
           "torch.Generator().manual_seed(seed) rather than seeding the global one (torch.manual_seed)")


@check(points=1, hidden=True, hint="Use the seed argument, and pass shuffle through to the DataLoader.")
def check_loader_seed_matters(got, want):
    """another seed gives another order; shuffle=False keeps the dataset's order"""
    judged_only_if(_batches_right(got, want), "check_loader_batches", "your loader's batches differ from the reference's")
    loader = got["probe_loader"]
    expect(not np.array_equal(loader["seed0_a"], loader["seed1"]), "two different seeds gave the same order: is the seed used?")
    expect_equal(loader["unshuffled"], np.arange(NUMBERS), "order with shuffle=False")


@check(points=1, hidden=True, hint="Batches must be float images and int64 labels that a model can learn from.")
def check_training_sanity(got, want, note):
    """a linear model trained on one batch from your pipeline lowers its loss by half"""
    judged_only_if(_length_right(got, want), "check_length", "the batch is drawn with your len()")
    run = got["probe_training_sanity"]
    losses = run["losses"]
    note(f"ran {len(losses)} steps on {run['device']}; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    bar, why = loss_bar(want["probe_training_sanity"]["losses"], usual=0.5, most=0.6)
    learned = np.isfinite(losses).all() and losses[-1] <= bar * losses[0]
    if not learned and _images_constant(got):  # nothing in the images to learn from: check_normalise names that
        judged_only_if(False, "check_normalise", "your transform gives every image the same values")
    expect(np.isfinite(losses).all(), "the loss became NaN or infinite")
    expect(losses[-1] <= bar * losses[0], f"the loss fell from {losses[0]:.3f} to {losses[-1]:.3f}; expected {bar:.0%} "
                                          f"of the first or less{why}")


def _images_constant(got) -> bool:
    """True when make_transform() gave the probe's different images identical values."""
    out = got.values.get("probe_transform")
    return out is not None and np.asarray(out["outputs"]).size > 0 and bool(np.ptp(np.asarray(out["outputs"], float), axis=0).max() == 0)


def _batches_right(got, want) -> bool:
    loader = got.values.get("probe_loader")
    return loader is None or np.array_equal(loader["batch_sizes"], want["probe_loader"]["batch_sizes"])
