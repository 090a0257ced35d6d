"""Functional transforms: grad, value_and_grad, vjp, jacobian, hessian, hvp.

Each transform takes a function ``f`` of tensors and returns a new function (``vjp``
returns the output and a function). It calls ``f`` on fresh tensors that require
grad, one per differentiated argument, then runs the tape backwards with
``tape.gradients``: nothing is accumulated into any ``.grad``.

Higher order comes from one rule. When someone outside the call may differentiate
the result (an enclosing transform, an argument that requires grad, or a tensor
that ``f`` closes over and that requires grad), the backward pass runs with
``create_graph=True``: the VJPs are recorded like any other operation, and the
enclosing level differentiates through them. A plain first-order call runs the
backward pass on raw arrays and records nothing.

An argument that already requires grad is not cut off: its fresh tensor is linked
to it by an ``identity`` node, so ``grad(grad(f))`` and ``loss(grad(f)(x))``
differentiate all the way back.

Arguments may be containers, as in HIPS autograd and JAX: a (nested) dict, list or
tuple of arrays and tensors is differentiated leaf by leaf and its gradient has the
same structure (``grad(loss)(params)`` with ``params`` a dict of weights). A list or
tuple of plain Python numbers only (``[1.0, 2.0]``, ``[[1.0, 2.0], [3.0, 4.0]]``) is
one array, as NumPy reads it.

Nothing leaves silently: while f runs, a tensor that requires grad cannot be turned
into a plain array or number (tensors.py refuses, naming the fix), and a function
whose output does not depend on its differentiated arguments gets a
:class:`IndependentOutputWarning` along with its zero gradient, as HIPS warns.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from autograd import tape
from autograd.primitives import describe, reshape, stack
from autograd.tensors import Tensor, numeric_array, tracing

__all__ = ["grad", "value_and_grad", "elementwise_grad", "vjp", "jacobian", "hessian", "hvp",
           "IndependentOutputWarning"]

# How many transforms are running f in this thread right now (``.depth``); kept in
# tensors.py, whose conversions (``np.asarray(x)``, ``float(x)``) refuse while f runs.
_nesting = tracing


class IndependentOutputWarning(UserWarning):
    """A transformed function's output does not depend on the arguments being
    differentiated: the gradient is zero (HIPS autograd warns the same way)."""


# ---------------------------------------------------------------------------
# Shared machinery: fresh inputs, running f, the backward pass.
# ---------------------------------------------------------------------------

def _identity_vjp(g, out, x):
    return g


def _choose_argnums(argnums, argnum, name):
    """``argnums``, or HIPS's spelling ``argnum`` (one of the two, not two different values)."""
    if argnum is None:
        return argnums
    if argnums != 0 and argnums != argnum:
        raise TypeError(f"{name}: got argnums={argnums!r} and argnum={argnum!r}; pass one of "
                        "them (argnum is HIPS autograd's spelling of argnums)")
    return argnum


def _parse_argnums(argnums, name):
    """(positions, single): ``argnums`` as a tuple, and whether it was a single int."""
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        return (int(argnums),), True
    if isinstance(argnums, (tuple, list)) and argnums and all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in argnums
    ):
        return tuple(int(a) for a in argnums), False
    raise TypeError(f"{name}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")


def _resolve_positions(positions, argument_count, name, kwargs=(), note=""):
    """``positions`` as indices into f's positional arguments (negative ones counted from
    the end), or a ValueError naming the transform, the position and the count."""
    resolved = []
    for position in positions:
        if not -argument_count <= position < argument_count:
            hint = ""
            if kwargs:  # the usual cause: the argument was passed by keyword
                hint = (f"; keyword arguments ({', '.join(kwargs)}) are passed to f unchanged, "
                        "never differentiated: pass the argument positionally")
            raise ValueError(
                f"{name}: argnums asks for positional argument {position}, but f was "
                f"{'given' if note else 'called with'} {argument_count} positional "
                f"argument(s){note}{hint}"
            )
        resolved.append(position % argument_count)
    return resolved


