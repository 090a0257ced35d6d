"""The examples in the docstrings run, and print what they show (each imports what it uses)."""

import doctest
import importlib
import inspect
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


# Plain result containers: a one-line docstring naming the fields says all there is
# (``linalg.eigh(a).eigenvalues``), and their examples are those of the functions
# that return them.
WITHOUT_EXAMPLE = {
    "autograd.linalg.EighResult",  # eigh's (eigenvalues, eigenvectors)
    "autograd.linalg.SVDResult",  # svd's (U, S, Vh)
    "autograd.linalg.SlogdetResult",  # slogdet's (sign, logabsdet)
    "autograd.linalg.QRResult",  # qr's (Q, R)
}


def _public(namespace, names=None):
    if names is None:
        names = [name for name in dir(namespace) if not name.startswith("_")]
    for name in names:
        value = getattr(namespace, name, None)
        if callable(value) and not inspect.ismodule(value):
            yield f"{namespace.__name__}.{name}", value


def test_every_public_name_has_an_example():
    import autograd.nn.functional as F
    import autograd.optim.lr_scheduler

    namespaces = [
        (autograd, None), (autograd.linalg, autograd.linalg.__all__), (F, F.__all__),
        (autograd.nn, autograd.nn.modules.__all__), (autograd.nn.init, autograd.nn.init.__all__),
        (autograd.optim, None),
        (autograd.optim.lr_scheduler, autograd.optim.lr_scheduler.__all__),
    ]
    public = dict(item for namespace, names in namespaces for item in _public(namespace, names))
    assert len(public) > 250  # the walk sees the whole surface (260 names in December 2026)
    assert WITHOUT_EXAMPLE <= set(public), sorted(WITHOUT_EXAMPLE - set(public))
    for name in WITHOUT_EXAMPLE:
        assert (inspect.getdoc(public[name]) or "").strip(), f"{name} needs its one-line docstring"
    missing = sorted(name for name, value in public.items()
                     if name not in WITHOUT_EXAMPLE and ">>>" not in (inspect.getdoc(value) or ""))
    assert not missing, f"{len(missing)} public names have no '>>>' example: {', '.join(missing)}"
