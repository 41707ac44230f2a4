"""Bundled wrong answers for the U-Net exercise (autograder/samples/unet/), both frameworks.
tests/wrong_answers/unet.py holds more; together they make every check fail in each framework."""
from autograder.generate import Sample

UNET_ALL = frozenset({"check_decoder_shape", "check_decoder_channels", "check_decoder_uses_skip", "check_decoder_values",
                      "check_unet_shape", "check_unet_output", "check_unet_channels", "check_skip_wiring",
                      "check_unet_values", "check_training_sanity"})

SAMPLES = {
    # Keras: the decoder convolves the upsampled map alone; the skip is dropped.
    "no_skip": Sample(
        mistake="the decoder block convolves the upsampled map alone: the encoder's skip is never concatenated; concatenate `[up, skip]` on the channel axis before the convolutions.",
        replace=(("    return conv_block(merged, filters)", "    return conv_block(up, filters)"),),
        fails=frozenset({"check_decoder_channels", "check_decoder_uses_skip", "check_decoder_values",
                         "check_unet_channels", "check_skip_wiring", "check_unet_values"}),
        framework="keras",
    ),
    # Keras: the skip is added instead of concatenated (the spec says concatenate); a block whose
    # skip has another channel count than `filters` cannot even be built.
    "skip_added": Sample(
        mistake='the skip is added to the upsampled map instead of concatenated with it: use `layers.Concatenate(axis=-1)([up, skip])`.',
        replace=(("layers.Concatenate(axis=-1)([up, skip])", "layers.Add()([up, skip])"),),
        fails=frozenset({"check_decoder_shape", "check_decoder_channels", "check_decoder_values",
                         "check_unet_channels", "check_unet_values"}),
        framework="keras",
    ),
    # Keras: no softmax at the output: scores, not probabilities.
    "no_softmax": Sample(
        mistake='the output layer has no softmax, so it gives scores, not probabilities: use `activation="softmax"` in the final 1x1 convolution.',
        replace=(('layers.Conv2D(num_classes, 1, activation="softmax")(x)', "layers.Conv2D(num_classes, 1)(x)"),),
        fails=frozenset({"check_unet_output", "check_unet_values"}),
        framework="keras",
    ),
    # Keras: the class weights are left out (w_c = 1).
    "weights_unbalanced": Sample(
        mistake='the class weights are left out (every class weighs 1): weigh each class present by `labels.size / (number of classes present * pixels of that class)`.',
        replace=(("weights[mask] = labels.size / (len(present) * mask.sum())", "weights[mask] = 1.0"),),
        fails=frozenset({"check_weight_map_classes"}),
        framework="keras",
    ),
    # PyTorch: the decoder convolves the upsampled map alone; the skip is dropped.
    "skip_dropped": Sample(
        mistake="the decoder block convolves the upsampled map alone: the encoder's skip is never concatenated; use `torch.cat([self.up(x), skip], dim=1)` and give the convolution `out_channels + skip_channels` inputs.",
        replace=(("ConvBlock(out_channels + skip_channels, out_channels)", "ConvBlock(out_channels, out_channels)"),
                 ("return self.conv(torch.cat([self.up(x), skip], dim=1))", "return self.conv(self.up(x))")),
        fails=frozenset({"check_decoder_channels", "check_decoder_uses_skip", "check_decoder_values",
                         "check_unet_channels", "check_skip_wiring", "check_unet_values"}),
        framework="torch",
    ),
    # PyTorch: softmax at the output where logits are asked (CrossEntropyLoss applies its own).
    "softmax_output": Sample(
        mistake='the model applies softmax to its output where logits are asked: return the logits (`nn.CrossEntropyLoss` applies its own log-softmax).',
        replace=(("        return self.head(x)", "        return torch.softmax(self.head(x), dim=1)"),),
        fails=frozenset({"check_unet_output", "check_unet_values", "check_training_sanity"}),
        framework="torch",
    ),
    # PyTorch: returns channels-last logits (N, H, W, classes), as Keras would.
    "channels_last_output": Sample(
        mistake="the logits come back channels-last, (N, H, W, classes), as Keras orders them; PyTorch wants (N, classes, H, W): do not permute the head's output.",
        replace=(("        return self.head(x)", "        return self.head(x).permute(0, 2, 3, 1)"),),
        fails=frozenset({"check_unet_shape", "check_unet_values", "check_training_sanity"}),
        framework="torch",
    ),
    # PyTorch: the border term is added inside cells too.
    "border_in_cells": Sample(
        mistake='the border term is added inside the cells too: add it only outside them, `weights + np.where(cells, 0.0, border)`.',
        replace=(("return weights + np.where(cells, 0.0, border)", "return weights + border"),),
        fails=frozenset({"check_weight_map_border", "check_weight_map_parameters"}),
        framework="torch",
    ),
}
