import builtins
import sys

import numpy

MARK = "hostile-forge-modules"


def _forge():
    """Replace what the probes use: the probes module's functions (each returns what a
    right answer would), numpy's savez and asarray, builtins.len, the child's runner."""
    probes = sys.modules.get("probes")
    replaced = []
    if probes is not None:
        for name in dir(probes):
            if name.startswith("probe_"):
                setattr(probes, name, lambda ns, ctx: {"len_train": 60000, "len_test": 10000})
                replaced.append(name)
    numpy.savez = lambda *a, **k: None
    builtins.len = lambda x: 60000
    main = sys.modules.get("__main__")
    if main is not None and hasattr(main, "_run_probe"):
        main._run_probe = lambda *a, **k: ({"event": "done"}, {"len_train": numpy.asarray(60000)})
        replaced.append("__main__._run_probe")
    return f"{MARK}: replaced {replaced}"


FORGED = _forge()


class FashionMNISTDataset:
    forged = FORGED

    def __init__(self, root, train=True, transform=None):
        raise NotImplementedError(FORGED)


def make_transform(augment=False):
    raise NotImplementedError(FORGED)


def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):
    raise NotImplementedError(FORGED)
