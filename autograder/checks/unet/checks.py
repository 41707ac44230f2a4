"""Checks for the U-Net exercise: the learner's probe results against the reference's.

The same checks judge the Keras and the PyTorch version: the probes of both return the
same keys, and `want` comes from the reference of the learner's framework.
"""
import numpy as np

from autograder.checkkit import check, expect, expect_close, expect_equal
from autograder.checks.unet.probes_common import DECODER_ODD

LEVELS = "encoder level {k} (the {nth} from the top)"
NTH = ("1st", "2nd", "3rd", "4th", "5th")
SANITY_BAR = 0.45  # the training sanity run's lowest loss, as a share of its first


def _layer(row) -> str:
    is_up, cin, out, kh, kw = (int(v) for v in row)
    if cin < 0:
        return "a layer that is not a convolution"
    kind = "transposed convolution" if is_up else "convolution"
    return f"{kh}x{kw} {kind} {cin} -> {out} channels"


def _compare_layers(got_rows, want_rows, what: str) -> None:
    got_rows, want_rows = np.asarray(got_rows).reshape(-1, 5), np.asarray(want_rows).reshape(-1, 5)
    listing = "; ".join(f"{i + 1}: {_layer(r)}" for i, r in enumerate(want_rows))
    expect(len(got_rows) == len(want_rows),
           f"{what} has {len(got_rows)} layers with weights, expected {len(want_rows)} ({listing})")
    for i, (got, want) in enumerate(zip(got_rows, want_rows)):
        expect(np.array_equal(got, want), f"{what}, layer {i + 1} in the order they run: {_layer(got)}, expected {_layer(want)}")


def _close_either(got, want: dict, what: str) -> None:
    """Close to the reference with the skip concatenated after the upsampled map, or before it."""
    got = np.asarray(got, dtype=float)
    for key in ("values", "values_alt"):
        reference = np.asarray(want[key], dtype=float)
        if got.shape == reference.shape and np.allclose(got, reference, rtol=1e-3, atol=1e-4):
            return
    expect_close(got, want["values"], what, rtol=1e-3, atol=1e-4)


# ----- the decoder block -----

@check(points=1, hint="Upsample by 2 (a 2x2 transposed convolution with stride 2 to the block's output width: Keras "
                      "`filters`, PyTorch `out_channels`), so the map matches the skip; the block's output has the skip's "
                      "height and width and that many channels.")
def check_decoder_shape(got, want):
    """the decoder block's output shape for several input sizes and channel counts"""
    layout = want["probe_decoder_shapes"]["layout"]
    expect_equal(got["probe_decoder_shapes"]["shapes"], want["probe_decoder_shapes"]["shapes"],
                 f"output shapes ({layout}) for three (x, skip, filters) combinations")


@check(points=1, hint="Upsample to the block's output width (Keras: `filters`; PyTorch: `out_channels`), not to half of "
                      "x's channels nor to the skip's, concatenate the skip on the channel axis, then two 3x3 convolutions "
                      "(Keras: conv_block; PyTorch: ConvBlock): the first reads output width + skip channels.")
def check_decoder_channels(got, want):
    """channel bookkeeping: upsampling to the output width, a convolution over upsampled + skip channels, then one over the output width"""
    _compare_layers(got["probe_decoder"]["rows"], want["probe_decoder"]["rows"],
                    "your decoder block (x with 16 channels, skip with 8, 8 output channels)")
    _n, _h, _w, x_channels, skip_channels, width = DECODER_ODD
    odd = got["probe_decoder"]["rows_odd"]
    expect(odd.dtype.kind != "U", f"your decoder block (x with {x_channels} channels, skip with {skip_channels}, "
                                  f"{width} output channels) failed: {odd}")
    _compare_layers(odd, want["probe_decoder"]["rows_odd"],
                    f"your decoder block (x with {x_channels} channels, skip with {skip_channels}, {width} output "
                    f"channels: half of x, the skip and the output widths all differ)")


