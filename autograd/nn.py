"""Modules and layers, with PyTorch's habits.

A ``Module`` needs no registration: its parameters are the Tensors it holds in
attributes (also inside lists, tuples and dicts), and its sub-modules are the
Modules it holds the same way. Both are found by walking the attributes in the
order they were assigned, so names and order are deterministic:

    >>> import autograd as ag
    >>> _ = ag.manual_seed(0)
    >>> model = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.ReLU(), ag.nn.Linear(3, 1))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']

Layers initialise from one module-level NumPy Generator; ``manual_seed(n)``
replaces it, which makes every initialisation after it reproducible.
"""

from __future__ import annotations

import math
import os

import numpy as np

from autograd import primitives
from autograd.tensor import Tensor

__all__ = [
    "manual_seed", "Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Sequential", "MLP",
]

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the generator layers initialise from; returns the new ``np.random.Generator``.

    >>> _ = ag.manual_seed(0)
    >>> a = ag.nn.Linear(4, 2).weight.data
    >>> _ = ag.manual_seed(0)
    >>> np.array_equal(a, ag.nn.Linear(4, 2).weight.data)
    True
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def _items(value, name):
    """(dotted name, value) for ``value`` and everything inside it if it is a container."""
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _items(item, f"{name}.{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _items(item, f"{name}.{key}")
    else:
        yield name, value


class Module:
    """Base class: subclass it, assign Tensors and Modules to attributes, define ``forward``.

    >>> class Affine(ag.nn.Module):
    ...     def __init__(self):
    ...         self.scale = ag.tensor(2.0, requires_grad=True)
    ...         self.shift = ag.tensor(0.5, requires_grad=True)
    ...     def forward(self, x):
    ...         return self.scale * x + self.shift
    >>> Affine()(ag.tensor([1.0, 2.0]))          # __call__ runs forward
    Tensor([2.5, 4.5], dtype=float64, requires_grad=True, op=add)

    Calling ``super().__init__()`` is allowed but not needed.
    """

    training = True  # read by layers that behave differently in training (none here yet)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, ...)")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- discovery ------------------------------------------------------------
    def _attribute_items(self):
        for attribute, value in vars(self).items():
            yield from _items(value, attribute)

    def named_children(self):
        """(name, module) for the modules held directly by this one, each once."""
        seen = set()
        for name, value in self._attribute_items():
            if isinstance(value, Module) and id(value) not in seen:
                seen.add(id(value))
                yield name, value

    def children(self):
        return [module for _, module in self.named_children()]

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module (name ``prefix``) and every module below it."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            below = [(f"{name}.{child_name}" if name else child_name, child)
                     for child_name, child in module.named_children()]
            stack.extend(reversed(below))

    def modules(self):
        return [module for _, module in self.named_modules()]

    def named_parameters(self):
        """(dotted name, Tensor) for every Tensor held by this module or one below it.

        A Tensor reachable twice (a shared layer) is listed once, under its first name.
        """
        seen = set()
        for module_name, module in self.named_modules():
            for name, value in module._attribute_items():
                if isinstance(value, Tensor) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self):
        """The Tensors of ``named_parameters()``, in the same order (a list)."""
        return [tensor for _, tensor in self.named_parameters()]

    def zero_grad(self):
        """Forget accumulated gradients: set ``.grad`` of every parameter to None."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode=True):
        """Set the ``training`` flag here and below; returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    # -- saving -----------------------------------------------------------------
    def state_dict(self):
        """{dotted name: copy of the parameter's array}, in ``named_parameters()`` order."""
        return {name: np.array(tensor.data) for name, tensor in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy arrays from ``state`` into the parameters, in place (optimizers keep working).

        The keys must be exactly those of ``state_dict()`` and every shape must match;
        values are cast to the parameter's dtype.
        """
        parameters = dict(self.named_parameters())
        missing = [name for name in parameters if name not in state]
        unexpected = [name for name in state if name not in parameters]
        if missing or unexpected:
            raise KeyError(
                f"load_state_dict: keys do not match this {type(self).__name__}; "
                f"missing {missing}, unexpected {unexpected}. Expected keys: {list(parameters)}"
            )
        arrays = {name: np.asarray(state[name]) for name in parameters}
        for name, tensor in parameters.items():  # check everything before changing anything
            if arrays[name].shape != tensor.shape:
                raise ValueError(
                    f"load_state_dict: {name!r} has shape {arrays[name].shape} in the state "
                    f"but the parameter has shape {tensor.shape}"
                )
        for name, tensor in parameters.items():
            if isinstance(tensor.data, np.ndarray) and tensor.data.flags.writeable:
                tensor.data[...] = arrays[name]
            else:
                tensor.data = np.array(arrays[name], dtype=tensor.dtype)

    def save(self, path):
        """Write ``state_dict()`` to an ``.npz`` file (path or open binary file; ``.npz`` is added
        to a path that lacks it)."""
        np.savez(_npz_path(path), **self.state_dict())

    def load(self, path):
        """Read parameters saved by ``save`` (see ``load_state_dict``); returns self."""
        with np.load(_npz_path(path), allow_pickle=False) as archive:
            self.load_state_dict({name: archive[name] for name in archive.files})
        return self

    # -- printing ---------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")


def _npz_path(path):
    if not isinstance(path, (str, os.PathLike)):
        return path  # an open file: NumPy writes/reads it as is
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


class Linear(Module):
    """y = x @ weight.T + bias, with ``weight`` of shape (out_features, in_features).

    Shapes: x (..., in_features) -> y (..., out_features). Weight and bias start
    uniform in ±1/sqrt(in_features), as in PyTorch, drawn from the generator that
    ``ag.manual_seed`` sets.

    >>> layer = ag.nn.Linear(3, 2)
    >>> layer(ag.tensor(np.ones((5, 3)))).shape
    (5, 2)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float64):
        for argument, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Linear: {argument} must be a non-negative integer, got {value!r}")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be a floating dtype, got {dtype}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
        weight = _generator.uniform(-bound, bound, (out_features, in_features))
        self.weight = Tensor(weight.astype(dtype), requires_grad=True)
        if bias:
            self.bias = Tensor(_generator.uniform(-bound, bound, out_features).astype(dtype),
                               requires_grad=True)
        else:
            self.bias = None

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor._constant(np.asarray(x))
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear(in_features={self.in_features}, out_features={self.out_features}) "
                f"expects input of shape (..., {self.in_features}), got {primitives.describe(x)}"
            )
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(Module):
    """max(x, 0) elementwise; any shape."""

    def forward(self, x):
        return primitives.relu(x)


