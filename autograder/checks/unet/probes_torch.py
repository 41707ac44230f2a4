"""Probes for the U-Net exercise, PyTorch version. They run in the sandbox beside the learner's
code, call it on fixed, seeded inputs and return plain arrays; checks.py judges them.
probes_keras.py returns the same keys for the Keras version.

Weights are set by the probes, not left to initialisation: every weighted module, in the
order the forward pass uses it, gets values drawn from its position and its (in, out, kh, kw)
shape, so a correct model built any way gets the reference's weights ("transplanted").
"""
import numpy as np
from probes_common import (DECODER, DECODER_ODD, DECODER_SHAPES, SANITY, UNET, UNET_SHAPES, WIRING, WIRING_DELTA,
                           canonical_weights, draw, failure_or, first_changed_resolution, output_kind,
                           weight_map_facts)

import torch

torch.set_num_threads(1)  # graders run submissions side by side: one thread each (two on two busy cores: 11x slower steps)


# ----- weights by position and shape, the same rule in both frameworks -----

def _weighted_modules(model, *inputs):
    """Every module that owns parameters, in the order the forward pass first runs it."""
    order, seen = [], set()

    def record(module, args, output):
        if id(module) not in seen:
            seen.add(id(module))
            order.append(module)

    owners = [m for m in model.modules() if list(m.parameters(recurse=False))]
    hooks = [m.register_forward_hook(record) for m in owners]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return order


def _kind(module) -> str:
    if isinstance(module, torch.nn.ConvTranspose2d):
        return "up"
    return "conv" if isinstance(module, torch.nn.Conv2d) else "other"


def _canonical_kernel(module) -> np.ndarray:
    """The kernel as (out, in, kh, kw), whatever the module's own layout."""
    kernel = module.weight.detach().cpu().numpy()
    return kernel.transpose(1, 0, 2, 3) if _kind(module) == "up" else kernel


def _native_kernel(module, canonical: np.ndarray) -> np.ndarray:
    return canonical.transpose(1, 0, 2, 3) if _kind(module) == "up" else canonical


def _conv_rows(modules) -> np.ndarray:
    """One row per weighted module: [is transposed conv, in channels, out channels, kh, kw]; -1 for others."""
    rows = []
    for module in modules:
        if _kind(module) == "other" or getattr(module, "groups", 1) != 1:
            rows.append([-1, -1, -1, -1, -1])
            continue
        out, cin, kh, kw = _canonical_kernel(module).shape
        rows.append([int(_kind(module) == "up"), cin, out, kh, kw])
    return np.asarray(rows, dtype=np.int64).reshape(-1, 5)


def _set_weights(model, inputs, seed: int = 0, variant: str = "plain") -> np.ndarray:
    modules = _weighted_modules(model, *inputs)
    rows = _conv_rows(modules)
    with torch.no_grad():
        for position, (module, values) in enumerate(zip(modules, canonical_weights(rows, seed, variant))):
            if values is None:  # not a convolution: any fixed values
                for p in module.parameters(recurse=False):
                    p.copy_(torch.from_numpy(draw(position, tuple(p.shape), seed, 0.1)))
                continue
            kernel, bias = values
            module.weight.copy_(torch.from_numpy(_native_kernel(module, kernel)))
            if module.bias is not None:
                module.bias.copy_(torch.from_numpy(bias))
    return rows


def _run(model, *inputs) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(*[torch.from_numpy(x) for x in inputs]).detach().cpu().numpy()


def _inputs(seed: int, n: int, channels: int, h: int, w: int) -> np.ndarray:
    """Seeded inputs (n, c, h, w), drawn as the Keras probes draw them."""
    return np.random.default_rng(seed).standard_normal((n, channels, h, w)).astype(np.float32)


# ----- the decoder block -----

def probe_decoder_shapes(ns, ctx):
    shapes = []
    for n, h, w, cx, cs, filters in DECODER_SHAPES:
        block = ns.DecoderBlock(cx, cs, filters)
        shapes.append(_run(block, _inputs(1, n, cx, h, w), _inputs(2, n, cs, 2 * h, 2 * w)).shape)
    return {"shapes": np.asarray(shapes), "layout": "NCHW"}


def probe_decoder(ns, ctx):
    n, h, w, cx, cs, filters = DECODER
    torch.manual_seed(ctx["seed"])
    block = ns.DecoderBlock(cx, cs, filters)
    x, skip = _inputs(ctx["seed"] + 1, n, cx, h, w), _inputs(ctx["seed"] + 2, n, cs, 2 * h, 2 * w)
    tensors = (torch.from_numpy(x), torch.from_numpy(skip))
    rows = _set_weights(block, tensors, ctx["seed"], "alt")
    values_alt = _run(block, x, skip)
    _set_weights(block, tensors, ctx["seed"], "plain")
    values = _run(block, x, skip)
    other_skip = _run(block, x, _inputs(ctx["seed"] + 3, n, cs, 2 * h, 2 * w))
    other_x = _run(block, _inputs(ctx["seed"] + 4, n, cx, h, w), skip)
    scale = np.abs(values).mean() + 1e-12
    return {
        "rows": rows,
        "rows_odd": failure_or(lambda: _odd_decoder_rows(ns)),
        "values": values,
        "values_alt": values_alt,
        "skip_effect": np.abs(other_skip - values).mean() / scale,
        "x_effect": np.abs(other_x - values).mean() / scale,
    }