@check(points=1, hint="Concatenate the upsampled map and the skip, and convolve the result: the block's output must depend on both.")
def check_decoder_uses_skip(got, want):
    """the decoder block's output depends on its skip input and on x"""
    block = got["probe_decoder"]
    expect(block["skip_effect"] > 1e-3, "changing the skip input does not change the decoder block's output: the skip is not used")
    expect(block["x_effect"] > 1e-3, "changing x does not change the decoder block's output: x is not used")


@check(points=2, hidden=True, hint="Transposed convolution (2x2, stride 2, no activation), concatenation, two 3x3 'same' "
                                   "convolutions with ReLU: with the same weights the block must compute what the reference computes.")
def check_decoder_values(got, want):
    """with the reference's weights transplanted, the decoder block computes the reference's output"""
    _close_either(got["probe_decoder"]["values"], want["probe_decoder"],
                  "decoder block output with the reference's weights")


# ----- the whole U-Net -----

@check(points=1, hint="Encode depth levels (each halves the size), decode depth levels (each doubles it), and end with a 1x1 "
                      "convolution to num_classes channels: the output has the input's height and width.")
def check_unet_shape(got, want):
    """the U-Net's output shape for several input sizes, channel and class counts, widths and depths"""
    layout = want["probe_unet_shapes"]["layout"]
    expect_equal(got["probe_unet_shapes"]["shapes"], want["probe_unet_shapes"]["shapes"],
                 f"output shapes ({layout}) for three (input size, classes, base_filters, depth) combinations")


@check(points=1, hint="Keras: end with a 1x1 convolution with softmax (class probabilities). "
                      "PyTorch: end with the 1x1 convolution alone (logits; the loss applies the softmax).")
def check_unet_output(got, want):
    """the output is what the notebook asks for: class probabilities (Keras) or logits (PyTorch)"""
    kind, wanted = str(got["probe_unet"]["output_kind"]), str(want["probe_unet"]["output_kind"])
    axis = str(want["probe_unet"]["class_axis"])
    if wanted == "probabilities":
        expect(kind == wanted, f"the output is {kind}, not class probabilities: apply softmax over the {axis} (class) axis "
                               "after the last 1x1 convolution")
    else:
        expect(kind == wanted, f"the output is {kind}, not logits: return the last 1x1 convolution's output "
                               "with no activation after it")


@check(points=1, hint="Encoder widths base_filters * 2**level, bottleneck base_filters * 2**depth; each decoder level "
                      "upsamples to its level's width and its first convolution reads that width plus the skip's.")
def check_unet_channels(got, want):
    """channel bookkeeping of the whole U-Net, layer by layer in the order they run"""
    _compare_layers(got["probe_unet"]["rows"], want["probe_unet"]["rows"], "your U-Net (base_filters=4, depth=3)")


@check(points=2, hint="Keep each encoder level's features (the first value encoder_block / EncoderBlock returns) and hand "
                      "them to the decoder level of the same resolution: the deepest skip goes to the first decoder block.")
def check_skip_wiring(got, want):
    """each decoder level receives its own encoder level's features: a change in one encoder level's
    skip first reaches the decoder at that level's resolution"""
    wiring, reference = got["probe_skip_wiring"], want["probe_skip_wiring"]
    calls, depth = int(wiring["encoder_calls"]), int(reference["encoder_calls"])
    registered = (" (PyTorch: blocks kept in a plain Python list are not part of the model; hold them in an "
                  "nn.ModuleList)") if calls == 0 and str(reference.get("layout", "")) == "NCHW" else ""
    expect(calls == depth, f"your U-Net ran the encoder block {calls} times for depth={depth}; build the encoder "
                           f"with {depth} encoder blocks{registered}")
    for k, (entry, expected) in enumerate(zip(np.asarray(wiring["entries"]), np.asarray(reference["entries"]))):
        level = LEVELS.format(k=k, nth=NTH[k])
        expect(entry.any(), f"changing the features of {level} does not change the output: they never reach a decoder "
                            "block (no skip, or the skip is taken from somewhere else)")
        expect(np.array_equal(entry, expected),
               f"a one-pixel change in the features of {level} ({expected[0]}x{expected[1]} pixels) first changes a "
               f"{entry[0]}x{entry[1]} map: the skip enters the decoder at another level's resolution (the deepest "
               "skip goes to the first decoder block)")


