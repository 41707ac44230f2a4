"""Wrong answers to the transfer exercise, as edits of the reference, and the checks each
must fail (no more, no fewer). With the bundled samples (autograder/checks/transfer/samples.py)
every check is shown to reject something, in each framework."""
from autograder.generate import Sample

TRUNCATED_FIX = (  # the "fix" for truncated files found online: decode what is there, grey for the rest
    ("from PIL import Image", "from PIL import Image, ImageFile"),
    ("    try:\n        with Image.open(path) as image:",
     "    ImageFile.LOAD_TRUNCATED_IMAGES = True\n    try:\n        with Image.open(path) as image:"),
)

DECODE_OUTSIDE_TRY = (
    ("    try:\n        with Image.open(path) as image:\n            image.load()  # decode it all now: a truncated file fails here, not later\n",
     "    try:\n        image = Image.open(path)\n"),
)

WRONG = {
    # ---- Keras ----
    # One sigmoid unit, as in the classic dogs-vs-cats code: not a 2-class prediction.
    "one_sigmoid_unit_keras": Sample(
        replace=(('layers.Dense(num_classes, activation="softmax")', 'layers.Dense(1, activation="sigmoid")'),),
        fails=frozenset({"check_output_shape", "check_prediction_kind", "check_trainable_parameters", "check_training_sanity"}),
        framework="keras",
    ),
    # The head pools the input images, not the base's features.
    "head_ignores_base_keras": Sample(
        replace=(("layers.GlobalAveragePooling2D()(features)", "layers.GlobalAveragePooling2D()(inputs)"),),
        fails=frozenset({"check_trainable_parameters", "check_uses_base"}),
        framework="keras",
    ),
    # Pooling in a Lambda layer: it saves, but load_model refuses it (safe_mode).
    "lambda_pooling_keras": Sample(
        replace=(("layers.GlobalAveragePooling2D()(features)",
                  "layers.Lambda(lambda t: keras.ops.mean(t, axis=(1, 2)))(features)"),),
        fails=frozenset({"check_save_reload"}),
        framework="keras",
    ),
    # Freezes every layer of the model, the head's too.
    "everything_frozen_keras": Sample(
        replace=(('    return keras.Model(inputs, outputs, name="transfer")',
                  '    model = keras.Model(inputs, outputs, name="transfer")\n'
                  '    for layer in model.layers:\n'
                  '        layer.trainable = False  # meant for the base\n'
                  '    return model'),),
        fails=frozenset({"check_trainable_parameters", "check_head_trains", "check_training_sanity"}),
        framework="keras",
    ),
    # Keeps truncated files, grey where the data ran out.
    "keeps_truncated_keras": Sample(
        replace=TRUNCATED_FIX,
        fails=frozenset({"check_loader_corrupt", "check_loader_petimages"}),
        framework="keras",
    ),
    # Channels in BGR order, an OpenCV habit.
    "bgr_channels_keras": Sample(
        replace=(("    return np.asarray(image, dtype=np.uint8)", "    return np.asarray(image, dtype=np.uint8)[..., ::-1]"),),
        fails=frozenset({"check_loader_colours"}),
        framework="keras",
    ),
    # ---- PyTorch ----
    # Softmax inside the model, and cross_entropy applies another.
    "softmax_in_model_torch": Sample(
        replace=(("        return self.scores(hidden)", "        return torch.softmax(self.scores(hidden), dim=1)"),),
        fails=frozenset({"check_prediction_kind", "check_training_sanity"}),
        framework="torch",
    ),
    # One logit (for BCEWithLogitsLoss) instead of num_classes.
    "one_logit_torch": Sample(
        replace=(("nn.Linear(256, num_classes)", "nn.Linear(256, 1)"),),
        fails=frozenset({"check_output_shape", "check_trainable_parameters", "check_training_sanity"}),
        framework="torch",
    ),
    # The head pools the images (3 channels), not the base's features.
    "pools_images_torch": Sample(
        replace=(("nn.Linear(out_channels(base), 256)", "nn.Linear(3, 256)"),
                 ("features = self.base(images).mean(dim=(2, 3))", "features = images.mean(dim=(2, 3))")),
        fails=frozenset({"check_trainable_parameters", "check_uses_base"}),
        framework="torch",
    ),
    # Functional dropout without training=self.training: on at inference too.
    "dropout_always_on_torch": Sample(
        replace=(("hidden = self.dropout(torch.relu(self.hidden(features)))",
                  "hidden = nn.functional.dropout(torch.relu(self.hidden(features)), p=0.5)"),),
        fails=frozenset({"check_save_reload", "check_uses_base"}),
        framework="torch",
    ),
    # Freezes the whole model, head included.
    "head_frozen_too_torch": Sample(
        replace=(("    for parameter in base.parameters():\n        parameter.requires_grad = False\n"
                  "    return TransferNet(base, num_classes)",
                  "    model = TransferNet(base, num_classes)\n    for parameter in model.parameters():\n"
                  "        parameter.requires_grad = False  # meant for the base\n    return model"),),
        fails=frozenset({"check_trainable_parameters", "check_head_trains", "check_training_sanity"}),
        framework="torch",
    ),
    # Converts grayscale only: CMYK and RGBA keep 4 channels, palette images have none.
    "four_channels_kept_torch": Sample(
        replace=(('    image = image.convert("RGB")  # grayscale, CMYK, palette and RGBA all become 3-channel RGB',
                  '    if image.mode == "L":  # grayscale: repeat the one channel\n        image = image.convert("RGB")'),),
        fails=frozenset({"check_loader_shapes", "check_loader_petimages"}),
        framework="torch",
    ),
    # Goes through grayscale to get three channels for every mode: the colours are lost.
    "via_grayscale_torch": Sample(
        replace=(('image.convert("RGB")  # grayscale', 'image.convert("L").convert("RGB")  # grayscale'),),
        fails=frozenset({"check_loader_colours"}),
        framework="torch",
    ),
    # Keeps truncated files (the same "fix" in PyTorch).
    "keeps_truncated_torch": Sample(
        replace=TRUNCATED_FIX,
        fails=frozenset({"check_loader_corrupt", "check_loader_petimages"}),
        framework="torch",
    ),
    # Decodes outside try: Image.open reads the header only, so a truncated file fails later, in
    # convert(). It was charged on check_loader_shapes too, with a resize hint.
    "decode_outside_try_keras": Sample(replace=DECODE_OUTSIDE_TRY,
                                       fails=frozenset({"check_loader_corrupt", "check_loader_petimages"}), framework="keras"),
    "decode_outside_try_torch": Sample(replace=DECODE_OUTSIDE_TRY,
                                       fails=frozenset({"check_loader_corrupt", "check_loader_petimages"}), framework="torch"),
    # A subclassed Keras model that is not registered for serialisation: it cannot be reloaded. Its
    # weights were listed before its first call, so it was also told it "has no weights besides the base's".
    "subclassed_keras": Sample(
        replace=(("    base.trainable = False  # freezes every weight of the base\n"
                  "    inputs = keras.Input(shape=base.input_shape[1:])\n"
                  "    features = base(inputs, training=False)  # inference mode inside the base\n"
                  "    x = layers.GlobalAveragePooling2D()(features)\n"
                  "    x = layers.Dense(256, activation=\"relu\")(x)\n"
                  "    x = layers.Dropout(0.5)(x)\n"
                  "    outputs = layers.Dense(num_classes, activation=\"softmax\")(x)\n"
                  "    return keras.Model(inputs, outputs, name=\"transfer\")",
                  "    base.trainable = False\n    return TransferNet(base, num_classes)\n\n\n"
                  "class TransferNet(keras.Model):\n"
                  "    def __init__(self, base, num_classes):\n"
                  "        super().__init__()\n"
                  "        self.base = base\n"
                  "        self.pool = layers.GlobalAveragePooling2D()\n"
                  "        self.hidden = layers.Dense(256, activation=\"relu\")\n"
                  "        self.dropout = layers.Dropout(0.5)\n"
                  "        self.scores = layers.Dense(num_classes, activation=\"softmax\")\n\n"
                  "    def call(self, images, training=False):\n"
                  "        features = self.pool(self.base(images, training=False))\n"
                  "        return self.scores(self.dropout(self.hidden(features), training=training))"),),
        fails=frozenset({"check_save_reload"}),
        framework="keras",
    ),
    # The base kept in a plain list: PyTorch does not register it, so the state_dict lacks the
    # base's weights and a model reloaded on another base predicts otherwise (the one mistake:
    # the base is frozen and used, and its parameters are not counted as trainable anyway).
    "base_in_a_list_torch": Sample(
        replace=(("        self.base = base\n", "        self.parts = [base]  # a plain list\n"),
                 ("self.base(images)", "self.parts[0](images)")),
        fails=frozenset({"check_save_reload"}),
        framework="torch",
    ),
    # The Keras head ends in a Dense layer without the softmax: logits where probabilities are asked.
    "no_softmax_keras": Sample(
        replace=(('outputs = layers.Dense(num_classes, activation="softmax")(x)', "outputs = layers.Dense(num_classes)(x)"),),
        fails=frozenset({"check_prediction_kind", "check_training_sanity"}),
        framework="keras",
    ),
}

# A phrase of the message each of these wrong answers must get, per check: the feedback names the mistake.
MESSAGES = {
    "base_in_a_list_torch": {"check_save_reload": "largest difference"},
    "no_softmax_keras": {"check_prediction_kind": "not probabilities"},
    "softmax_in_model_torch": {"check_training_sanity": "not judged: see check_prediction_kind"},
    "head_frozen_too_torch": {"check_training_sanity": "not judged: see check_head_trains"},
    "one_logit_torch": {"check_training_sanity": "not judged: see check_output_shape"},
    "decode_outside_try_keras": {"check_loader_corrupt": "decode the whole file inside try"},
    "decode_outside_try_torch": {"check_loader_corrupt": "decode the whole file inside try"},
    "subclassed_keras": {"check_save_reload": "TransferNet"},
}
