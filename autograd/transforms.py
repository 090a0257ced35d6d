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
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from autograd import tape
from autograd.primitives import describe, reshape, stack
from autograd.tensors import Tensor, numeric_array

__all__ = ["grad", "value_and_grad", "vjp", "jacobian", "hessian", "hvp"]


class _Nesting(threading.local):
    depth = 0  # how many transforms are running f in this thread right now


_nesting = _Nesting()


# ---------------------------------------------------------------------------
# Shared machinery: fresh inputs, running f, the backward pass.
# ---------------------------------------------------------------------------

def _identity_vjp(g, out, x):
    return g


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


def _reaches_outside(outputs, inputs):
    """True if the graph of ``outputs`` reaches a tensor requiring grad that is not an input.

    That tensor belongs to someone else (a closed-over parameter, an earlier
    computation), who may want to differentiate our result or reuse the graph.
    """
    inside = {id(t) for t in inputs}
    pending = [t for t in outputs if t.requires_grad and id(t) not in inside]
    seen = inside | {id(t) for t in pending}
    while pending:
        node = pending.pop()
        if node._vjps is None or node._vjps is tape.RELEASED:
            return True
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                pending.append(parent)
    return False


class _Trace:
    """``f`` called on fresh inputs, and how its backward passes must run.

    outputs        f's result: a Tensor, or a tuple of Tensors
    inputs         the fresh tensors, one per argnums entry, in argnums order (an argument
                   named twice, ``argnums=(0, 0)``, is one tensor listed twice: f sees
                   one argument, and each position gets the whole gradient)
    create_graph   record the VJPs (someone outside may differentiate the result)
    retain_graph   keep the graph after a backward pass (it reaches beyond this call)
    """

    __slots__ = ("outputs", "inputs", "create_graph", "retain_graph")

    def __init__(self, name, f, args, kwargs, positions):
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
                        continue  # a repeat: the same tensor (a second one would get zeros)
                    fresh, was_linked = _fresh_input(args[position], watched, name, position)
                    call_args[position] = fresh_at[position] = fresh
                    linked = linked or was_linked
                result = f(*call_args, **kwargs)
        finally:
            _nesting.depth -= 1
        if isinstance(result, (tuple, list)):
            self.outputs = tuple(_as_output(r, name) for r in result)
        else:
            self.outputs = _as_output(result, name)
        self.inputs = [fresh_at[position] for position in positions]
        outputs = self.outputs if isinstance(self.outputs, tuple) else (self.outputs,)
        outside = nested or linked or _reaches_outside(outputs, self.inputs)
        self.create_graph = watched and outside
        self.retain_graph = outside

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


def _value_and_grad_function(f, argnums, name, with_value):
    positions, single = _parse_argnums(argnums, name)

    @functools.wraps(f)
    def transformed(*args, **kwargs):
        trace = _Trace(name, f, args, kwargs, positions)
        output = _scalar_output(trace.outputs, name)
        grads = trace.gradients(output)
        grads = grads[0] if single else tuple(grads)
        return (trace.value(output), grads) if with_value else grads

    transformed.__name__ = transformed.__qualname__ = _named(f, name)
    return transformed


# ---------------------------------------------------------------------------
# The transforms.
# ---------------------------------------------------------------------------

def grad(f, argnums=0):
    """The gradient of a scalar function: ``grad(f)(*args)`` is df/d(args[argnums]).

    ``f`` takes tensors and returns a scalar (a 0-d tensor). Arguments may be Python
    floats, NumPy arrays or Tensors; the gradient w.r.t. an argument of shape ``S``
    is a Tensor of shape ``S`` and the argument's dtype. With a tuple ``argnums`` the
    result is a tuple of gradients, one per entry; an argument named twice
    (``argnums=(0, 0)``) gets its whole gradient at both positions (torch.func refuses
    repeats instead). Other arguments (and keyword arguments) are passed through as
    constants. ``f`` must return a floating-point scalar: an integer or bool result (a
    comparison) has no derivative and is an error, as in JAX. Transforms nest to any order.

    >>> import autograd as ag
    >>> df = ag.grad(lambda x: (x ** 3).sum())
    >>> df(ag.tensor([1.0, 2.0]))                     # 3 x^2
    Tensor([ 3., 12.], dtype=float64)
    >>> float(ag.grad(ag.grad(lambda x: x ** 3))(2.0))  # 6 x
    12.0
    >>> dx, dy = ag.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    >>> float(dx), float(dy)
    (5.0, 2.0)
    """
    return _value_and_grad_function(f, argnums, "grad", with_value=False)


def value_and_grad(f, argnums=0):
    """``value_and_grad(f)(*args)`` is ``(f(*args), grad(f, argnums)(*args))`` in one pass.

    The value is a 0-d Tensor; the gradient(s) are as in :func:`grad`.

    >>> import autograd as ag
    >>> loss, g = ag.value_and_grad(lambda w: (w * w).sum())(ag.tensor([1.0, -3.0]))
    >>> float(loss), g
    (10.0, Tensor([ 2., -6.], dtype=float64))
    """
    return _value_and_grad_function(f, argnums, "value_and_grad", with_value=True)