class Tanh(Module):
    """tanh(x) elementwise; any shape."""

    def forward(self, x):
        return primitives.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise; any shape."""

    def forward(self, x):
        return primitives.sigmoid(x)


class Sequential(Module):
    """Apply layers one after another; layer ``i`` is stored as attribute ``"i"``.

    Layers are Modules or any callables (``ag.relu`` works too). Parameter names
    follow PyTorch: ``"0.weight"``, ``"0.bias"``, ...

    >>> model = ag.nn.Sequential(ag.nn.Linear(64, 128), ag.nn.ReLU(), ag.nn.Linear(128, 10))
    >>> model(ag.tensor(np.zeros((32, 64)))).shape
    (32, 10)
    """

    def __init__(self, *layers):
        for index, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {index} is not callable: {layer!r:.80}")
            setattr(self, str(index), layer)

    def _layers(self):
        return [value for name, value in vars(self).items() if name.isdigit()]

    def __len__(self):
        return len(self._layers())

    def __iter__(self):
        return iter(self._layers())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self._layers()[index])
        return self._layers()[index]

    def forward(self, x):
        for layer in self._layers():
            x = layer(x)
        return x


class MLP(Sequential):
    """Linear layers of the given ``sizes`` with ``activation`` between them (not after the last).

    ``activation`` is a Module class (``ReLU``, ``Tanh``, ``Sigmoid``; one instance is made
    per gap) or any callable. Shapes: (..., sizes[0]) -> (..., sizes[-1]).

    >>> model = ag.nn.MLP([2, 16, 16, 1], activation=ag.nn.Tanh)
    >>> [name for name, _ in model.named_parameters()][:3]
    ['0.weight', '0.bias', '2.weight']
    """

    def __init__(self, sizes, activation=ReLU, bias=True, dtype=np.float64):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least two sizes (inputs and outputs), got {sizes}")
        layers = []
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if index > 0:
                layers.append(activation() if isinstance(activation, type) else activation)
            layers.append(Linear(fan_in, fan_out, bias=bias, dtype=dtype))
        super().__init__(*layers)
        self.sizes = sizes