def _argument_array(value, name, position):
    """A differentiated argument's values as an array (not checked for floats yet)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, np.generic, float, int)):
        return np.asarray(value)
    # lists, strings, None...: the engine's one conversion names what is wrong
    return numeric_array(value, name=f"{name}: argument {position}", copy=False)


def _fresh_input(value, link, name, position):
    """A tensor that requires grad holding ``value``; (tensor, linked to value?)."""
    if isinstance(value, Tensor) and link and value.requires_grad:
        # Keep the path back to ``value`` so an outer level can differentiate through us.
        return Tensor._from_op(value.data, (value,), (_identity_vjp,), "identity"), True
    data = _argument_array(value, name, position)
    if data.dtype.kind != "f":
        raise TypeError(
            f"{name}: argument {position} is differentiated, so it must hold floats; got "
            f"{describe(data)}. Pass floats (3.0 rather than 3), or np.asarray(x, dtype=float)."
        )
    return Tensor(data, requires_grad=True), False


# ---------------------------------------------------------------------------
# Containers: arguments (and outputs) that are dicts, lists and tuples of arrays.
# ---------------------------------------------------------------------------

_NUMBERS = (bool, int, float)
_CONTAINERS = (dict, list, tuple)


def _numbers_only(sequence):
    """Whether a list or tuple holds (nested) Python numbers only: then it is one array."""
    pending = [sequence]
    while pending:
        item = pending.pop()
        if isinstance(item, (list, tuple)):
            pending.extend(item)
        elif type(item) not in _NUMBERS:
            return False
    return True


def _flatten(value, path, leaves, sequences_of_numbers_are_arrays=True):
    """Append ``(path, leaf)`` for every leaf of ``value`` to ``leaves``; return the
    structure that :func:`_rebuild` fills back in (None for a leaf).

    Dicts, lists and tuples (named tuples too) are containers, except that a list or
    tuple of Python numbers only is one array (``[1.0, 2.0]``: NumPy's reading).
    """
    if isinstance(value, dict):
        keys = list(value)
        return (type(value), keys, [_flatten(value[k], f"{path}[{k!r}]", leaves,
                                             sequences_of_numbers_are_arrays) for k in keys])
    if isinstance(value, (list, tuple)) and not (sequences_of_numbers_are_arrays
                                                 and _numbers_only(value)):
        return (type(value), None, [_flatten(v, f"{path}[{i}]", leaves,
                                             sequences_of_numbers_are_arrays)
                                    for i, v in enumerate(value)])
    leaves.append((path, value))
    return None


def _rebuild(structure, leaves):
    """The container ``structure`` (from :func:`_flatten`) with the next items of the
    iterator ``leaves`` in place of its leaves."""
    if structure is None:
        return next(leaves)
    kind, keys, parts = structure
    items = [_rebuild(part, leaves) for part in parts]
    if keys is not None:
        mapping = dict(zip(keys, items))
        return mapping if kind is dict else kind(mapping)
    if kind is list or kind is tuple:
        return kind(items)
    if hasattr(kind, "_fields"):  # a named tuple
        return kind(*items)
    return kind(items)


def _map_tensors(function, value):
    """``value`` with ``function`` applied to every Tensor inside its dicts, lists and tuples."""
    if isinstance(value, Tensor):
        return function(value)
    if isinstance(value, (dict, list, tuple)):
        leaves = []
        structure = _flatten(value, "", leaves, sequences_of_numbers_are_arrays=False)
        return _rebuild(structure, iter([function(v) if isinstance(v, Tensor) else v
                                         for _, v in leaves]))
    return value


def _as_output(value, name):
    """``f``'s result as a floating Tensor (numbers and arrays become constants).

    An integer or bool result (a comparison, a count, the literal ``0``) has no derivative;
    differentiating it would give zeros without a word, so it is refused, as JAX and
    torch refuse it.
    """
    if isinstance(value, Tensor):
        output = value
    elif isinstance(value, (int, float, np.ndarray, np.generic)) and \
            np.asarray(value).dtype.kind in "fiub":
        output = Tensor._constant(np.asarray(value))
    else:
        raise TypeError(f"{name}: f must return a Tensor (or a number or numeric array), got "
                        f"{type(value).__name__}: {value!r:.80}")
    if output.dtype.kind != "f":
        raise TypeError(
            f"{name}: f must return a floating-point tensor, got {describe(output)}, which has "
            "no derivative (a comparison or a count is piecewise constant). Return the float "
            "quantity itself, or cast it (out.astype(np.float64)) if zero gradients are meant."
        )
    return output


def _walk_from(outputs, inputs):
    """(depends, reaches_outside) for the graph of ``outputs``, walked back to ``inputs``.

    ``depends``: some output depends on some input. ``reaches_outside``: the graph reaches
    a tensor requiring grad that is not an input. That tensor belongs to someone else (a
    closed-over parameter, an earlier computation), who may want to differentiate our
    result or reuse the graph. One walk answers both; it stops once both are True.
    """
    inside = {id(t) for t in inputs}
    depends = outside = False
    pending = []
    for t in outputs:
        if id(t) in inside:
            depends = True
        elif t.requires_grad:
            pending.append(t)
    seen = inside | {id(t) for t in pending}
    while pending:
        node = pending.pop()
        if node._vjps is None or node._vjps is tape.RELEASED:
            outside = True
            if depends:
                return True, True
            continue
        for parent in node._parents:
            if parent.requires_grad:
                if id(parent) in inside:
                    depends = True
                    if outside:
                        return True, True
                elif id(parent) not in seen:
                    seen.add(id(parent))
                    pending.append(parent)
    return depends, outside


def _warn_independent(name, f):
    warnings.warn(
        f"{name}: the output of {getattr(f, '__name__', 'f')} does not depend on the arguments "
        "being differentiated, so the gradient is zero. If that is unexpected, look for a "
        "constant result, an argnums pointing at the wrong argument, or a value that left "
        "the tape (x.data, x.detach(), ag.no_grad())", IndependentOutputWarning, stacklevel=4)


class _Trace:
    """``f`` called on fresh inputs, and how its backward passes must run.

    outputs        f's result: a Tensor, or a tuple of Tensors (``output_structure`` says
                   how a dict, list or nested result is put back together)
    aux            with ``has_aux``: the second item f returned (tensors cut from the tape
                   unless someone outside may differentiate them)
    inputs         the fresh tensors, one per leaf of each argnums entry, in argnums order
                   (an argument named twice, ``argnums=(0, 0)``, is one set of tensors listed
                   twice: f sees one argument, and each position gets the whole gradient)
    structures     per argnums entry, its container structure (None: one array)
    create_graph   record the VJPs (someone outside may differentiate the result)
    retain_graph   keep the graph after a backward pass (it reaches beyond this call)
    """

    __slots__ = ("outputs", "output_structure", "aux", "inputs", "structures",
                 "create_graph", "retain_graph")

    def __init__(self, name, f, args, kwargs, positions, has_aux=False, warn=True):
        positions = _resolve_positions(positions, len(args), name, kwargs)
        nested = _nesting.depth > 0
        watched = tape.is_grad_enabled()  # under no_grad, nothing outside records anything
        call_args = list(args)
        fresh_at, linked = {}, False
        _nesting.depth += 1
        try:
            with tape.enable_grad():
                for position in positions:
                    if position in fresh_at:
                        continue  # a repeat: the same tensors (a second set would get zeros)
                    value = args[position]
                    if not isinstance(value, _CONTAINERS):  # one array: the common case
                        tensor, was_linked = _fresh_input(value, watched, name, position)
                        fresh_at[position] = (None, (tensor,))
                        call_args[position] = tensor
                        linked = linked or was_linked
                        continue
                    leaves = []
                    structure = _flatten(value, str(position), leaves)
                    fresh = []
                    for path, leaf in leaves:
                        tensor, was_linked = _fresh_input(leaf, watched, name, path)
                        fresh.append(tensor)
                        linked = linked or was_linked
                    fresh_at[position] = (structure, fresh)
                    call_args[position] = _rebuild(structure, iter(fresh))
                result = f(*call_args, **kwargs)
        finally:
            _nesting.depth -= 1
        if has_aux:
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise TypeError(f"{name}(f, has_aux=True): f must return a pair (output, aux), "
                                f"got {type(result).__name__}: {result!r:.80}")
            result, self.aux = result
        else:
            self.aux = None
        if isinstance(result, _CONTAINERS):
            leaves = []
            self.output_structure = _flatten(result, "", leaves,
                                             sequences_of_numbers_are_arrays=False)
            flat = tuple(_as_output(r, name) for _, r in leaves)
            self.outputs = flat[0] if self.output_structure is None else flat
        else:
            self.output_structure = None
            self.outputs = _as_output(result, name)
            flat = (self.outputs,)
        self.structures = [fresh_at[p][0] for p in positions]
        self.inputs = [t for p in positions for t in fresh_at[p][1]]
        depends, reaches = _walk_from(flat, self.inputs)
        if warn and not depends and self.inputs:
            _warn_independent(name, f)
        outside = nested or linked or reaches
        self.create_graph = watched and outside
        self.retain_graph = outside
        if has_aux:
            self.aux = _map_tensors(self.value, self.aux)

    def regroup(self, per_input):
        """A flat list with one item per input tensor, put back into the arguments'
        structures: one item (a gradient, a Jacobian) per argnums entry."""
        items = iter(per_input)
        return [_rebuild(structure, items) for structure in self.structures]

    def rebuild_outputs(self, per_output):
        """One item per output tensor, put back into the structure f returned
        (lists come back as tuples, as before containers)."""
        if self.output_structure is None:
            return per_output[0]
        return _tuples(_rebuild(self.output_structure, iter(per_output)))

    def gradients(self, output, cotangent=None, retain_graph=None, create_graph=None):
        """d<output, cotangent>/d(input) for every input, as Tensors of the inputs' shapes."""
        create_graph = self.create_graph if create_graph is None else create_graph
        retain_graph = self.retain_graph if retain_graph is None else retain_graph
        distinct = list(dict.fromkeys(self.inputs))  # a repeated argnum is asked for once
        results = dict(zip(distinct, tape.gradients(output, distinct, grad=cotangent,
                                                     retain_graph=retain_graph,
                                                     create_graph=create_graph)))
        if create_graph:  # cast back (recorded) if f computed in a wider dtype
            return [results[x] if results[x].dtype == x.dtype else results[x].astype(x.dtype)
                    for x in self.inputs]
        gradients, handed_out = [], set()
        for x in self.inputs:
            array = _owned_array(results[x], x.dtype)
            if x in handed_out:
                array = array.copy()  # each position gets its own array to write into
            handed_out.add(x)
            gradients.append(Tensor._constant(array))
        return gradients

    def value(self, output):
        """The output to hand back: still on the tape only if someone outside may use it."""
        return output if self.create_graph else Tensor._constant(output.data)


