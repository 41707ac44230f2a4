"""Bundled wrong answers for the PyTorch data exercise (autograder/samples/pytorch_data/)."""
from autograder.generate import Sample

SAMPLES = {
    # Forgot Normalize: values in [0, 1] instead of (x - MEAN) / STD.
    "no_normalise": Sample(
        mistake='`Normalize` is missing: the values stay in [0, 1]; add `transforms.Normalize((MEAN,), (STD,))` after `ToTensor()`.',
        replace=(("    steps.append(transforms.Normalize((MEAN,), (STD,)))\n", ""),),
        fails=frozenset({"check_normalise"}),
    ),
    # Shuffles, but with the global generator: the order changes from run to run.
    "unseeded_shuffle": Sample(
        mistake='the DataLoader shuffles with the global random generator, so the order changes with everything else that draws from it: pass `generator=torch.Generator().manual_seed(seed)`.',
        replace=(("generator=generator, ", ""),),
        fails=frozenset({"check_loader_reproducible"}),
    ),
    # Returns the raw uint8 pixels: wrong dtype, wrong range.
    "raw_pixels": Sample(
        mistake='the raw uint8 pixels are returned: convert them to float32 and divide by 255 (`torch.from_numpy(raw).float().div(255)`).',
        replace=(("image = torch.from_numpy(raw).float().div(255).unsqueeze(0)", "image = torch.from_numpy(raw).unsqueeze(0)"),),
        fails=frozenset({"check_item_types", "check_item_values"}),
    ),
}