@check(points=2, hidden=True, hint="Build exactly the architecture the notebook describes: with the same weights your U-Net "
                                   "must compute what the reference computes.")
def check_unet_values(got, want):
    """with the reference's weights transplanted, the U-Net computes the reference's output"""
    _close_either(got["probe_unet"]["values"], want["probe_unet"], "U-Net output with the reference's weights")


@check(points=1, hidden=True, hint="A U-Net that cannot fit two images has a broken path: check the output, the skips and the loss it feeds.")
def check_training_sanity(got, want, note):
    """a tiny U-Net trained on one fixed batch of two pet images brings its loss to 45% of the first or less"""
    # The lowest loss of the run, not its last: Adam's late spikes (up to 85% of the first at some seeds)
    # would fail correct answers. Measured over 40 seeds (benchmarks/unet.md): the reference reaches at
    # most 25%, U-Nets missing their skips or their encoders' training at most 38% (those mistakes are
    # the structure checks'), and a softmax before the loss cannot go below 0.55 of a first loss near 1.1.
    run = got["probe_training_sanity"]
    losses = np.asarray(run["losses"], dtype=float)
    note(f"ran {len(losses)} steps on {run['device']}; loss {losses[0]:.3f} -> {losses[-1]:.3f}, lowest {losses.min():.3f}")
    expect(np.isfinite(losses).all(), "the loss became NaN or infinite")
    expect(losses.min() <= SANITY_BAR * losses[0],
           f"the loss fell from {losses[0]:.3f} to {losses.min():.3f} at its lowest; expected {SANITY_BAR:.0%} of the first or less")


# ----- the border weight map -----

WEIGHT_IMAGES = ("two_cells", "voronoi", "voronoi_uint16", "one_cell")


def _border_term(probe: dict, name: str, default: str) -> np.ndarray:
    return np.asarray(probe[default], dtype=float) - np.asarray(probe[f"{name}_no_border"], dtype=float)


@check(points=1, hint="w_c(x) = (number of pixels) / (number of classes present * number of pixels of x's class), "
                      "the classes being background (label 0) and cell (label > 0); with w0=0 that is the whole map.")
def check_weight_map_classes(got, want):
    """with w0=0 the map is the class-balancing weight w_c alone"""
    maps, reference = got["probe_weight_map"], want["probe_weight_map"]
    for name in WEIGHT_IMAGES:
        expect_close(maps[f"{name}_no_border"], reference[f"{name}_no_border"],
                     f"border_weight_map(labels, w0=0) on the {name.replace('_', ' ')} image", rtol=1e-4, atol=1e-4)
    expect_close(maps["no_cells"], reference["no_cells"], "the map of an image with no cells (all background)", rtol=1e-4, atol=1e-4)


@check(points=2, hint="On background pixels (label 0) add w0 * exp(-(d1 + d2)**2 / (2 * sigma**2)), d1 and d2 the "
                      "Euclidean distances to the nearest and the second-nearest cell; cell pixels get no border term.")
def check_weight_map_border(got, want):
    """the border term w0 exp(-(d1 + d2)^2 / 2 sigma^2) with the defaults w0=10, sigma=5"""
    for name in WEIGHT_IMAGES:
        expect_close(_border_term(got["probe_weight_map"], name, f"{name}_default"),
                     _border_term(want["probe_weight_map"], name, f"{name}_default"),
                     f"border term (the map minus the map with w0=0) on the {name.replace('_', ' ')} image",
                     rtol=1e-3, atol=1e-3)


@check(points=1, hidden=True, hint="Use the w0 and sigma you are given, not the defaults.")
def check_weight_map_parameters(got, want):
    """w0 and sigma are honoured"""
    for name, setting, label in (("voronoi", "voronoi_w5_s3", "w0=5, sigma=3"), ("two_cells", "two_cells_w20_s2", "w0=20, sigma=2")):
        expect_close(_border_term(got["probe_weight_map"], name, setting), _border_term(want["probe_weight_map"], name, setting),
                     f"border term with {label} on the {name.replace('_', ' ')} image", rtol=1e-3, atol=1e-3)