def vjp(f, *args):
    """Run ``f(*args)`` and return ``(out, vjp_fn)``; ``vjp_fn(v)`` pulls ``v`` back.

    ``out`` is ``f``'s output, shape ``O``. ``vjp_fn(v)`` takes a cotangent ``v`` of
    shape ``O`` and returns a tuple with one Tensor per argument (shape of that
    argument): ``vᵀ J``, the gradient of ``(out * v).sum()``, without forming the
    Jacobian ``J``. ``vjp_fn`` may be called any number of times.

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
        return tuple(trace.gradients(output, cotangent, retain_graph=True,
                                     create_graph=create_graph))

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


def jacobian(f, argnums=0):
    """The Jacobian: ``jacobian(f)(*args)[i..., j...] = d out[i...] / d x[j...]``.

    For an output of shape ``O`` and an argument of shape ``S`` the result has shape
    ``O + S`` (a scalar output gives the gradient, shape ``S``). A tuple ``argnums``
    gives a tuple of Jacobians; if ``f`` returns a tuple of tensors, the result is a
    tuple over the outputs. Built from one reverse pass per output entry (reverse
    mode: cheap when outputs are few).

    >>> import autograd as ag
    >>> J = ag.jacobian(lambda x: x[:2] * x[1:])(ag.tensor([1.0, 2.0, 3.0]))
    >>> J.shape                                      # (2,) + (3,)
    (2, 3)
    >>> J
    Tensor([[2., 1., 0.],
            [0., 3., 2.]], dtype=float64)
    """
    return _jacobian_function(f, argnums, "jacobian")


def _jacobian_function(f, argnums, name):
    positions, single = _parse_argnums(argnums, name)

    @functools.wraps(f)
    def jacobian_f(*args, **kwargs):
        trace = _Trace(name, f, args, kwargs, positions)

        def of(output):
            jacobians = _jacobian_rows(trace, output)
            return jacobians[0] if single else tuple(jacobians)

        if isinstance(trace.outputs, tuple):
            return tuple(of(output) for output in trace.outputs)
        return of(trace.outputs)

    jacobian_f.__name__ = jacobian_f.__qualname__ = _named(f, name)
    return jacobian_f


def hessian(f, argnums=0):
    """The Hessian of a scalar function: ``hessian(f)(x)[i..., j...] = d²f / dx[i...] dx[j...]``.

    For an argument of shape ``S`` the result has shape ``S + S``. With a tuple
    ``argnums`` the result is nested: ``H[a][b]`` has shape ``S_a + S_b``. Computed as
    the Jacobian of the gradient (reverse over reverse); to multiply the Hessian by
    a vector without forming it, use :func:`hvp`.

    >>> import autograd as ag
    >>> H = ag.hessian(lambda x: x[0] ** 2 * x[1])(ag.tensor([3.0, 5.0]))
    >>> H                                            # [[2 x1, 2 x0], [2 x0, 0]]
    Tensor([[10.,  6.],
            [ 6.,  0.]], dtype=float64)
    """
    hessian_f = _jacobian_function(
        _value_and_grad_function(f, argnums, "hessian", with_value=False), argnums, "hessian")
    hessian_f.__name__ = hessian_f.__qualname__ = _named(f, "hessian")
    return hessian_f


def hvp(f, argnums=0):
    """Hessian-vector product: ``hvp(f)(*args, v)`` is ``H v`` without forming ``H``.

    ``f`` returns a scalar; ``v`` has the shape of the differentiated argument (for a
    tuple ``argnums``, ``v`` is a tuple with one array per argument, and so is the
    result). Computed as the gradient of ``<grad f(x), v>``: two reverse passes, so
    the cost is a small multiple of one gradient, whatever the size of ``x``.

    >>> import autograd as ag
    >>> f = lambda x: (x ** 3).sum()                 # H = diag(6 x)
    >>> ag.hvp(f)(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 10.0]))
    Tensor([  6., 120.], dtype=float64)
    """
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
            grads = (grads,) if single else grads
            total = (grads[0] * vectors[0]).sum()
            for g, v in zip(grads[1:], vectors[1:]):
                total = total + (g * v).sum()
            return total

        return _value_and_grad_function(directional_derivative, argnums, "hvp",
                                        with_value=False)(*args, **kwargs)

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
        argument = _argument_array(argument, "hvp", position)
        expected = np.shape(argument)
        if not isinstance(v, Tensor):
            # (an integer argument is refused, naming it, when f is traced)
            dtype = argument.dtype if argument.dtype.kind == "f" else None
            v = numeric_array(v, dtype=dtype, copy=False,
                              name=f"hvp: v (the direction for argument {position})")
        if v.shape != expected:
            raise ValueError(f"hvp: v must have the shape of argument {position}, {expected}, "
                             f"got {describe(v)}")
        checked.append(v)
    return checked
