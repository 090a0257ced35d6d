"""Modules and layers, with PyTorch's habits.

A ``Module`` needs no registration: its Tensors are the ones it holds in
attributes (also inside lists, tuples and dicts), and its sub-modules are the
Modules it holds the same way. Both are found by walking the attributes in the
order they were assigned, so names and order are deterministic. Tensors that
require grad are its parameters (what an optimizer trains); the others, such as
an integer index table, are buffers. ``state_dict``, ``save`` and ``load`` cover both:

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
import zipfile

import numpy as np

from autograd import creation, primitives
from autograd.nn import functional as F, init
from autograd.tensors import Tensor

__all__ = [
    "manual_seed", "Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Sequential", "MLP",
    "Conv2d", "MaxPool2d", "AvgPool2d", "Embedding", "LayerNorm", "Dropout", "GELU", "SiLU",
    "LeakyReLU", "ELU", "Softplus", "Flatten", "Identity", "ModuleList", "ModuleDict",
]

# One seeded generator for the whole package (autograd/creation.py): ag.manual_seed(0)
# fixes layer initialisation and ag.randn alike.
manual_seed = creation.manual_seed


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

    >>> import autograd as ag, numpy as np
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

    training = True  # read by layers that behave differently in training (Dropout)

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

    def _named_tensors(self):
        """(dotted name, Tensor) for every Tensor held here or below, each once (first name)."""
        seen = set()
        for module_name, module in self.named_modules():
            for name, value in module._attribute_items():
                if isinstance(value, Tensor) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self):
        """(dotted name, Tensor) for every Tensor that requires grad, held here or below.

        These are what an optimizer trains (``Adam(model.parameters())``). A Tensor
        reachable twice (a shared layer) is listed once, under its first name. Tensors
        that do not require grad (an integer index table, a fixed mask) are buffers:
        see ``named_buffers``. The split is made when you ask, so setting
        ``requires_grad = False`` on a parameter makes it a buffer (a frozen layer
        is then left out of an optimizer built afterwards).
        """
        for name, tensor in self._named_tensors():
            if tensor.requires_grad:
                yield name, tensor

    def parameters(self):
        """The Tensors of ``named_parameters()``, in the same order (a list)."""
        return [tensor for _, tensor in self.named_parameters()]

    def named_buffers(self):
        """(dotted name, Tensor) for every Tensor held here or below that does not require grad.

        Buffers are saved and loaded with the parameters (``state_dict``) but not trained,
        like PyTorch's buffers.

        >>> import autograd as ag, numpy as np
        >>> class Lookup(ag.nn.Module):
        ...     def __init__(self):
        ...         self.table = ag.tensor([[0.5, 1.5]], requires_grad=True)
        ...         self.rows = ag.tensor([0, 0, 0])     # int64: a buffer
        >>> [name for name, _ in Lookup().named_buffers()], len(Lookup().parameters())
        (['rows'], 1)
        """
        for name, tensor in self._named_tensors():
            if not tensor.requires_grad:
                yield name, tensor

    def buffers(self):
        """The Tensors of ``named_buffers()``, in the same order (a list)."""
        return [tensor for _, tensor in self.named_buffers()]

    def _state_tensors(self):
        """{name: Tensor} for the state: parameters and buffers; refuses ambiguous names.

        Names are built from attribute names and container keys, so two different
        Tensors can get one name (``{"a.b": t}`` and ``{"a": {"b": u}}``); a dict keyed by
        name would silently keep only one of them.
        """
        tensors, counts = {}, {}
        for name, tensor in self._named_tensors():
            counts[name] = counts.get(name, 0) + 1
            tensors.setdefault(name, tensor)
        clashes = {name: count for name, count in counts.items() if count > 1}
        if clashes:
            listed = ", ".join(f"{name!r} ({count} tensors)" for name, count in clashes.items())
            raise ValueError(
                f"{type(self).__name__}: these names are given to more than one Tensor, so "
                f"saving and loading could not tell them apart: {listed}. Rename an attribute "
                "or a dict key (dots in keys are what usually collide).")
        return tensors

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
        """{dotted name: copy of the array} for every parameter and buffer.

        As in PyTorch the state holds the buffers too (Tensors that do not require grad,
        such as an integer index table), so ``save``/``load`` restore a module whole.
        Order: the order Tensors are found in (attributes in assignment order, depth
        first), which for layers is PyTorch's order.

        >>> import autograd as ag, numpy as np
        >>> _ = ag.manual_seed(0)
        >>> list(ag.nn.Linear(3, 2).state_dict().items())[0][1].shape   # (out, in)
        (2, 3)
        """
        return {name: np.array(tensor.data) for name, tensor in self._state_tensors().items()}

    def load_state_dict(self, state):
        """Copy arrays from ``state`` into the parameters and buffers, in place.

        The keys must be exactly those of ``state_dict()`` and every shape must match;
        values are cast to each tensor's dtype (an integer buffer refuses values it
        cannot hold exactly). Writes go into the existing arrays, so optimizers and
        anything else holding them see the new values, and each one is a tracked write
        (like ``p.data = ...``): a graph recorded before the load refuses to run backward.
        Everything is checked before anything is changed.
        """
        tensors = self._state_tensors()
        missing = [name for name in tensors if name not in state]
        unexpected = [name for name in state if name not in tensors]
        if missing or unexpected:
            raise KeyError(
                f"load_state_dict: keys do not match this {type(self).__name__}; "
                f"missing {missing}, unexpected {unexpected}. Expected keys: {list(tensors)}"
            )
        arrays = {}
        for name, tensor in tensors.items():  # check everything before changing anything
            arrays[name] = _state_array(name, state[name], tensor)
        for name, tensor in tensors.items():
            data = tensor.data
            if type(data) is np.ndarray and data.flags.writeable:
                data[...] = arrays[name]  # same array: whoever holds it sees the new values
            else:
                data = arrays[name]       # a NumPy scalar (0-d) or a read-only array
            tensor.data = data            # the setter records the write (a new version)

    def save(self, path):
        """Write ``state_dict()`` to an ``.npz`` archive: a path (``.npz`` is added if missing)
        or a binary file open for writing.

        Each array is stored as ``<name>.npy`` (the ``.npz`` layout ``np.load`` reads), written
        member by member, so any name works, including ``file`` or ``allow_pickle`` that
        ``np.savez(path, **state)`` would take as its own arguments. Nothing is pickled.
        """
        state = self.state_dict()
        # ZIP_STORED as np.savez does: parameters barely compress, and storing is fast.
        with zipfile.ZipFile(_npz_path(path), mode="w", compression=zipfile.ZIP_STORED,
                             allowZip64=True) as archive:
            for name, array in state.items():
                # force_zip64: the size is not known before writing; members may pass 2 GiB.
                with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    def load(self, path):
        """Read an archive written by ``save`` into this module (see ``load_state_dict``).

        ``path`` is a path (``"weights"`` finds ``"weights.npz"``, as ``save`` names it) or a
        binary file open for reading. A missing file, a ``.npy`` file, or a file that is
        not such an archive raise an error saying so. Returns self.

        >>> import autograd as ag, numpy as np
        >>> import io
        >>> buffer = io.BytesIO()
        >>> _ = ag.manual_seed(0); ag.nn.Linear(2, 1).save(buffer); _ = buffer.seek(0)
        >>> _ = ag.manual_seed(1); ag.nn.Linear(2, 1).load(buffer).weight.shape
        (1, 2)
        """
        self.load_state_dict(_read_archive(path))
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
        return path  # an open file: written/read as is
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def _state_array(name, value, tensor):
    """``value`` from a state dict as an array for ``tensor``: its shape, cast to its dtype."""
    array = np.asarray(value)
    if array.shape != tensor.shape:
        raise ValueError(f"load_state_dict: {name!r} has shape {array.shape} in the state "
                         f"but the module's tensor has shape {tensor.shape}")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"load_state_dict: {name!r} must hold numbers, got dtype {array.dtype}")
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or 1e30 -> int: refused below
        cast = array.astype(tensor.dtype)
    if tensor.dtype.kind != "f" and array.dtype != tensor.dtype:
        # float -> int would truncate 0.5 to 0 without a word; an index table must stay exact
        with np.errstate(invalid="ignore"):
            exact = np.array_equal(cast, array)
        if not exact:
            raise ValueError(f"load_state_dict: {name!r} is a buffer of dtype {tensor.dtype}, which "
                             f"cannot hold the given {array.dtype} values exactly")
    return cast[()] if cast.ndim == 0 else cast  # 0-d stays a NumPy scalar, as in Tensor()


_NPY_MAGIC = b"\x93NUMPY"


def _describe_source(source):
    """An open file as the user would recognise it: its type, and its name if it has one."""
    name = getattr(source, "name", None)
    return f"an open {type(source).__name__}" + (f" ({name!r})" if isinstance(name, str) else "")


def _read_archive(path):
    """{name: array} from an archive written by ``Module.save``, or an error naming the file."""
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        # ``save("w")`` writes "w.npz"; an exact name (also "w.npy") is read as given.
        tried = [path] if path.endswith(".npz") else [path + ".npz", path]
        found = next((candidate for candidate in tried if os.path.exists(candidate)), None)
        if found is None:
            raise FileNotFoundError(
                f"Module.load: no file at {' or '.join(repr(t) for t in tried)}; expected an "
                ".npz archive written by Module.save")
        with open(found, "rb") as handle:
            return _read_open_archive(handle, repr(found))
    return _read_open_archive(path, _describe_source(path))


def _read_open_archive(handle, described):
    expected = "expected an .npz archive written by Module.save (one .npy array per name)"
    start = handle.tell()
    head = handle.read(len(_NPY_MAGIC))
    handle.seek(start)
    if head == _NPY_MAGIC:
        raise ValueError(f"Module.load: {expected}, but {described} is a .npy file (a single "
                         "array, as np.save writes), with no names to match parameters to")
    if not zipfile.is_zipfile(handle):
        raise ValueError(f"Module.load: {expected}, but {described} is not a zip archive")
    handle.seek(start)
    state = {}
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile as error:
        raise ValueError(f"Module.load: {expected}, but {described} is not a zip archive "
                         f"that can be read ({error})") from None
    with archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                raise ValueError(f"Module.load: {expected}, but in {described} the member "
                                 f"{member!r} is not a .npy array")
            name = member[: -len(".npy")]
            with archive.open(member) as stream:
                try:
                    state[name] = np.lib.format.read_array(stream, allow_pickle=False)
                except ValueError as error:
                    kind = "an object array (pickled Python objects), which is never loaded" \
                        if "allow_pickle" in str(error) else f"unreadable ({error})"
                    raise ValueError(f"Module.load: {name!r} in {described} is {kind}; "
                                     f"{expected}") from None
    return state


class Linear(Module):
    """y = x @ weight.T + bias, with ``weight`` of shape (out_features, in_features).

    Shapes: x (..., in_features) -> y (..., out_features). Weight and bias start
    uniform in ±1/sqrt(in_features), as in PyTorch, drawn from the generator that
    ``ag.manual_seed`` sets.

    ``dtype`` (float64 by default, NumPy's default) is the parameters' dtype. Input and
    weights of different float dtypes meet by NumPy's rules: a float32 input to a float64
    layer gives float64 outputs (and float64 gradients flow back, cast to float32 for the
    input). Build the layer with ``dtype=np.float32`` to compute in float32 throughout.

    >>> import autograd as ag, numpy as np
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
        weight = creation.generator().uniform(-bound, bound, (out_features, in_features))
        self.weight = Tensor(weight.astype(dtype), requires_grad=True)
        if bias:
            self.bias = Tensor(creation.generator().uniform(-bound, bound, out_features).astype(dtype),
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
    """max(x, 0) elementwise: any shape in, the same shape out (gradient 0 at x = 0, as
    PyTorch).

    >>> import autograd as ag
    >>> ag.nn.ReLU()(ag.tensor([-2.0, 0.0, 1.0]))
    Tensor([0., 0., 1.], dtype=float64)
    >>> ag.nn.ReLU()(ag.zeros((2, 3, 4))).shape
    (2, 3, 4)
    """

    def forward(self, x):
        return primitives.relu(x)


class Tanh(Module):
    """tanh(x) elementwise: any shape in, the same shape out.

    >>> import autograd as ag
    >>> ag.nn.Tanh()(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([-0.964 ,  0.    ,  0.7616], dtype=float64)
    """

    def forward(self, x):
        return primitives.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise: any shape in, the same shape out.

    >>> import autograd as ag
    >>> ag.nn.Sigmoid()(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([0.1192, 0.5   , 0.7311], dtype=float64)
    """

    def forward(self, x):
        return primitives.sigmoid(x)


class Sequential(Module):
    """Apply layers one after another; layer ``i`` is stored as attribute ``"i"``.

    Layers are Modules or any callables (``ag.relu`` works too). Parameter names
    follow PyTorch: ``"0.weight"``, ``"0.bias"``, ...

    >>> import autograd as ag, numpy as np
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
    per gap) or any callable. Shapes: (..., sizes[0]) -> (..., sizes[-1]). ``dtype`` is the
    parameters' dtype, float64 by default, as for ``Linear`` (pass ``np.float32`` to train
    in float32; a float32 input to float64 layers is computed in float64).

    >>> import autograd as ag, numpy as np
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


# ---------------------------------------------------------------------------
# Layers over autograd.nn.functional (PyTorch's names, defaults and initialisations).
# ---------------------------------------------------------------------------

def _floating_dtype(dtype, layer):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{layer}: dtype must be a floating dtype, got {dtype}")
    return dtype


def _positive_int(value, layer, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{layer}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_input(x):
    return x if isinstance(x, Tensor) else Tensor._constant(np.asarray(x))


def _calling(layer, function, *args, **kwargs):
    """``function(*args)``, with an error re-raised under the layer's name."""
    try:
        return function(*args, **kwargs)
    except (ValueError, TypeError, IndexError) as error:
        raise type(error)(f"{layer!r}: {error}") from None


class Conv2d(Module):
    """2-D convolution over NCHW images: ``F.conv2d(x, weight, bias, ...)``.

    weight (out_channels, in_channels / groups, kh, kw) and bias (out_channels,) start
    uniform in ±1/sqrt(fan_in), fan_in = in_channels / groups * kh * kw (PyTorch's
    ``kaiming_uniform_(a=sqrt(5))``), from the ``ag.manual_seed`` generator. Input
    (N, in_channels, H, W) or (C, H, W).

    >>> import autograd as ag, numpy as np
    >>> conv = ag.nn.Conv2d(3, 8, 3, padding=1)
    >>> conv(ag.zeros((2, 3, 16, 16))).shape, conv.weight.shape
    ((2, 8, 16, 16), (8, 3, 3, 3))
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=np.float64):
        name = "Conv2d"
        self.in_channels = _positive_int(in_channels, name, "in_channels")
        self.out_channels = _positive_int(out_channels, name, "out_channels")
        self.groups = _positive_int(groups, name, "groups")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode {padding_mode!r} is not supported "
                                      "(only 'zeros')")
        self.kernel_size = F._int_pair(kernel_size, name, "kernel_size", 1)
        self.stride = F._int_pair(stride, name, "stride", 1)
        self.padding = padding if isinstance(padding, str) else F._int_pair(padding, name, "padding", 0)
        self.dilation = F._int_pair(dilation, name, "dilation", 1)
        dtype = _floating_dtype(dtype, name)
        self.weight = Tensor(np.zeros((out_channels, in_channels // groups, *self.kernel_size),
                                      dtype), requires_grad=True)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            fan_in = in_channels // groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            self.bias = init.uniform_(Tensor(np.zeros(out_channels, dtype), requires_grad=True),
                                      -bound, bound)
        else:
            self.bias = None

    def forward(self, x):
        x = _as_input(x)
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ValueError(f"{self!r} expects input of shape (N, {self.in_channels}, H, W) or "
                             f"({self.in_channels}, H, W), got {primitives.describe(x)}")
        return _calling(self, F.conv2d, x, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class MaxPool2d(Module):
    """``F.max_pool2d`` as a layer (no parameters); stride defaults to kernel_size.

    >>> import autograd as ag
    >>> ag.nn.MaxPool2d(2)(ag.zeros((1, 3, 8, 8))).shape
    (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        # check the arguments now, not at the first call
        F._int_pair(kernel_size, "MaxPool2d", "kernel_size", 1)
        if stride is not None:
            F._int_pair(stride, "MaxPool2d", "stride", 1)
        F._int_pair(padding, "MaxPool2d", "padding", 0)

    def forward(self, x):
        return _calling(self, F.max_pool2d, _as_input(x), self.kernel_size, self.stride,
                        self.padding, self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """``F.avg_pool2d`` as a layer (no parameters).

    >>> import autograd as ag
    >>> ag.nn.AvgPool2d(2)(ag.ones((1, 1, 4, 4))).data[0, 0]
    array([[1., 1.],
           [1., 1.]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override
        F._int_pair(kernel_size, "AvgPool2d", "kernel_size", 1)
        if stride is not None:
            F._int_pair(stride, "AvgPool2d", "stride", 1)
        F._int_pair(padding, "AvgPool2d", "padding", 0)

    def forward(self, x):
        return _calling(self, F.avg_pool2d, _as_input(x), self.kernel_size, self.stride,
                        self.padding, self.ceil_mode, self.count_include_pad,
                        self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by integer
    indices of any shape: (*indices.shape) -> (*indices.shape, embedding_dim).

    The weight starts N(0, 1) (PyTorch's default), the ``padding_idx`` row zero; that row
    gets no gradient.

    >>> import autograd as ag, numpy as np
    >>> table = ag.nn.Embedding(10, 3)
    >>> table(np.array([[1, 2], [4, 9]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=np.float64):
        name = "Embedding"
        self.num_embeddings = _positive_int(num_embeddings, name, "num_embeddings", 0)
        self.embedding_dim = _positive_int(embedding_dim, name, "embedding_dim", 0)
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) \
                    or not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"{name}: padding_idx must be an integer in [-{num_embeddings}, "
                                 f"{num_embeddings}), got {padding_idx!r}")
            padding_idx = int(padding_idx) % num_embeddings
        self.padding_idx = padding_idx
        dtype = _floating_dtype(dtype, name)
        self.weight = init.normal_(Tensor(np.zeros((num_embeddings, embedding_dim), dtype),
                                          requires_grad=True))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices):
        return _calling(self, F.embedding, indices, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes (``F.layer_norm``); weight ones
    and bias zeros of that shape when ``elementwise_affine``.

    >>> import autograd as ag, numpy as np
    >>> norm = ag.nn.LayerNorm(4)
    >>> norm(ag.tensor(np.arange(8.0).reshape(2, 4))).data.mean(axis=-1)
    array([0., 0.])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float64):
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        for side in shape:
            _positive_int(side, "LayerNorm", "normalized_shape entries", 0)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape needs at least one axis, got ()")
        self.normalized_shape = tuple(int(side) for side in shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = _floating_dtype(dtype, "LayerNorm")
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Tensor(np.ones(self.normalized_shape, dtype), requires_grad=True)
            if bias:
                self.bias = Tensor(np.zeros(self.normalized_shape, dtype), requires_grad=True)

    def forward(self, x):
        x = _as_input(x)
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            raise ValueError(f"{self!r} expects input of shape (..., "
                             f"{', '.join(map(str, self.normalized_shape))}), got "
                             f"{primitives.describe(x)}")
        return _calling(self, F.layer_norm, x, self.normalized_shape, self.weight, self.bias,
                        self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class Dropout(Module):
    """Zero entries with probability ``p`` and scale the rest by 1 / (1 - p) in training;
    the identity after ``eval()``. The mask comes from the ``ag.manual_seed`` generator.

    >>> import autograd as ag
    >>> layer = ag.nn.Dropout(0.5).eval()
    >>> layer(ag.ones(3)).data
    array([1., 1., 1.])
    """

    def __init__(self, p=0.5, inplace=False):
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) \
                or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p (the probability of an element being zeroed) must be "
                             f"between 0 and 1, got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, x):
        return F.dropout(_as_input(x), self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class GELU(Module):
    """``F.gelu``: x Phi(x) elementwise (Phi the standard normal CDF), exact (erf) or
    ``approximate="tanh"``; any shape in, the same shape out.

    >>> import autograd as ag
    >>> ag.nn.GELU()(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([-0.0455,  0.    ,  0.8413], dtype=float64)
    >>> ag.nn.GELU(approximate="tanh")(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([-0.0454,  0.    ,  0.8412], dtype=float64)
    """

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(_as_input(x), self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """``F.silu``: x sigmoid(x) elementwise; any shape in, the same shape out.

    >>> import autograd as ag
    >>> ag.nn.SiLU()(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([-0.2384,  0.    ,  0.7311], dtype=float64)
    """

    def forward(self, x):
        return F.silu(_as_input(x))


class LeakyReLU(Module):
    """``F.leaky_relu``: x where x > 0, else negative_slope x; any shape in, the same
    shape out (``inplace`` is accepted and ignored).

    >>> import autograd as ag
    >>> ag.nn.LeakyReLU(0.1)(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([-0.2,  0. ,  1. ], dtype=float64)
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(_as_input(x), self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``F.elu``: x where x > 0, else alpha (e^x - 1); any shape in, the same shape out
    (``inplace`` is accepted and ignored).

    >>> import autograd as ag
    >>> ag.nn.ELU()(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([-0.8647,  0.    ,  1.    ], dtype=float64)
    """

    def __init__(self, alpha=1.0, inplace=False):
        self.alpha = float(alpha)

    def forward(self, x):
        return F.elu(_as_input(x), self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Softplus(Module):
    """``F.softplus``: log(1 + e^(beta x)) / beta, x where beta x > threshold; any shape
    in, the same shape out.

    >>> import autograd as ag
    >>> ag.nn.Softplus()(ag.tensor([-2.0, 0.0, 1.0])).round(4)
    Tensor([0.1269, 0.6931, 1.3133], dtype=float64)
    """

    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        return F.softplus(_as_input(x), self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Flatten(Module):
    """Merge the axes ``start_dim`` .. ``end_dim`` (inclusive) into one.

    >>> import autograd as ag
    >>> ag.nn.Flatten()(ag.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        x = _as_input(x)
        ndim = max(x.ndim, 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim) or start % ndim > end % ndim:
            raise ValueError(f"{self!r}: start_dim {start} and end_dim {end} do not name a range "
                             f"of axes of an input of {primitives.describe(x)}")
        if x.ndim == 0:
            return primitives.reshape(x, (1,))
        start, end = start % ndim, end % ndim
        shape = x.shape[:start] + (math.prod(x.shape[start: end + 1]),) + x.shape[end + 1:]
        return primitives.reshape(x, shape)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """Returns its input unchanged (arguments to the constructor are ignored, as in PyTorch).

    >>> import autograd as ag
    >>> x = ag.zeros((2, 3))
    >>> ag.nn.Identity(54, unused="yes")(x) is x
    True
    """

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, x):
        return x


def _module(value, container, where):
    if not isinstance(value, Module):
        raise TypeError(f"{container}: {where} must be a Module, got {type(value).__name__}")
    return value


class ModuleList(Module):
    """A list of modules whose parameters are found like attributes ``"0"``, ``"1"``, ...

    >>> import autograd as ag
    >>> layers = ag.nn.ModuleList([ag.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), [name for name, _ in layers.named_parameters()][:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules=None):
        self._list = []
        if modules is not None:
            self.extend(modules)

    def _attribute_items(self):
        for index, module in enumerate(self._list):
            yield str(index), module

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(list(self._list))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._list[index])
        return self._list[index]

    def __setitem__(self, index, module):
        self._list[index] = _module(module, "ModuleList", f"item {index}")

    def __delitem__(self, index):
        del self._list[index]

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self._list.append(_module(module, "ModuleList", f"item {len(self._list)}"))
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        self._list.insert(index, _module(module, "ModuleList", f"item {index}"))


class ModuleDict(Module):
    """A dict of modules (string keys) whose parameters are named ``"<key>.<name>"``.

    >>> import autograd as ag
    >>> heads = ag.nn.ModuleDict({"a": ag.nn.Linear(2, 1), "b": ag.nn.Linear(2, 3)})
    >>> list(heads.keys()), heads["b"].out_features
    (['a', 'b'], 3)
    """

    def __init__(self, modules=None):
        self._dict = {}
        if modules is not None:
            self.update(modules)

    def _attribute_items(self):
        yield from self._dict.items()

    def __len__(self):
        return len(self._dict)

    def __iter__(self):
        return iter(list(self._dict))

    def __contains__(self, key):
        return key in self._dict

    def __getitem__(self, key):
        return self._dict[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {type(key).__name__}")
        self._dict[key] = _module(module, "ModuleDict", f"the value for {key!r}")

    def __delitem__(self, key):
        del self._dict[key]

    def keys(self):
        return self._dict.keys()

    def values(self):
        return self._dict.values()

    def items(self):
        return self._dict.items()

    def pop(self, key):
        return self._dict.pop(key)

    def clear(self):
        self._dict.clear()

    def update(self, modules):
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module


def __dir__():  # what the module offers, not the modules it imports (np, math, os)
    return sorted(__all__)
