"""The inputs probes.py uses, named once so that checks.py's messages say the same numbers."""
INDICES = [0, 1, 123, -1]  # the items probe_dataset reads; -1: the last item, resolved to the split's length
FLIP_SAMPLES = 40  # augmented copies of one image
NUMBERS, BATCH_SIZE = 100, 32  # probe_loader: a dataset of the numbers 0..99 in batches of 32


def items_named() -> str:
    """INDICES as a reader says them: 'items 0, 1, 123 and the last'."""
    shown = [str(i) for i in INDICES if i >= 0] + ["the last"] * (-1 in INDICES)
    return "items " + ", ".join(shown[:-1]) + " and " + shown[-1]
