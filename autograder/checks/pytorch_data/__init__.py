"""PyTorch data: a Dataset over FashionMNIST's raw files, a transform, a seeded DataLoader.

Source and reference: solutions/pytorch_data.ipynb. Learner's copy: exercises/pytorch_data.ipynb.
Chapter: book/pytorch_data.md. Probes: probes.py (sandbox). Checks: checks.py.
"""
from autograder.exercise import Exercise, Variant


def prepare_data() -> dict:
    from coursekit.data.fashion import fashion_root

    return {"fashion": fashion_root(source="synthetic")}


EXERCISE = Exercise(
    slug="pytorch_data",
    title="PyTorch data: Dataset, transforms, DataLoader",
    variants=(Variant("torch", "pytorch_data.ipynb", "probes.py",
                      ("FashionMNISTDataset", "make_transform", "make_loader")),),
    prepare_data=prepare_data,
)
