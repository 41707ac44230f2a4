"""Probes for the U-Net exercise, Keras version. They run in the sandbox beside the learner's
code, call it on fixed, seeded inputs and return plain arrays; checks.py judges them.
probes_torch.py returns the same keys for the PyTorch version.

Weights are set by the probes, not left to initialisation: every weighted layer, in the
order the model uses it, gets values drawn from its position and its (in, out, kh, kw)
shape, so a correct model built any way gets the reference's weights ("transplanted").
"""
import numpy as np
from probes_common import (DECODER, DECODER_ODD, DECODER_SHAPES, SANITY, UNET, UNET_SHAPES, WIRING, WIRING_DELTA,
                           canonical_weights, draw, failure_or, first_changed_resolution, output_kind,
                           weight_map_facts)

import keras
import tensorflow as tf

# Graders run submissions side by side: one thread each, no oversubscription. The child
# imports the probes before the submission, so no TensorFlow op has run yet.
try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:  # TensorFlow already started (probes imported in a live session)
    pass


# ----- weights by position and shape, the same rule in both frameworks -----

def _weighted_layers(model):
    """Every layer that owns weights, in the order the functional graph runs them."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _weighted_layers(layer)
        elif layer.weights:
            found.append(layer)
    return found


def _kind(layer) -> str:
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return "up"
    return "conv" if isinstance(layer, keras.layers.Conv2D) else "other"


def _canonical_kernel(layer) -> np.ndarray:
    """The kernel as (out, in, kh, kw), whatever the layer's own layout."""
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    return kernel.transpose(2, 3, 0, 1) if _kind(layer) == "up" else kernel.transpose(3, 2, 0, 1)


def _native_kernel(layer, canonical: np.ndarray) -> np.ndarray:
    return canonical.transpose(2, 3, 0, 1) if _kind(layer) == "up" else canonical.transpose(2, 3, 1, 0)


def _conv_rows(layers) -> np.ndarray:
    """One row per weighted layer: [is transposed conv, in channels, out channels, kh, kw]; -1 for others."""
    rows = []
    for layer in layers:
        if _kind(layer) == "other":
            rows.append([-1, -1, -1, -1, -1])
            continue
        out, cin, kh, kw = _canonical_kernel(layer).shape
        rows.append([int(_kind(layer) == "up"), cin, out, kh, kw])
    return np.asarray(rows, dtype=np.int64).reshape(-1, 5)


def _set_weights(model, seed: int = 0, variant: str = "plain") -> np.ndarray:
    layers = _weighted_layers(model)
    rows = _conv_rows(layers)
    for position, (layer, values) in enumerate(zip(layers, canonical_weights(rows, seed, variant))):
        if values is None:  # not a convolution: any fixed values
            layer.set_weights([draw(position, w.shape, seed, 0.1) for w in layer.get_weights()])
            continue
        kernel, bias = values
        layer.set_weights([_native_kernel(layer, kernel), bias][:len(layer.get_weights())])
    return rows


def _numpy(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value))


def _inputs(seed: int, n: int, channels: int, h: int, w: int) -> np.ndarray:
    """Seeded inputs drawn as (n, c, h, w), as the PyTorch probes draw them, laid out (n, h, w, c)."""
    x = np.random.default_rng(seed).standard_normal((n, channels, h, w)).astype(np.float32)
    return x.transpose(0, 2, 3, 1)


# ----- the decoder block -----

def _decoder_model(ns, h, w, cx, cs, filters):
    x, skip = keras.Input((h, w, cx)), keras.Input((2 * h, 2 * w, cs))
    return keras.Model([x, skip], ns.decoder_block(x, skip, filters))


def probe_decoder_shapes(ns, ctx):
    shapes = []
    for n, h, w, cx, cs, filters in DECODER_SHAPES:
        model = _decoder_model(ns, h, w, cx, cs, filters)
        out = model([_inputs(1, n, cx, h, w), _inputs(2, n, cs, 2 * h, 2 * w)])
        shapes.append(_numpy(out).shape)
    return {"shapes": np.asarray(shapes), "layout": "NHWC"}


def probe_decoder(ns, ctx):
    n, h, w, cx, cs, filters = DECODER
    model = _decoder_model(ns, h, w, cx, cs, filters)
    x, skip = _inputs(ctx["seed"] + 1, n, cx, h, w), _inputs(ctx["seed"] + 2, n, cs, 2 * h, 2 * w)
    rows = _set_weights(model, ctx["seed"], "alt")
    values_alt = _numpy(model([x, skip]))
    _set_weights(model, ctx["seed"], "plain")
    values = _numpy(model([x, skip]))
    other_skip = _numpy(model([x, _inputs(ctx["seed"] + 3, n, cs, 2 * h, 2 * w)]))
    other_x = _numpy(model([_inputs(ctx["seed"] + 4, n, cx, h, w), skip]))
    scale = np.abs(values).mean() + 1e-12
    return {
        "rows": rows,
        "rows_odd": failure_or(lambda: _odd_decoder_rows(ns, ctx["seed"])),
        "values": values,
        "values_alt": values_alt,
        "skip_effect": np.abs(other_skip - values).mean() / scale,
        "x_effect": np.abs(other_x - values).mean() / scale,
    }


