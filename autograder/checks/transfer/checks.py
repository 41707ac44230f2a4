"""Checks for the transfer-learning exercise: the learner's probe results against the reference's.

The same checks judge both frameworks. Where the frameworks' contracts differ (Keras
models end in a softmax, PyTorch models return logits), the reference's outputs say which.
"""
import numpy as np

from autograder.checkkit import check, expect, expect_equal, judged_only_if, largest_difference, loss_bar
from autograder.checks.transfer.probes_common import HEAD_STEPS, OUTPUT_IMAGES, SIZE, TINY_CHANNELS, VGG_IMAGES

COLOUR_TOLERANCE = 12.0  # mean |difference| per pixel, 0-255 scale: another resampling filter stays well under it
SHARP = 0.85  # mean probability of the true class after training; softmax applied twice cannot pass 0.73
SHARP_FLOOR = 0.75  # the bar may follow the reference's own run down to here, never to the 0.73 of softmax twice


def _is_probabilities(outputs) -> bool:
    outputs = np.asarray(outputs, np.float64)
    return bool(outputs.ndim == 2 and np.all(outputs >= 0) and np.all(outputs <= 1)
                and np.allclose(outputs.sum(axis=1), 1, atol=1e-4))


def _crashes(loaded, among=True) -> str:
    crashed = loaded["crashed"] & among
    names, errors = loaded["names"][crashed], loaded["errors"][crashed]
    return "; ".join(f"{n}: {e}" for n, e in zip(names[:3], errors[:3]))


@check(points=1, hint="End the head with one unit per class: Dense/Linear(256 -> num_classes), using the num_classes argument.")
def check_output_shape(got, want):
    """the model gives one score per class for each image, on a small base and on VGG16's"""
    out, ref = got["probe_outputs"], want["probe_outputs"]
    expect_equal(out["shape_tiny"], ref["shape_tiny"], f"output shape for {OUTPUT_IMAGES} images, num_classes=2, a small conv base")
    expect_equal(out["shape_vgg"], ref["shape_vgg"], f"output shape for {VGG_IMAGES} images, num_classes=2, VGG16's base")
    expect_equal(out["shape_five"], ref["shape_five"], f"output shape for {VGG_IMAGES} images, num_classes=5")


@check(points=1, hint="Keras: end with a softmax, so each row holds probabilities. PyTorch: return the last Linear's "
                      "output (logits); cross_entropy applies the softmax itself.")
def check_prediction_kind(got, want):
    """the outputs are what the exercise asks for: probabilities (Keras) or logits (PyTorch)"""
    outputs = np.asarray(got["probe_outputs"]["outputs"], np.float64)
    expect(np.isfinite(outputs).all(), "the outputs hold NaN or infinite values")
    if _is_probabilities(want["probe_outputs"]["outputs"]):
        expect(_is_probabilities(outputs), "the outputs are not probabilities: each row should lie in [0, 1] and sum to 1 "
               f"(first row: {np.round(outputs[0], 4).tolist()})")
    else:
        expect(not _is_probabilities(outputs), "the outputs are already probabilities (every row sums to 1): return logits, "
               "the last Linear layer's output, without a softmax")


@check(points=1, hint="Freeze the whole base; the head is GlobalAveragePooling, Dense(256) with ReLU, Dropout(0.5), "
                      "Dense(num_classes): channels*256 + 256 + 256*num_classes + num_classes trainable numbers.")
def check_trainable_parameters(got, want):
    """the trainable parameters are exactly the head's, as designed (131,842 on VGG16's base)"""
    out, ref = got["probe_outputs"], want["probe_outputs"]
    for key, what in (("trainable_vgg", "VGG16's base, 2 classes"), ("trainable_tiny", f"a small base with {TINY_CHANNELS} channels, 2 classes"),
                      ("trainable_five", f"a small base with {TINY_CHANNELS} channels, 5 classes")):
        expect_equal(out[key], ref[key], f"number of trainable parameters ({what})")


@check(points=1, hint="Keras: base.trainable = False before building the model. PyTorch: requires_grad = False on "
                      "every parameter of the base (model.eval() does not freeze anything).")
def check_base_frozen(got, want):
    """Adam steps leave every weight of the base exactly unchanged"""
    change = got["probe_training_step"]["base_change"]
    expect(change == 0, f"after {HEAD_STEPS} Adam steps the base's weights moved by up to {change:.3g}: the base is not frozen")


