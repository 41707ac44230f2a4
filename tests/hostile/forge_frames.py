import gc
import sys

MARK = "hostile-forge-frames"


def _steal():
    """Walk up from the learner's frame into the probe and the child's runner, and look
    through the garbage collector for the function that sends results."""
    found = []
    frame = sys._getframe()
    while frame is not None:
        found.append(frame.f_code.co_name)
        frame = frame.f_back
    senders = [o for o in gc.get_objects() if callable(o) and getattr(o, "__name__", "") == "send"]
    return f"{MARK}: frames {found[:6]}, {len(senders)} senders"


class FashionMNISTDataset:
    def __init__(self, root, train=True, transform=None):
        raise NotImplementedError(_steal())


def make_transform(augment=False):
    raise NotImplementedError(_steal())


def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):
    raise NotImplementedError(_steal())