def _odd_decoder_rows(ns, seed) -> np.ndarray:
    n, h, w, cx, cs, filters = DECODER_ODD
    return _set_weights(_decoder_model(ns, h, w, cx, cs, filters), seed, "plain")


# ----- the whole U-Net -----

def probe_unet_shapes(ns, ctx):
    shapes = []
    for (h, w, c), classes, base, depth in UNET_SHAPES:
        model = ns.build_unet((h, w, c), classes, base_filters=base, depth=depth)
        shapes.append(_numpy(model(_inputs(ctx["seed"], 2, c, h, w))).shape)
    return {"shapes": np.asarray(shapes), "layout": "NHWC"}


def probe_unet(ns, ctx):
    (h, w, c), classes, base, depth = UNET
    model = ns.build_unet((h, w, c), classes, base_filters=base, depth=depth)
    x = _inputs(ctx["seed"], 2, c, h, w)
    rows = _set_weights(model, ctx["seed"], "alt")
    values_alt = _numpy(model(x))
    _set_weights(model, ctx["seed"], "plain")
    values = _numpy(model(x))
    return {"rows": rows, "values": values, "values_alt": values_alt,
            "output_kind": output_kind(values, class_axis=-1), "class_axis": "last"}


def _perturbed_encoder(original, target: int, calls: list, delta_size: float, marks: list):
    """encoder_block that adds delta_size to one central pixel of the target level's features
    only (in a layer kept in marks; 0 builds the same layers with nothing changed)."""

    def encoder_block(x, filters):
        features, pooled = original(x, filters)
        if len(calls) == target:
            h, w, c = features.shape[1:]
            delta = np.zeros((h, w, c), np.float32)
            delta[h // 2, w // 2, :] = delta_size
            mark = keras.layers.Lambda(lambda t: keras.ops.add(t, delta))
            marks.append(mark)
            features = mark(features)
        calls.append(filters)
        return features, pooled

    return encoder_block


def _map_outputs(model, x, skipped: list) -> list:
    """Every 4-D map a layer of the model returns (but the layers in skipped), in the graph's
    order, then the output: a change that reaches no layer's map shows there."""
    outputs = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer) or any(layer is s for s in skipped):
            continue
        try:
            output = layer.output
        except (AttributeError, ValueError):  # a layer used twice has no single output
            continue
        if not isinstance(output, (list, tuple)) and len(output.shape) == 4:
            outputs.append(output)
    inside = keras.Model(model.inputs, outputs + [model.outputs[0]])
    return [_numpy(value) for value in inside(x)]


def probe_skip_wiring(ns, ctx):
    """Change one pixel of one encoder level's features (its skip, not what it passes down) and
    find the first map in the graph that changes: its resolution is the one at which that skip
    entered the decoder, whatever the upsampling or the output layer do after it."""
    (h, w, c), classes, base, depth = WIRING
    x = _inputs(ctx["seed"], 1, c, h, w)
    module = ns.build_unet.__globals__  # the learner's module: build_unet finds encoder_block here
    original = module.get("encoder_block")
    if original is None:  # extraction keeps it only if build_unet uses it: first let build_unet say what it does
        ns.build_unet((h, w, c), classes, base_filters=base, depth=depth)
        raise NameError("build_unet must build its encoder with encoder_block(x, filters); it is not defined")
    entries, calls = [], []
    try:
        for level in range(depth):
            maps = []
            for delta_size in (0.0, WIRING_DELTA):  # the same layers, without and with the change
                calls.clear()
                marks = []
                module["encoder_block"] = _perturbed_encoder(original, level, calls, delta_size, marks)
                model = ns.build_unet((h, w, c), classes, base_filters=base, depth=depth)
                _set_weights(model, ctx["seed"], "symmetric")
                maps.append(_map_outputs(model, x, marks))
            entries.append(first_changed_resolution(*maps, slice(1, 3)))  # NHWC
    finally:
        module["encoder_block"] = original
    return {"entries": np.asarray(entries), "encoder_calls": len(calls)}


# ----- training sanity -----

def probe_training_sanity(ns, ctx):
    """A tiny U-Net on one fixed batch of pets: does the loss fall?"""
    from coursekit.data.pets import load_pets
    from coursekit.sanity import keras_loss_curve, sanity_steps
    from coursekit.seeds import seed_everything

    steps, device = sanity_steps(gpu_steps=300, cpu_steps=80, framework="keras")  # (the torch default imported torch here)
    seed_everything(ctx["seed"])
    images, masks = load_pets(ctx["data"]["pets"], size=SANITY["size"], limit=SANITY["images"])
    model = ns.build_unet(images.shape[1:], 3, base_filters=SANITY["base_filters"], depth=SANITY["depth"])
    losses = keras_loss_curve(model, images, masks, "sparse_categorical_crossentropy", steps, SANITY["lr"])
    return {"losses": np.asarray(losses), "device": device}


# ----- the border weight map (NumPy: the same facts in both frameworks, from probes_common.py) -----

def probe_weight_map(ns, ctx):
    return weight_map_facts(ns.border_weight_map)
