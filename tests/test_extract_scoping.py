"""Extraction follows Python's scoping rules: one test per rule, no grading run (milliseconds)."""
import pytest

from autograder.extract import extract
from autograder.read import Cell

DEMO = "demo_call_that_must_not_run()"


def extracted(*cells: str, names=("f",)):
    return extract([Cell(i, text) for i, text in enumerate(cells, start=1)], list(names))


def kept(source: str, *cells: str, names=("f",)) -> bool:
    return source in extracted(*cells, names=names).source


def test_parameter_is_not_a_global():
    result = extracted("x = " + DEMO, "def f(x):\n    return x + 1\n")
    assert DEMO not in result.source and result.notes == []


def test_local_is_not_a_global():
    result = extracted("weights = " + DEMO, "def f(a):\n    weights = a * 2\n    return weights\n")
    assert DEMO not in result.source and result.notes == []


def test_global_read_is_kept():
    assert kept("SCALE = 255.0", "SCALE = 255.0", "def f(a):\n    return a / SCALE\n")


def test_comprehension_variable_is_not_a_global():
    result = extracted("i = " + DEMO, "def f(n):\n    return [i * 2 for i in range(n)]\n")
    assert DEMO not in result.source
    assert kept("K = 3", "K = 3", "def f(n):\n    return [i * K for i in range(n)]\n")


def test_class_attribute_is_not_a_global_for_methods():
    cells = ("size = " + DEMO, "class F:\n    size = 4\n    def g(self):\n        return self.size\n")
    assert DEMO not in extracted(*cells, names=("F",)).source
    # a method that reads a bare `size` reads the module's, not the class attribute
    cells = ("size = 7", "class F:\n    size = 4\n    def g(self):\n        return size\n")
    assert kept("size = 7", *cells, names=("F",))


def test_class_body_reads_globals():
    assert kept("WIDTH = 8", "WIDTH = 8", "class F:\n    width = WIDTH\n", names=("F",))


def test_name_declared_global_in_function_is_needed():
    result = extracted("counter = 0", "def f():\n    global counter\n    counter += 1\n    return counter\n")
    assert "counter = 0" in result.source


def test_nested_function_and_nonlocal():
    cells = ("total = " + DEMO, "LIMIT = 2",
             "def f():\n    total = 0\n    def add(v):\n        nonlocal total\n        total += v + LIMIT\n    add(1)\n    return total\n")
    result = extracted(*cells)
    assert DEMO not in result.source and "LIMIT = 2" in result.source


def test_lambda_reads_globals():
    assert kept("OFFSET = 1", "OFFSET = 1", "def f():\n    return (lambda v: v + OFFSET)(1)\n")


def test_decorator_is_evaluated_at_module_level():
    cells = ("import functools", "def traced(fn):\n    return fn\n", "@traced\ndef f():\n    return 1\n")
    result = extracted(*cells)
    assert "def traced" in result.source and result.source.index("def traced") < result.source.index("@traced")


def test_default_argument_value_is_a_global_read():
    assert kept("SIZE = (150, 150)", "SIZE = (150, 150)", "def f(size=SIZE):\n    return size\n")


def test_annotation_is_a_global_read():
    assert kept("Shape = tuple", "Shape = tuple", "def f(a: Shape) -> Shape:\n    return a\n")


def test_del_makes_a_name_local():
    result = extracted("tmp = " + DEMO, "def f():\n    tmp = 1\n    del tmp\n    return 0\n")
    assert DEMO not in result.source


def test_star_import_is_kept_and_unknown_names_may_come_from_it():
    result = extracted("from math import *", "def f(v):\n    return sqrt(v)\n")
    assert "from math import *" in result.source and result.notes == []


def test_every_top_level_import_is_kept_with_its_guard():
    guard = "try:\n    from PIL import UnidentifiedImageError\nexcept ImportError:\n    UnidentifiedImageError = OSError\n"
    result = extracted(guard, "import json", "def f():\n    return UnidentifiedImageError\n")
    assert guard.rstrip() in result.source
    assert "import json" in result.source  # kept, made optional since nothing needs it
    namespace = {}
    exec(result.source, namespace)
    assert namespace["f"]() is not None


def test_configuration_of_imported_modules_is_kept_in_order():
    cells = ("from PIL import ImageFile\nimport warnings\nimport os",
             "ImageFile.LOAD_TRUNCATED_IMAGES = True\nwarnings.filterwarnings('ignore')\nos.environ['X'] = '1'",
             "print('demo')\nos.remove('/tmp/x')", "def f():\n    return 1\n")
    source = extracted(*cells).source
    for line in ("ImageFile.LOAD_TRUNCATED_IMAGES = True", "warnings.filterwarnings('ignore')", "os.environ['X'] = '1'"):
        assert line in source
    assert "print('demo')" not in source and "os.remove" not in source


@pytest.mark.parametrize("demo", [
    "torch.load('teacher.pt')", "keras.models.load_model('try.keras')", "np.load('x.npy')",
    "torchvision.datasets.OxfordIIITPet('data', download=True)", "open('numbers.txt').read()",
    "len(train_set.classes)",
])
def test_needed_value_from_demo_work_is_reported_once_not_run(demo):
    cells = ("import torch, torchvision, keras\nimport numpy as np", "train_set = make_data()",
             f"VALUE = {demo}", "def f():\n    return VALUE\n\ndef g():\n    return VALUE\n")
    result = extracted(*cells, names=("f", "g"))
    assert demo not in result.source and "make_data" not in result.source
    assert [n for n in result.notes if "`VALUE`" in n] == [result.notes[0]] and len(result.notes) == 1
    assert "cell 3 (`VALUE = " in result.notes[0] and "define it as a constant or inside the function" in result.notes[0]


def test_safe_values_are_kept():
    cells = ("import numpy as np\nfrom torchvision import transforms",
             "MEAN = np.array([0.5, 0.5])\nPREP = transforms.Compose([transforms.ToTensor()])\nN = len([1, 2]) * 3",
             "def f():\n    return MEAN, PREP, N\n")
    result = extracted(*cells)
    assert result.notes == [] and "MEAN = np.array" in result.source and "N = len" in result.source


def test_semicolon_neighbour_is_not_taken():
    result = extracted("K = 2; " + DEMO, "def f():\n    return K\n")
    assert "K = 2" in result.source and DEMO not in result.source
    compile(result.source, "submission.py", "exec")