def _tuples(value):
    """Lists inside a rebuilt output structure as tuples (jacobian's results are tuples)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return type(value)({k: _tuples(v) for k, v in value.items()}) if type(value) is dict \
            else value
    if type(value) is tuple:
        return tuple(_tuples(v) for v in value)
    return value


def _owned_array(g, dtype):
    """``g`` as a writable array of ``dtype`` that no one else holds (VJPs may return views)."""
    array = np.asarray(g, dtype=dtype)
    if not array.flags.writeable or not array.flags.owndata:
        array = array.copy()
    return array


def _scalar_output(output, name):
    if isinstance(output, tuple) or output.ndim != 0:
        got = (f"a tuple of {len(output)}" if isinstance(output, tuple)
               else f"a tensor of {describe(output)}")
        raise ValueError(
            f"{name}: f must return a scalar (a 0-d tensor), got {got}. For a non-scalar "
            "output use ag.vjp(f, *args) (vector-Jacobian product) or ag.jacobian(f) (the "
            "full Jacobian), or reduce it first, e.g. f(x).sum()."
        )
    return output


def _named(f, name):
    return f"{name}({getattr(f, '__name__', type(f).__name__)})"


def _value_and_grad_function(f, argnums, name, with_value, has_aux=False, summed=False,
                             warn=True):
    """The function behind grad, value_and_grad and elementwise_grad (``summed``: the
    gradient of f(x).sum(), pulled back with a cotangent of ones; f may return any shape).
    ``warn=False`` for the outer level of hessian and hvp: a gradient that does not depend
    on x means f is linear in x, and its zero second derivative is the true one."""
    positions, single = _parse_argnums(argnums, name)

    @functools.wraps(f)
    def transformed(*args, **kwargs):
        trace = _Trace(name, f, args, kwargs, positions, has_aux, warn)
        if summed:
            output = trace.outputs
            if isinstance(output, tuple):
                raise ValueError(f"{name}: f must return one tensor, got a tuple of "
                                 f"{len(output)}; differentiate each output separately")
            grads = trace.gradients(output, np.ones(output.shape, output.dtype))
        else:
            output = _scalar_output(trace.outputs, name)
            grads = trace.gradients(output)
        grads = trace.regroup(grads)
        grads = grads[0] if single else tuple(grads)
        if with_value:
            value = trace.value(output)
            return ((value, trace.aux) if has_aux else value), grads
        return (grads, trace.aux) if has_aux else grads

    transformed.__name__ = transformed.__qualname__ = _named(f, name)
    return transformed


# ---------------------------------------------------------------------------
# The transforms.
# ---------------------------------------------------------------------------

def grad(f, argnums=0, *, argnum=None, has_aux=False):
    """The gradient of a scalar function: ``grad(f)(*args)`` is df/d(args[argnums]).

    ``f`` takes tensors and returns a scalar (a 0-d tensor). Arguments may be Python
    floats, NumPy arrays or Tensors; the gradient w.r.t. an argument of shape ``S``
    is a Tensor of shape ``S`` and the argument's dtype. With a tuple ``argnums`` the
    result is a tuple of gradients, one per entry; an argument named twice
    (``argnums=(0, 0)``) gets its whole gradient at both positions (torch.func refuses
    repeats instead). Other arguments (and keyword arguments) are passed through as
    constants. ``f`` must return a floating-point scalar: an integer or bool result (a
    comparison) has no derivative and is an error, as in JAX; a float that does not depend
    on the argument gives zeros with an :class:`IndependentOutputWarning`, as in HIPS
    autograd. Transforms nest to any order.

    An argument may be a (nested) dict, list or tuple of arrays or tensors: the gradient
    has the same structure (a list or tuple of plain numbers is one array). ``argnum`` is
    HIPS autograd's spelling of ``argnums``. With ``has_aux=True``, ``f`` returns
    ``(output, aux)`` and the result is ``(gradient, aux)``, as in JAX.

    >>> import autograd as ag
    >>> df = ag.grad(lambda x: (x ** 3).sum())
    >>> df(ag.tensor([1.0, 2.0]))                     # 3 x^2
    Tensor([ 3., 12.], dtype=float64)
    >>> float(ag.grad(ag.grad(lambda x: x ** 3))(2.0))  # 6 x
    12.0
    >>> dx, dy = ag.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    >>> float(dx), float(dy)
    (5.0, 2.0)
    >>> g = ag.grad(lambda p: (p["w"] * p["b"]).sum())({"w": np.ones(2), "b": np.full(2, 3.0)})
    >>> g["w"], g["b"]
    (Tensor([3., 3.], dtype=float64), Tensor([1., 1.], dtype=float64))
    """
    argnums = _choose_argnums(argnums, argnum, "grad")
    return _value_and_grad_function(f, argnums, "grad", with_value=False, has_aux=has_aux)


def value_and_grad(f, argnums=0, *, argnum=None, has_aux=False):
    """``value_and_grad(f)(*args)`` is ``(f(*args), grad(f, argnums)(*args))`` in one pass.

    The value is a 0-d Tensor; the gradient(s) are as in :func:`grad`. With
    ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is
    ``((output, aux), gradient)``, as in JAX.

    >>> import autograd as ag
    >>> loss, g = ag.value_and_grad(lambda w: (w * w).sum())(ag.tensor([1.0, -3.0]))
    >>> float(loss), g
    (10.0, Tensor([ 2., -6.], dtype=float64))
    """
    argnums = _choose_argnums(argnums, argnum, "value_and_grad")
    return _value_and_grad_function(f, argnums, "value_and_grad", with_value=True,
                                    has_aux=has_aux)


def elementwise_grad(f, argnums=0, *, argnum=None):
    """The gradient of ``f(*args).sum()``: for an elementwise ``f`` (``tanh``, ``x ** 2``),
    the derivative at every entry at once, as in HIPS autograd.

    ``f`` may return any shape; the result has the shape (and structure) of the
    differentiated argument. For a function that is not elementwise it is the sum of the
    Jacobian's rows (``vjp`` with a cotangent of ones). Nests: ``elementwise_grad`` of
    ``elementwise_grad(f)`` is the elementwise second derivative.

    >>> import autograd as ag
    >>> from autograd.transforms import elementwise_grad
    >>> elementwise_grad(ag.tanh)(np.array([0.0, 1.0])).data.round(4)   # 1 - tanh(x)^2
    array([1. , 0.42])
    """
    argnums = _choose_argnums(argnums, argnum, "elementwise_grad")
    return _value_and_grad_function(f, argnums, "elementwise_grad", with_value=False,
                                    summed=True)


def vjp(f, *args):
    """Run ``f(*args)`` and return ``(out, vjp_fn)``; ``vjp_fn(v)`` pulls ``v`` back.

    ``out`` is ``f``'s output, shape ``O``. ``vjp_fn(v)`` takes a cotangent ``v`` of
    shape ``O`` and returns a tuple with one Tensor per argument (shape of that
    argument): ``vᵀ J``, the gradient of ``(out * v).sum()``, without forming the
    Jacobian ``J``. ``vjp_fn`` may be called any number of times. An argument that is a
    dict, list or tuple of arrays gets a gradient of the same structure.

    >>> import autograd as ag
    >>> out, vjp_fn = ag.vjp(lambda x: x * x, ag.tensor([1.0, 2.0, 3.0]))
    >>> out
    Tensor([1., 4., 9.], dtype=float64)
    >>> vjp_fn(ag.tensor([1.0, 0.0, 10.0]))         # v * 2x
    (Tensor([ 2.,  0., 60.], dtype=float64),)
    """
    trace = _Trace("vjp", f, args, {}, tuple(range(len(args))))
    output = trace.outputs
    if isinstance(output, tuple):
        raise ValueError(f"vjp: f must return one tensor, got a tuple of {len(output)}; "
                         "call vjp on each output (or stack them)")

    def vjp_fn(cotangent):
        if isinstance(cotangent, Tensor):
            shape = cotangent.shape
            tracked = cotangent.requires_grad and tape.is_grad_enabled()
        else:
            cotangent = numeric_array(cotangent, dtype=output.dtype, copy=False,
                                      name=f"vjp_fn: the cotangent (for f's output "
                                           f"{describe(output)})")
            shape, tracked = cotangent.shape, False
        if shape != output.shape:
            raise ValueError(f"vjp_fn: the cotangent must have the shape of f's output "
                             f"{output.shape}, got {describe(cotangent)}")
        # A cotangent that requires grad, or an enclosing transform, needs a recorded pass.
        create_graph = trace.create_graph or tracked or (
            _nesting.depth > 0 and tape.is_grad_enabled())
        return tuple(trace.regroup(trace.gradients(output, cotangent, retain_graph=True,
                                                   create_graph=create_graph)))

    return trace.value(output), vjp_fn


def _jacobian_rows(trace, output):
    """One Jacobian per input, each of shape output.shape + input.shape."""
    rows = []
    for k in range(output.size):  # one backward pass per output entry, seeded with e_k
        seed = np.zeros(output.shape, dtype=output.dtype)  # a float dtype: see _as_output
        seed.flat[k] = 1
        rows.append(trace.gradients(output, seed, retain_graph=True))
    jacobians = []
    for j, x in enumerate(trace.inputs):
        shape = output.shape + x.shape
        if not rows:
            jacobians.append(Tensor._constant(np.zeros(shape, dtype=x.dtype)))
        elif trace.create_graph:
            jacobians.append(reshape(stack([row[j] for row in rows]), shape))
        else:
            stacked = np.stack([row[j].data for row in rows])
            jacobians.append(Tensor._constant(stacked.reshape(shape)))
    return jacobians


def jacobian(f, argnums=0, *, argnum=None):
    """The Jacobian: ``jacobian(f)(*args)[i..., j...] = d out[i...] / d x[j...]``.

    For an output of shape ``O`` and an argument of shape ``S`` the result has shape
    ``O + S`` (a scalar output gives the gradient, shape ``S``). A tuple ``argnums``
    gives a tuple of Jacobians; if ``f`` returns a tuple of tensors, the result is a
    tuple over the outputs. Built from one reverse pass per output entry (reverse
    mode: cheap when outputs are few). Containers: a dict, list or tuple argument gives a
    Jacobian per leaf in the same structure; a dict or nested output gives one per output
    leaf, in the output's structure (lists as tuples).

    >>> import autograd as ag
    >>> J = ag.jacobian(lambda x: x[:2] * x[1:])(ag.tensor([1.0, 2.0, 3.0]))
    >>> J.shape                                      # (2,) + (3,)
    (2, 3)
    >>> J
    Tensor([[2., 1., 0.],
            [0., 3., 2.]], dtype=float64)
    """
    return _jacobian_function(f, _choose_argnums(argnums, argnum, "jacobian"), "jacobian")


def _jacobian_function(f, argnums, name, warn=True):
    positions, single = _parse_argnums(argnums, name)

    @functools.wraps(f)
    def jacobian_f(*args, **kwargs):
        trace = _Trace(name, f, args, kwargs, positions, warn=warn)

        def of(output):
            jacobians = trace.regroup(_jacobian_rows(trace, output))
            return jacobians[0] if single else tuple(jacobians)

        if isinstance(trace.outputs, tuple):
            return trace.rebuild_outputs([of(output) for output in trace.outputs])
        return of(trace.outputs)

    jacobian_f.__name__ = jacobian_f.__qualname__ = _named(f, name)
    return jacobian_f


def hessian(f, argnums=0, *, argnum=None):
    """The Hessian of a scalar function: ``hessian(f)(x)[i..., j...] = d²f / dx[i...] dx[j...]``.

    For an argument of shape ``S`` the result has shape ``S + S``. With a tuple
    ``argnums`` the result is nested: ``H[a][b]`` has shape ``S_a + S_b``. Computed as
    the Jacobian of the gradient (reverse over reverse); to multiply the Hessian by
    a vector without forming it, use :func:`hvp`. For a dict argument ``p`` the result
    is nested the same way: ``H[k1][k2]`` has shape ``p[k1].shape + p[k2].shape``.

    >>> import autograd as ag
    >>> H = ag.hessian(lambda x: x[0] ** 2 * x[1])(ag.tensor([3.0, 5.0]))
    >>> H                                            # [[2 x1, 2 x0], [2 x0, 0]]
    Tensor([[10.,  6.],
            [ 6.,  0.]], dtype=float64)
    """
    argnums = _choose_argnums(argnums, argnum, "hessian")
    hessian_f = _jacobian_function(
        _value_and_grad_function(f, argnums, "hessian", with_value=False), argnums, "hessian",
        warn=False)
    hessian_f.__name__ = hessian_f.__qualname__ = _named(f, "hessian")
    return hessian_f


def hvp(f, argnums=0, *, argnum=None):
    """Hessian-vector product: ``hvp(f)(*args, v)`` is ``H v`` without forming ``H``.

    ``f`` returns a scalar; ``v`` has the shape of the differentiated argument (for a
    tuple ``argnums``, ``v`` is a tuple with one array per argument, and so is the
    result; a dict or list argument takes ``v`` of the same structure). Computed as the
    gradient of ``<grad f(x), v>``: two reverse passes, so
    the cost is a small multiple of one gradient, whatever the size of ``x``.

    >>> import autograd as ag
    >>> f = lambda x: (x ** 3).sum()                 # H = diag(6 x)
    >>> ag.hvp(f)(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 10.0]))
    Tensor([  6., 120.], dtype=float64)
    """
    argnums = _choose_argnums(argnums, argnum, "hvp")
    positions, single = _parse_argnums(argnums, "hvp")
    gradient = _value_and_grad_function(f, argnums, "hvp", with_value=False)

    @functools.wraps(f)
    def hvp_f(*args_and_vector, **kwargs):
        if not args_and_vector:
            raise TypeError("hvp(f) takes f's positional arguments followed by the vector v: "
                            "hvp(f)(x, v)")
        *args, vector = args_and_vector
        resolved = _resolve_positions(
            positions, len(args), "hvp", kwargs,
            note=" (hvp(f)(*args, v): the last one, v, is the vector)")
        vectors = _hvp_vectors(vector, [args[p] for p in resolved], resolved, single)

        def directional_derivative(*inner_args, **inner_kwargs):  # <grad f, v>
            grads = gradient(*inner_args, **inner_kwargs)
            leaves = []
            _flatten((grads,) if single else grads, "", leaves,
                     sequences_of_numbers_are_arrays=False)
            grads = [g for _, g in leaves]
            total = (grads[0] * vectors[0]).sum()
            for g, v in zip(grads[1:], vectors[1:]):
                total = total + (g * v).sum()
            return total

        return _value_and_grad_function(directional_derivative, argnums, "hvp",
                                        with_value=False, warn=False)(*args, **kwargs)

    hvp_f.__name__ = hvp_f.__qualname__ = _named(f, "hvp")
    return hvp_f


def _hvp_vectors(vector, arguments, positions, single):
    if single:
        vectors = (vector,)
    elif isinstance(vector, (tuple, list)) and len(vector) == len(positions):
        vectors = tuple(vector)
    else:
        raise TypeError(f"hvp: with argnums {tuple(positions)}, v must be a tuple of "
                        f"{len(positions)} arrays (one per differentiated argument)")
    checked = []
    for v, argument, position in zip(vectors, arguments, positions):
        argument_leaves, v_leaves = [], []
        argument_structure = _flatten(argument, str(position), argument_leaves)
        v_structure = _flatten(v, str(position), v_leaves)
        if argument_structure is not None and (
                len(argument_leaves) != len(v_leaves)
                or _shape_of(argument_structure) != _shape_of(v_structure)):
            raise TypeError(f"hvp: v must have the structure of argument {position} (the same "
                            f"dicts, lists and tuples, {len(argument_leaves)} arrays), got "
                            f"{type(v).__name__}: {v!r:.80}")
        if argument_structure is None:
            v_leaves = [(str(position), v)]
        for (path, leaf), (_, v_leaf) in zip(argument_leaves, v_leaves):
            leaf = _argument_array(leaf, "hvp", path)
            expected = np.shape(leaf)
            if not isinstance(v_leaf, Tensor):
                # (an integer argument is refused, naming it, when f is traced)
                dtype = leaf.dtype if leaf.dtype.kind == "f" else None
                v_leaf = numeric_array(v_leaf, dtype=dtype, copy=False,
                                       name=f"hvp: v (the direction for argument {path})")
            if v_leaf.shape != expected:
                raise ValueError(f"hvp: v must have the shape of argument {path}, {expected}, "
                                 f"got {describe(v_leaf)}")
            checked.append(v_leaf)
    return checked


def _shape_of(structure):
    """A container structure without the container types (a dict's keys and the nesting)."""
    if structure is None:
        return None
    _, keys, parts = structure
    return (keys, tuple(_shape_of(part) for part in parts))
