"""Bundled wrong answers for the transfer exercise (autograder/samples/transfer/)."""
from autograder.generate import Sample

SAMPLES = {
    # Forgets to freeze: VGG16's 14.7 million weights train with the head.
    "base_not_frozen": Sample(
        mistake="the convolutional base is not frozen, so VGG16's 14.7 million weights train with the head: set `base.trainable = False`.",
        replace=(("    base.trainable = False  # freezes every weight of the base\n", ""),),
        fails=frozenset({"check_trainable_parameters", "check_base_frozen"}),
        framework="keras",
    ),
    # A second softmax on top of the first: probabilities squashed towards 0.5.
    "softmax_twice": Sample(
        mistake='a second softmax is applied on top of the first, which squashes the probabilities towards 0.5: apply softmax once, in the last layer.',
        replace=(('    return keras.Model(inputs, outputs, name="transfer")',
                  '    outputs = layers.Softmax()(outputs)  # to be sure they are probabilities\n'
                  '    return keras.Model(inputs, outputs, name="transfer")'),),
        fails=frozenset({"check_training_sanity"}),
        framework="keras",
    ),
    # Assumes one or three channels: crashes on CMYK (and RGBA, palette) files.
    "cmyk_crash": Sample(
        mistake='the loader assumes one or three channels and fails on CMYK, RGBA and palette images: convert every image with `image.convert("RGB")`.',
        replace=(('    image = image.convert("RGB")  # grayscale, CMYK, palette and RGBA all become 3-channel RGB',
                  '    if image.mode == "L":  # grayscale: repeat the one channel\n        image = image.convert("RGB")'),
                 ("    return np.asarray(image, dtype=np.uint8)",
                  "    return np.asarray(image, dtype=np.uint8).reshape(size[0], size[1], 3)")),
        fails=frozenset({"check_loader_shapes", "check_loader_petimages"}),
        framework="keras",
    ),
    # "Freezes" with eval(), which only switches dropout and batch norm: the base trains.
    "eval_is_not_freezing": Sample(
        mistake='`base.eval()` does not freeze the base (it only switches dropout and batch norm to inference): set `requires_grad = False` on every parameter of the base.',
        replace=(("    for parameter in base.parameters():\n        parameter.requires_grad = False\n",
                  "    base.eval()  # freeze the base\n"),),
        fails=frozenset({"check_trainable_parameters", "check_base_frozen"}),
        framework="torch",
    ),
    # A black image for a corrupt file: the file is silently kept, with a made-up label.
    "black_for_corrupt": Sample(
        mistake='a corrupt file gives a black image instead of being skipped, so it is kept with a made-up label: return `None` for a file that cannot be decoded.',
        replace=(("        return None\n", "        return np.zeros((size[0], size[1], 3), dtype=np.uint8)  # a black image instead\n"),),
        fails=frozenset({"check_loader_corrupt", "check_loader_petimages"}),
        framework="torch",
    ),
}