def _odd_decoder_rows(ns) -> np.ndarray:
    n, h, w, cx, cs, filters = DECODER_ODD
    block = ns.DecoderBlock(cx, cs, filters)
    inputs = (torch.from_numpy(_inputs(1, n, cx, h, w)), torch.from_numpy(_inputs(2, n, cs, 2 * h, 2 * w)))
    return _conv_rows(_weighted_modules(block, *inputs))


# ----- the whole U-Net -----

def probe_unet_shapes(ns, ctx):
    shapes = []
    for (h, w, c), classes, base, depth in UNET_SHAPES:
        model = ns.UNet(c, classes, base_filters=base, depth=depth)
        shapes.append(_run(model, _inputs(ctx["seed"], 2, c, h, w)).shape)
    return {"shapes": np.asarray(shapes), "layout": "NCHW"}


def probe_unet(ns, ctx):
    (h, w, c), classes, base, depth = UNET
    torch.manual_seed(ctx["seed"])
    model = ns.UNet(c, classes, base_filters=base, depth=depth)
    x = _inputs(ctx["seed"], 2, c, h, w)
    rows = _set_weights(model, (torch.from_numpy(x),), ctx["seed"], "alt")
    values_alt = _run(model, x)
    _set_weights(model, (torch.from_numpy(x),), ctx["seed"], "plain")
    values = _run(model, x)
    return {"rows": rows, "values": values, "values_alt": values_alt,
            "output_kind": output_kind(values, class_axis=1), "class_axis": "second"}


def _encoder_blocks(model, x) -> list:
    """The EncoderBlock modules in the order the forward pass runs them."""
    order = []
    blocks = [m for m in model.modules() if type(m).__name__ == "EncoderBlock"]
    hooks = [b.register_forward_hook(lambda module, args, output: order.append(module)) for b in blocks]
    try:
        _run(model, x)
    finally:
        for hook in hooks:
            hook.remove()
    return order


def _perturb(module, args, output):
    """Add WIRING_DELTA to one central pixel of the features (the skip), leave the pooled map alone."""
    features, pooled = output
    delta = torch.zeros_like(features)
    delta[:, :, features.shape[2] // 2, features.shape[3] // 2] = WIRING_DELTA
    return features + delta, pooled


def _map_outputs(model, x, perturb=None) -> list:
    """Every 4-D tensor a module of the model returns, in the order the modules finish; with
    perturb = (module, hook), that hook changes the module's output on the way."""
    maps = []

    def record(module, args, output):
        if isinstance(output, torch.Tensor) and output.ndim == 4:
            maps.append(output.detach().cpu().numpy())

    hooks = [m.register_forward_hook(record) for m in model.modules() if m is not model]
    if perturb is not None:
        hooks.append(perturb[0].register_forward_hook(perturb[1]))
    try:
        maps.append(_run(model, x))  # the output last: a change that reaches no module shows here
    finally:
        for hook in hooks:
            hook.remove()
    return maps


def probe_skip_wiring(ns, ctx):
    """Change one pixel of one encoder level's features (its skip, not what it passes down) and
    find the first map in the forward pass that changes: its resolution is the one at which
    that skip entered the decoder, whatever the upsampling or the output layer do after it."""
    (h, w, c), classes, base, depth = WIRING
    x = _inputs(ctx["seed"], 1, c, h, w)
    torch.manual_seed(ctx["seed"])
    model = ns.UNet(c, classes, base_filters=base, depth=depth)
    _set_weights(model, (torch.from_numpy(x),), ctx["seed"], "symmetric")
    encoders = _encoder_blocks(model, x)
    plain = _map_outputs(model, x)
    entries = [first_changed_resolution(plain, _map_outputs(model, x, (encoders[level], _perturb)), slice(2, 4))  # NCHW
               if level < len(encoders) else (0, 0)
               for level in range(depth)]
    return {"entries": np.asarray(entries), "encoder_calls": len(encoders), "layout": "NCHW"}


# ----- training sanity -----

def probe_training_sanity(ns, ctx):
    """A tiny U-Net on one fixed batch of pets: does the loss fall?"""
    from coursekit.data.pets import load_pets
    from coursekit.sanity import sanity_steps, torch_loss_curve
    from coursekit.seeds import seed_everything

    # 160 CPU steps where Keras takes 80: PyTorch's default initialisation starts this U-Net slower
    steps, device = sanity_steps(gpu_steps=300, cpu_steps=160)
    seed_everything(ctx["seed"])
    images, masks = load_pets(ctx["data"]["pets"], size=SANITY["size"], limit=SANITY["images"])
    inputs = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    model = ns.UNet(3, 3, base_filters=SANITY["base_filters"], depth=SANITY["depth"])
    losses = torch_loss_curve(model, inputs, torch.from_numpy(masks), torch.nn.functional.cross_entropy,
                              steps, SANITY["lr"], device)
    return {"losses": np.asarray(losses), "device": device}


# ----- the border weight map (NumPy: the same facts in both frameworks, from probes_common.py) -----

def probe_weight_map(ns, ctx):
    return weight_map_facts(ns.border_weight_map)
