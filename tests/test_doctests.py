"""The examples in the docstrings run, and print what they show (each imports what it uses)."""

import doctest
import importlib
import pkgutil
import warnings

import numpy as np
import pytest

import autograd

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(autograd.__path__, "autograd."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for test in finder.find(module, name):  # globals: the module's own
            examples += len(test.examples)
            runner.run(test, out=lambda text: None)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed in {name}"


def test_the_public_modules_have_examples():
    counted = {name: sum(len(t.examples) for t in doctest.DocTestFinder().find(
        importlib.import_module(name), name)) for name in MODULES}
    for name in ("autograd.primitives", "autograd.extend", "autograd.nn", "autograd.nn.modules", "autograd.optim",
                 "autograd.transforms", "autograd.functional", "autograd.tensors"):
        assert counted[name] > 0, name
    assert np.sum(list(counted.values())) > 60
