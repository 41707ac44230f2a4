"""Wrong answers to the PyTorch data exercise, as edits of the reference, and the checks
each must fail (no more, no fewer). With the bundled samples
(autograder/checks/pytorch_data/samples.py) every check is shown to reject something."""
from autograder.generate import Sample

WRONG = {
    # Hard-codes the real set's size: indices past the end, in the probes and in shuffled batches.
    # The items are read at the files' own length, so only the length check and the checks
    # whose loader draws indices from len() fail (those say "not judged: see check_length").
    "len_hardcoded": Sample(
        replace=(("return len(self.labels)", "return 60000"),),
        fails=frozenset({"check_length", "check_loader_batches", "check_training_sanity"}),
    ),
    # Seeds the global generator instead of owning one: reproducible only when each loader is
    # iterated right after it is made (the old probe), not in a training loop.
    "global_manual_seed": Sample(
        replace=(("    generator = torch.Generator().manual_seed(seed)\n    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,\n                      generator=generator, num_workers=num_workers)",
                  "    torch.manual_seed(seed)\n    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers)"),),
        fails=frozenset({"check_loader_reproducible"}),
    ),
    # train=False still reads the training files.
    "test_split_ignored": Sample(
        replace=(("images_file, labels_file = RAW_FILES[train]", "images_file, labels_file = RAW_FILES[True]"),),
        fails=frozenset({"check_length", "check_labels"}),
    ),
    # The transform is stored but never applied.
    "transform_ignored": Sample(
        replace=(("if self.transform is None:", "if True:"),),
        fails=frozenset({"check_transform_applied"}),
    ),
    # Always flips.
    "always_flip": Sample(
        replace=(("RandomHorizontalFlip(p=0.5)", "RandomHorizontalFlip(p=1.0)"),),
        fails=frozenset({"check_augment"}),
    ),
    # Drops the last, smaller batch: some items never come.
    "drop_last": Sample(
        replace=(("generator=generator, num_workers=num_workers)", "generator=generator, num_workers=num_workers, drop_last=True)"),),
        fails=frozenset({"check_loader_batches", "check_loader_reproducible", "check_loader_seed_matters"}),
    ),
    # Seeds with a constant: every seed gives the same order.
    "seed_ignored": Sample(
        replace=(("torch.Generator().manual_seed(seed)", "torch.Generator().manual_seed(0)"),),
        fails=frozenset({"check_loader_seed_matters"}),
    ),
    # Shuffles even when asked not to.
    "always_shuffle": Sample(
        replace=(("shuffle=shuffle,", "shuffle=True,"),),
        fails=frozenset({"check_loader_seed_matters"}),
    ),
    # The transform erases the image: nothing left to learn from.
    "blank_images": Sample(
        replace=(("    return transforms.Compose(steps)", "    return lambda raw: torch.zeros(1, 28, 28)"),),
        fails=frozenset({"check_normalise", "check_augment", "check_training_sanity"}),
    ),
    # A syntax error in the loader's cell: that cell is skipped, the rest is graded.
    "syntax_error": Sample(
        replace=(("def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):",
                  "def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0)"),),
        fails=frozenset({"check_loader_batches", "check_loader_reproducible", "check_loader_seed_matters", "check_training_sanity"}),
    ),
    # make_loader renamed: missing, and said so.
    "missing_function": Sample(
        replace=(("def make_loader(", "def make_dataloader("),),
        fails=frozenset({"check_loader_batches", "check_loader_reproducible", "check_loader_seed_matters", "check_training_sanity"}),
    ),
    # The loader skips item 0 (range(1, len)): the batches are short by one, and the order checks,
    # which draw from those batches, say "not judged: see check_loader_batches".
    "skips_first_item": Sample(
        replace=(("    return DataLoader(dataset, batch_size", "    return DataLoader(torch.utils.data.Subset(dataset, range(1, len(dataset))), batch_size"),),
        fails=frozenset({"check_loader_batches", "check_loader_reproducible", "check_loader_seed_matters"}),
    ),
}

# A phrase of the message each of these wrong answers must get, per check: the feedback names the mistake.
MESSAGES = {
    "blank_images": {"check_augment": "not judged: see check_normalise", "check_training_sanity": "not judged: see check_normalise"},
    "drop_last": {"check_loader_seed_matters": "not judged: see check_loader_batches"},
    "skips_first_item": {"check_loader_batches": "batch sizes", "check_loader_reproducible": "not judged: see check_loader_batches"},
    "len_hardcoded": {"check_length": "len(FashionMNISTDataset(root, train=True))", "check_training_sanity": "not judged: see check_length"},
    "global_manual_seed": {"check_loader_reproducible": "torch.Generator().manual_seed(seed)"},
}
