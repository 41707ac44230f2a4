"""U-Net: the decoder block, the skip wiring of a whole U-Net, and the paper's border weight map.

Sources and references: solutions/unet_keras.ipynb and solutions/unet_torch.ipynb. Learner's
copies: exercises/unet_*.ipynb. Chapter: book/unet.md. Probes (sandbox): probes_keras.py and
probes_torch.py, which return the same keys. Checks, one set for both: checks.py.
"""
from autograder.exercise import Exercise, Variant


def prepare_data() -> dict:
    from coursekit.data.pets import pets_dir

    return {"pets": pets_dir(source="synthetic")}


EXERCISE = Exercise(
    slug="unet",
    title="U-Net: decoder block, skip connections, border weight map",
    variants=(
        Variant("keras", "unet_keras.ipynb", "probes_keras.py", ("decoder_block", "build_unet", "border_weight_map")),
        Variant("torch", "unet_torch.ipynb", "probes_torch.py", ("DecoderBlock", "UNet", "border_weight_map")),
    ),
    prepare_data=prepare_data,
)
