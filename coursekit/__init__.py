"""coursekit: the small library that the book, the exercises and the checks share.

Data (real and synthetic), seeds, devices and plots. Heavy frameworks are imported
inside the functions that use them, so `import coursekit` stays fast.
Nothing here imports from solutions/ or autograder/.
"""
from coursekit.seeds import seed_everything

__all__ = ["seed_everything"]
__version__ = "0.1.0"