@check(points=1, hint="Freeze the base only: the head's layers must stay trainable.")
def check_head_trains(got, want):
    """Adam steps change every weight tensor of the head"""
    run = got["probe_training_step"]
    expect(run["head_weights"] > 0, "the model has no weights besides the base's: where is the head?")
    expect(run["head_changed"] == run["head_weights"],
           f"only {run['head_changed']} of the head's {run['head_weights']} weight tensors changed in {HEAD_STEPS} Adam steps")


@check(points=1, hidden=True, hint="Feed the base's output (its features) to the head, not the input images.")
def check_uses_base(got, want):
    """the predictions come from the base's features: with the base's weights at zero, every image gets the same output"""
    run = got["probe_uses_base"]
    expect(run["spread_intact"] > 1e-6, "different images get the same output")
    expect(run["spread_zeroed"] <= 1e-6, f"with every weight of the base set to zero the outputs still differ between images "
           f"(by up to {run['spread_zeroed']:.3g}): the head sees something besides the base's features")


@check(points=1, hint="Build the model from standard layers only (no Lambda, no custom class without serialisation), "
                      "register every layer on the model, and let dropout act in training only.")
def check_save_reload(got, want):
    """saved and reloaded with the framework's own API, the model predicts exactly as before"""
    run = got["probe_save_reload"]
    expect(np.allclose(run["before"], run["again"], rtol=0, atol=1e-6),
           "the same model gives different predictions for the same images twice in inference mode: is dropout always on?")
    expect(np.shape(run["after"]) == np.shape(run["before"]),
           f"the reloaded model's outputs have shape {np.shape(run['after'])}, before saving {np.shape(run['before'])}")
    expect(np.allclose(run["after"], run["before"], rtol=0, atol=1e-6),
           f"the reloaded model predicts differently ({largest_difference(run['after'], run['before'])}, "
           "'expected' being the prediction before saving)")


@check(points=2, hidden=True, hint="Apply softmax once at most (Keras: in the last layer; PyTorch: not at all), and "
                                   "let the head train.")
def check_training_sanity(got, want, note):
    """on a separable task the head learns to classify every training image, confidently"""
    if "probe_training" not in got.values:  # it crashed: on outputs of the wrong shape, that is check_output_shape's
        judged_only_if(_shapes_right(got, want), "check_output_shape", "the sanity run's loss needs one output per class")
    run = got["probe_training"]
    losses = run["losses"]
    note(f"ran {len(losses)} steps on {run['device']}; loss {losses[0]:.3f} -> {losses[-1]:.3f}; "
         f"accuracy {run['accuracy']:.2f}, mean probability of the true class {run['true_probability']:.2f}")
    problem = _training_problem(run, want["probe_training"])
    if problem:  # a run with the wrong outputs or nothing trainable says nothing of its own: the earlier check names it
        for earlier, right in (("check_output_shape", _shapes_right), ("check_prediction_kind", _kind_right),
                               ("check_head_trains", _head_trains)):
            judged_only_if(right(got, want), earlier, "the sanity run trains your model as it is")
    expect(not problem, problem)


# True when the probe did not run: its own error is then the learner's message, not "not judged".
def _shapes_right(got, want) -> bool:
    out, ref = got.values.get("probe_outputs"), want["probe_outputs"]
    return out is None or all(np.array_equal(out[k], ref[k]) for k in ("shape_tiny", "shape_vgg", "shape_five"))


def _kind_right(got, want) -> bool:
    out = got.values.get("probe_outputs")
    return out is None or _is_probabilities(out["outputs"]) == _is_probabilities(want["probe_outputs"]["outputs"])


def _head_trains(got, want) -> bool:
    step = got.values.get("probe_training_step")
    return step is None or 0 < step["head_weights"] == step["head_changed"]


def _training_problem(run, reference) -> str:
    """What is wrong with the training-sanity run, or "" when it learned as it should."""
    losses = run["losses"]
    if not np.isfinite(losses).all():
        return "the loss became NaN or infinite"
    bar, why = loss_bar(reference["losses"], usual=0.5, most=0.6)
    if not losses[-1] < bar * losses[0]:
        return f"the loss fell from {losses[0]:.3f} to {losses[-1]:.3f}; expected {bar:.0%} of the first or less{why}"
    if not run["accuracy"] >= reference["accuracy"]:
        return (f"after training, {run['accuracy']:.0%} of the training images are classified right; "
                f"expected {float(reference['accuracy']):.0%}, as the reference")
    # The seed is drawn at grading time: the reference's run on the same inputs sets the bar where it falls short of SHARP.
    sharp = max(SHARP_FLOOR, min(SHARP, float(reference["true_probability"]) - 0.02))
    if not run["true_probability"] >= sharp:
        return (f"after training the true class gets a probability of {run['true_probability']:.2f} on average; "
                f"expected at least {sharp:.2f} (a softmax applied twice keeps it below 0.73)")
    return ""


