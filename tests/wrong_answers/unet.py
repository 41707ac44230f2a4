"""Wrong answers to the U-Net exercise, as edits of the references, and the checks each must
fail (no more, no fewer). With the bundled samples (autograder/checks/unet/samples.py) every
check is shown to reject something, in each framework."""
from autograder.checks.unet.samples import UNET_ALL
from autograder.generate import Sample

KERAS_ENCODER = """    for level in range(depth):
        features, x = encoder_block(x, base_filters * 2**level)
        skips.append(features)"""
TORCH_ENCODER = """        for encoder in self.encoders:
            features, x = encoder(x)
            skips.append(features)"""

WRONG = {
    # Keras: concatenates on axis 1 (channels-first thinking): the maps stack in height.
    "concat_axis_1": Sample(
        replace=(("layers.Concatenate(axis=-1)", "layers.Concatenate(axis=1)"),),
        fails=UNET_ALL - {"check_decoder_uses_skip", "check_unet_output"},
        framework="keras",
    ),
    # Keras: the skip is the encoder level's input (the level above's pooled map), not its features.
    "skip_is_encoder_input": Sample(
        replace=((KERAS_ENCODER, KERAS_ENCODER.replace(
            "        features, x = encoder_block(x, base_filters * 2**level)\n        skips.append(features)",
            "        skips.append(x)\n        features, x = encoder_block(x, base_filters * 2**level)")),),
        fails=frozenset({"check_unet_channels", "check_skip_wiring", "check_unet_values"}),
        framework="keras",
    ),
    # Keras: skips paired with the wrong decoder levels, resized to fit.
    "skips_reversed_resized": Sample(
        replace=(("x = decoder_block(x, skips[level], base_filters * 2**level)",
                  "x = decoder_block(x, layers.Resizing(2 * x.shape[1], 2 * x.shape[2])(skips[depth - 1 - level]), "
                  "base_filters * 2**level)"),),
        fails=frozenset({"check_unet_channels", "check_skip_wiring", "check_unet_values"}),
        framework="keras",
    ),
    # Keras: upsamples by 4: the map no longer matches its skip.
    "upsample_by_4": Sample(
        replace=(("layers.Conv2DTranspose(filters, 2, strides=2)", "layers.Conv2DTranspose(filters, 4, strides=4)"),),
        fails=UNET_ALL,
        framework="keras",
    ),
    # Keras: only the nearest cell's distance, twice.
    "weights_nearest_only": Sample(
        replace=(("np.exp(-((d1 + d2) ** 2)", "np.exp(-((2 * d1) ** 2)"),),
        fails=frozenset({"check_weight_map_border", "check_weight_map_parameters"}),
        framework="keras",
    ),
    # Keras: sigma fixed at the default.
    "sigma_fixed": Sample(
        replace=(("/ (2 * sigma**2)", "/ (2 * 5**2)"),),
        fails=frozenset({"check_weight_map_parameters"}),
        framework="keras",
    ),
    # PyTorch: the skip is added instead of concatenated (the spec says concatenate).
    "skip_summed": Sample(
        replace=(("ConvBlock(out_channels + skip_channels, out_channels)", "ConvBlock(out_channels, out_channels)"),
                 ("return self.conv(torch.cat([self.up(x), skip], dim=1))", "return self.conv(self.up(x) + skip)")),
        fails=frozenset({"check_decoder_shape", "check_decoder_channels", "check_decoder_values",
                         "check_unet_channels", "check_unet_values"}),
        framework="torch",
    ),
    # PyTorch: the skip is the encoder level's input, with the channel counts made to fit.
    "skip_from_encoder_input": Sample(
        replace=((TORCH_ENCODER, TORCH_ENCODER.replace(
            "            features, x = encoder(x)\n            skips.append(features)",
            "            skips.append(x)\n            features, x = encoder(x)")),
                 ("DecoderBlock(widths[level + 1], widths[level], widths[level])",
                  "DecoderBlock(widths[level + 1], ([in_channels] + widths)[level], widths[level])")),
        fails=frozenset({"check_unet_channels", "check_skip_wiring", "check_unet_values"}),
        framework="torch",
    ),
    # PyTorch: upsamples by 4: the map no longer matches its skip.
    "upsample_stride_4": Sample(
        replace=(("kernel_size=2, stride=2)", "kernel_size=4, stride=4)"),),
        fails=UNET_ALL,
        framework="torch",
    ),
    # PyTorch: forgets the square of sigma.
    "sigma_not_squared": Sample(
        replace=(("/ (2 * sigma**2)", "/ (2 * sigma)"),),
        fails=frozenset({"check_weight_map_border", "check_weight_map_parameters"}),
        framework="torch",
    ),
    # PyTorch: class weights proportional to the class frequency instead of its inverse.
    "weights_by_frequency": Sample(
        replace=(("weights[mask] = labels.size / (len(present) * mask.sum())", "weights[mask] = mask.sum() / labels.size"),),
        fails=frozenset({"check_weight_map_classes"}),
        framework="torch",
    ),
    # Upsamples to half of x's channels: in a U-Net's own blocks that is the output width, so
    # only a block whose x/2, skip and output widths differ shows it (the old probe passed it).
    "up_to_half_in_torch": Sample(
        replace=(("self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)\n        self.conv = ConvBlock(out_channels + skip_channels, out_channels)",
                  "self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)\n        self.conv = ConvBlock(in_channels // 2 + skip_channels, out_channels)"),),
        fails=frozenset({"check_decoder_channels"}),
        framework="torch",
    ),
    # Upsamples to the skip's width: the same as `filters` inside a U-Net, not in general.
    "up_to_skip_width_keras": Sample(
        replace=(("up = layers.Conv2DTranspose(filters, 2, strides=2)(x)", "up = layers.Conv2DTranspose(skip.shape[-1], 2, strides=2)(x)"),),
        fails=frozenset({"check_decoder_channels"}),
        framework="keras",
    ),
    # Mischarged before on check_skip_wiring ("the skip enters the decoder at another level's resolution"):
    # the wiring probe measured how far a change spreads in the output, which the upsampling and the
    # output layer widen too. It now finds where the change first enters the decoder.
    # PyTorch: bilinear upsampling and a convolution instead of a transposed convolution.
    "bilinear_up_torch": Sample(
        replace=(("self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)",
                  "self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode=\"bilinear\"), "
                  "nn.Conv2d(in_channels, out_channels, 3, padding=1))"),),
        fails=frozenset({"check_decoder_channels", "check_decoder_values", "check_unet_channels", "check_unet_values"}),
        framework="torch",
    ),
    # Keras: UpSampling2D and a convolution instead of a transposed convolution.
    "upsampling_conv_keras": Sample(
        replace=(("up = layers.Conv2DTranspose(filters, 2, strides=2)(x)",
                  "up = layers.Conv2D(filters, 2, padding=\"same\")(layers.UpSampling2D(2)(x))"),),
        fails=frozenset({"check_decoder_channels", "check_decoder_values", "check_unet_channels", "check_unet_values"}),
        framework="keras",
    ),
    # Keras: softmax over the height axis, not the classes.
    "softmax_wrong_axis_keras": Sample(
        replace=(('layers.Conv2D(num_classes, 1, activation="softmax")(x)',
                  "layers.Softmax(axis=1)(layers.Conv2D(num_classes, 1)(x))"),),
        fails=frozenset({"check_unet_output", "check_unet_values"}),
        framework="keras",
    ),
    # PyTorch: the encoder blocks in a plain list: not registered, so no probe sees them and they do not train.
    "encoders_in_list_torch": Sample(
        replace=(("self.encoders = nn.ModuleList(\n            EncoderBlock(([in_channels] + widths)[level], widths[level]) for level in range(depth))",
                  "self.encoders = [\n            EncoderBlock(([in_channels] + widths)[level], widths[level]) for level in range(depth)]"),),
        fails=frozenset({"check_unet_channels", "check_skip_wiring", "check_unet_values"}),  # the decoder still fits the batch
        framework="torch",
    ),
}

# A phrase of the message each of these wrong answers must get, per check: the feedback names the mistake.
MESSAGES = {
    "bilinear_up_torch": {"check_decoder_channels": "expected 2x2 transposed convolution"},
    "upsampling_conv_keras": {"check_decoder_channels": "expected 2x2 transposed convolution"},
    "softmax_wrong_axis_keras": {"check_unet_output": "softmax over the last (class) axis"},
    "encoders_in_list_torch": {"check_skip_wiring": "nn.ModuleList"},
}
