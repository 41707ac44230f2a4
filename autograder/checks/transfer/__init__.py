"""Transfer learning: the image loader that survives PetImages, and a head on a frozen base.

Sources and references: solutions/transfer_{keras,torch}.ipynb. Learners' copies:
exercises/transfer_*.ipynb. Chapter: book/transfer.md. Probes: probes_*.py (sandbox;
the odd files, the loader probes and the separable task in probes_common.py). Checks: checks.py.
"""
from autograder.exercise import Exercise, Variant


def prepare_data() -> dict:
    from coursekit.data.catsdogs import petimages_dir

    return {"petimages": petimages_dir(source="synthetic")}


EXERCISE = Exercise(
    slug="transfer",
    title="Transfer learning: a robust image loader and a head on a frozen base",
    variants=(
        Variant("keras", "transfer_keras.ipynb", "probes_keras.py", ("load_image", "build_model")),
        Variant("torch", "transfer_torch.ipynb", "probes_torch.py", ("load_image", "build_model")),
    ),
    prepare_data=prepare_data,
)