@check(points=1, hint="Convert every image with .convert('RGB') (grayscale, CMYK, palette and RGBA files too), then "
                      "resize to (width, height) = (size[1], size[0]) and return np.uint8.")
def check_loader_shapes(got, want):
    """every readable file, whatever its mode, comes back as uint8 RGB of the asked size, without a crash"""
    loaded, ref = got["probe_loader_odd_files"], want["probe_loader_odd_files"]
    readable = ~ref["is_none"]  # a crash on a corrupt file is check_loader_corrupt's to charge
    expect(not (loaded["crashed"] & readable).any(), f"load_image raised an error on: {_crashes(loaded, readable)}")
    for name, shape, dtype, ref_shape in zip(loaded["names"][readable], loaded["shapes"][readable], loaded["dtypes"][readable],
                                             ref["shapes"][readable]):
        expect(shape == ref_shape, f"{name}: shape {shape}, expected {ref_shape} (size={SIZE} is (height, width))")
        expect(dtype == "uint8", f"{name}: dtype {dtype}, expected uint8")


@check(points=1, hint="Decode the whole file inside try (image.load() or .convert()) and return None on OSError, "
                      "SyntaxError or ValueError; never return a made-up image.")
def check_loader_corrupt(got, want):
    """empty, truncated and non-image files give None; every readable file gives an image"""
    loaded, ref = got["probe_loader_odd_files"], want["probe_loader_odd_files"]
    corrupt = ref["is_none"]
    crashed = loaded["names"][corrupt & loaded["crashed"]]
    expect(len(crashed) == 0, f"load_image raised an error on corrupt files instead of returning None: "
           f"{'; '.join(f'{n}: {e}' for n, e in zip(crashed, loaded['errors'][corrupt & loaded['crashed']]))} "
           "(Image.open reads only the header: decode the whole file inside try, with image.load())")
    kept = loaded["names"][corrupt & ~loaded["is_none"]]
    expect(len(kept) == 0, f"corrupt files were not skipped (load_image did not return None): {', '.join(kept)}")
    dropped = loaded["names"][~ref["is_none"] & loaded["is_none"]]
    expect(len(dropped) == 0, f"readable files were skipped (load_image returned None): {', '.join(dropped)}")


@check(points=1, hidden=True, hint="Let PIL convert to RGB (.convert('RGB') also handles CMYK) and keep the channels in "
                                   "RGB order.")
def check_loader_colours(got, want):
    """the pixels are the file's colours in RGB order (compared with the reference, any resampling filter)"""
    loaded, ref = got["probe_loader_odd_files"], want["probe_loader_odd_files"]
    compared = ~ref["is_none"] & (loaded["shapes"] == ref["shapes"])  # the rest: the shape and corrupt-file checks
    expect(compared.any(), f"no image came back with the right shape to compare: {_crashes(loaded) or 'see the shape check'}")
    for i, name in enumerate(ref["names"]):
        if not compared[i]:
            continue
        difference = float(np.abs(loaded["pixels"][i] - ref["pixels"][i]).mean())
        expect(difference <= COLOUR_TOLERANCE, f"{name}: the pixels differ from the file's RGB colours by {difference:.1f} "
               f"on average (0-255 scale; at most {COLOUR_TOLERANCE} expected; "
               f"{largest_difference(loaded['pixels'][i], ref['pixels'][i])}, index (row, column, channel))")


@check(points=1, hidden=True, hint="load_image must return None for exactly the corrupt files and a (height, width, 3) "
                                   "uint8 image for every other.")
def check_loader_petimages(got, want):
    """on the course's PetImages, exactly the corrupt files are skipped and the rest load right"""
    loaded, ref = got["probe_loader_petimages"], want["probe_loader_petimages"]
    expect(not loaded["crashed"].any(), f"load_image raised an error on {int(loaded['crashed'].sum())} of "
           f"{len(loaded['names'])} files, first {_crashes(loaded)}")
    wrong = loaded["names"][loaded["is_none"] != ref["is_none"]]
    expect(len(wrong) == 0, f"{len(wrong)} files were skipped or kept wrongly: {', '.join(wrong[:5])}")
    bad = loaded["names"][(loaded["shapes"] != ref["shapes"]) | (loaded["dtypes"] != ref["dtypes"])]
    expect(len(bad) == 0, f"{len(bad)} images have the wrong shape or dtype, e.g. {', '.join(bad[:5])}")
