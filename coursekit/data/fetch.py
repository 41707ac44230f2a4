"""A chapter's downloads in a cell of their own: the datasets and pretrained weights it needs,
fetched before the cells that train, so a real-data build spends its download time (and shows
its progress bars and failures) there and not in the middle of training.

    from coursekit.data.fetch import fetch
    got = fetch("pets", "isbi", source=SOURCE)   # {"pets": folder, "isbi": folder}

Datasets go through their loaders' own folder functions (pets_dir, isbi_dir, petimages_dir,
fashion_root): "synthetic" generates the small set, "auto" downloads the real one or falls back
with one line, "real" downloads it or raises one DownloadError. The weights ("vgg16_torch",
"vgg16_keras") follow the source too: none with "synthetic", ImageNet's or the offline stand-in with "auto",
ImageNet's or DownloadError with "real"; their value is whether ImageNet weights are in place.
Later calls find everything cached. announce=True prints one line when the source is
"synthetic" (a page's download cell: "auto" says why it fell back, "real" shows the downloads).
"""
from coursekit.data._source import SOURCES

WEIGHTS_FOR_SOURCE = {"synthetic": "random", "auto": "auto", "real": "imagenet"}


def _dataset(name):
    from coursekit.data import catsdogs, fashion, isbi, pets

    return {"fashion": fashion.fashion_root, "pets": pets.pets_dir, "isbi": isbi.isbi_dir,
            "petimages": catsdogs.petimages_dir}.get(name)


def _pretrained(name, weights: str) -> bool:
    from coursekit import weights as vgg

    framework = name.removeprefix("vgg16_")
    if not vgg.can_have_imagenet(framework, weights):
        return False  # no model built for nothing: seconds on a CPU
    if framework == "torch":
        return vgg.torch_vgg16(weights)[1]  # builds the model to download and load the file
    return vgg.keras_vgg16_base(weights=weights)[1]  # the file Keras keeps does not depend on the input shape


NAMES = ("fashion", "pets", "isbi", "petimages", "vgg16_torch", "vgg16_keras")
LABELS = {"fashion": "FashionMNIST", "pets": "Oxford-IIIT Pet", "isbi": "ISBI 2012", "petimages": "PetImages"}


def synthetic_notice(names) -> str:
    """The one line that says a page runs on the synthetic sets and how to get the real ones."""
    sets = " and ".join(LABELS[n] for n in names if n in LABELS)
    return (f"COURSE_DATA=synthetic: the course's synthetic {sets}, made here, nothing downloaded "
            f"(COURSE_DATA=real or auto for the real data)")


def fetch(*names: str, source: str = "auto", announce: bool = False) -> dict:
    """name -> the dataset's folder, or for weights whether ImageNet's are there; in the order given."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError(f"nothing to fetch called {', '.join(map(repr, unknown))}: choose from {', '.join(NAMES)}")
    got = {}
    for name in names:
        if name.startswith("vgg16_"):
            got[name] = False if source == "synthetic" else _pretrained(name, WEIGHTS_FOR_SOURCE[source])
        else:
            got[name] = _dataset(name)(source=source)
    if announce and source == "synthetic":
        print(synthetic_notice(names))
    return got
