"""Grad mode and the tape: recording order, and running it backwards.

A tensor produced by a recorded primitive *is* a node of the tape. It keeps

    _parents   the input tensors (the edges of the graph),
    _vjps      one vector-Jacobian function per input,
    _seq       a number from a counter that only grows.

Sorting nodes by ``_seq`` gives the order they were recorded in: that list is the
tape (a Wengert list). ``backward`` runs it in reverse without recursion: a heap
always hands it the pending node with the largest ``_seq``, so every node runs after
all its consumers have added their cotangents (summed for a tensor used twice).

The graph is owned by the output: every node holds its parents, nothing holds a
node's consumers, so dropping the output frees everything only it reaches.

A VJP has the signature ``vjp(g, out, *inputs) -> cotangent for one input`` and
is written with operations that work on both NumPy arrays and Tensors. First-order
backward passes plain arrays (fast, nothing recorded); ``create_graph=True`` passes
the Tensors themselves with grad mode on, so the VJPs are recorded like any other
computation and can be differentiated again.
"""

from __future__ import annotations

import functools
import itertools
import operator
import sys
import threading
from heapq import heappop, heappush

import numpy as np

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "backward", "gradients"]


# ---------------------------------------------------------------------------
# Grad mode: one flag per thread.
# ---------------------------------------------------------------------------

class _GradMode(threading.local):
    enabled = True  # class attribute: the starting value in every new thread


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _mode.enabled


class _SetGradMode:
    """Context manager and decorator that sets grad mode for the current thread."""

    _value = True

    def __enter__(self):
        self._previous = _mode.enabled
        _mode.enabled = self._value

    def __exit__(self, *exc_info):
        _mode.enabled = self._previous

    def __call__(self, function):
        # A fresh instance per call keeps decorated functions re-entrant and thread-safe.
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)

        return wrapper


class no_grad(_SetGradMode):
    """Turn recording off in this thread: ``with ag.no_grad(): ...`` or ``@ag.no_grad()``."""

    _value = False


class enable_grad(_SetGradMode):
    """Turn recording back on in this thread (inside ``no_grad``, for instance)."""

    _value = True


# ---------------------------------------------------------------------------
# The tape.
# ---------------------------------------------------------------------------

next_sequence_number = itertools.count().__next__


def _released_vjp(*_):  # marks a node whose saved values were freed by backward
    raise AssertionError("unreachable")


RELEASED = (_released_vjp,)

# The tape time of the latest write to any tensor's .data (see Tensor.data). Writes take
# the lock so this only grows, even when threads race.
_last_write = -1
_write_lock = threading.Lock()


def record_write():
    """Stamp a write to .data: returns its tape time, the tensor's new version."""
    global _last_write
    with _write_lock:
        _last_write = version = next_sequence_number()
    return version


_data_of = operator.attrgetter("_data")


def _raise_modified(tensor, role):
    raise RuntimeError(
        f"a tensor saved for backward (the {role}, shape {np.shape(tensor._data)}) was modified "
        "in place after it was recorded: its .data was reassigned or updated with +=, -=, ... "
        "The gradient would be wrong. Run the forward pass again after changing it."
    )


def _raise_released(node):
    raise RuntimeError(
        f"backward through a graph a second time: the values that {node._op!r} saved for "
        "backward were freed by the first backward. Pass retain_graph=True to the first "
        "backward() if you need to run backward through this graph again."
    )


def _check_node(node, parents, seq):
    """Raise if ``node``'s saved values were freed, or written after it was recorded."""
    if node._vjps is RELEASED:
        _raise_released(node)
    if node._version > seq:
        _raise_modified(node, "output")
    for parent in parents:
        if parent._version > seq:
            _raise_modified(parent, f"input to {node._op!r}")


def _run(root, seed, stop_at, retain_graph, create_graph):
    """Run the tape backwards from ``root``.

    Returns {tensor: cotangent} for the tensors where the walk stops: leaves that require
    grad, and the tensors in ``stop_at``. A node enters the heap when it receives its first
    cotangent; popping the largest sequence number first runs the tape in reverse, and
    guarantees every consumer of a node has contributed before the node runs.
    """
    cotangents = {root: seed}
    if root._vjps is None or root in stop_at:
        return cotangents
    pop = cotangents.pop
    # Versions are tape times of writes to .data; a write later than a node makes it stale.
    # No write since a node was recorded (the common case) means nothing to check for it.
    last_write = _last_write
    heap = [(-root._seq, root)]
    while heap:
        node = heappop(heap)[1]
        vjps, parents, seq = node._vjps, node._parents, node._seq
        if vjps is RELEASED or last_write > seq:
            _check_node(node, parents, seq)
        g = pop(node)
        if create_graph:
            args = (node, *parents)
        elif len(parents) == 2:  # the common cases, spelled out: no map, no unpacking
            a, b = parents
            args = (node._data, a._data, b._data)
        elif len(parents) == 1:
            args = (node._data, parents[0]._data)
        else:
            args = (node._data, *map(_data_of, parents))
        i = 0  # (indexing vjps is faster than zip here)
        for parent in parents:
            if parent.requires_grad:
                contribution = vjps[i](g, *args)
                if parent in cotangents:
                    cotangents[parent] = cotangents[parent] + contribution
                else:
                    cotangents[parent] = contribution
                    if parent._vjps is not None and parent not in stop_at:
                        heappush(heap, (-parent._seq, parent))
            i += 1
        if not retain_graph:
            node._parents = ()
            node._vjps = RELEASED
    return cotangents


def _seed_for(output, grad, create_graph):
    """The cotangent that starts the walk: 1 for a scalar output, else ``grad``."""
    make_tensor = type(output)._constant
    if grad is None:
        data = output._data
        if data.ndim != 0:
            raise RuntimeError(
                f"backward() without a gradient needs a scalar (0-d) output, got shape "
                f"{output.shape}. Reduce it first (y.sum().backward()) or pass the gradient of "
                f"the final result with respect to it: y.backward(np.ones({output.shape}))."
            )
        seed = _unit(data.dtype)
        return make_tensor(seed) if create_graph else seed
    given_tensor = isinstance(grad, type(output))
    if given_tensor:
        seed = grad._data
    else:
        seed = type(output)._numeric_array(grad, output.dtype, "backward(grad)", copy=False)
    if np.shape(seed) != output.shape:
        raise ValueError(
            f"backward(grad): grad has shape {np.shape(seed)} but the output has shape "
            f"{output.shape}; they must match."
        )
    if create_graph:
        return grad if given_tensor else make_tensor(seed)
    return seed


@functools.lru_cache(maxsize=None)
def _unit(dtype):
    """1 as a NumPy scalar of ``dtype`` (immutable, so one per dtype is shared)."""
    return dtype.type(1)


def _walk(output, seed, stop_at, retain_graph, create_graph):
    """``_run`` with grad mode on only when the VJPs themselves must be recorded."""
    previous = _mode.enabled
    _mode.enabled = create_graph
    try:
        return _run(output, seed, stop_at, retain_graph or create_graph, create_graph)
    finally:
        _mode.enabled = previous


def backward(output, grad=None, retain_graph=False, create_graph=False):
    """Accumulate d(output)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    if not output.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the computation "
            "had requires_grad=True (or it ran under no_grad())."
        )
    seed = _seed_for(output, grad, create_graph)
    cotangents = _walk(output, seed, (), retain_graph, create_graph)
    while cotangents:  # only leaves are left
        leaf, g = cotangents.popitem()
        # Adopt the cotangent as .grad without a copy only if nothing else can see it: an
        # ndarray owning writeable memory that only this frame refers to. A cotangent two
        # leaves share (a + b hands both the same array), a view, the user's seed, or an
        # array a retained VJP still holds has more references, and is copied.
        if not create_graph and not (
            type(g) is np.ndarray
            and sys.getrefcount(g) == _REFERENCES_WHEN_ALONE
            and g.dtype == leaf._data.dtype
            and _owns_writeable_memory(g.flags)
        ):
            g = np.array(g, dtype=leaf.dtype)
        leaf.grad = g if leaf.grad is None else leaf.grad + g


def _owns_writeable_memory(flags):
    return flags.owndata and flags.writeable


def _count_references_when_alone():
    g = np.empty(1)  # held by this frame's variable only, as in backward()
    return sys.getrefcount(g)


_REFERENCES_WHEN_ALONE = _count_references_when_alone()


def gradients(output, inputs, grad=None, retain_graph=False, create_graph=False):
    """d(output)/d(input) for each tensor in ``inputs`` (zeros where it does not depend).

    Returns arrays, or Tensors connected to the graph when ``create_graph`` is True.
    Nothing is accumulated into ``.grad``. Used by the functional transforms.
    """
    seed = _seed_for(output, grad, create_graph)
    stop_at = set(inputs)
    if output.requires_grad and output not in stop_at:
        cotangents = _walk(output, seed, stop_at, retain_graph, create_graph)
    else:
        cotangents = {output: seed}
    make_tensor = type(output)._constant
    results = []
    for tensor in inputs:
        g = cotangents.get(tensor)
        if g is None:
            g = np.zeros(tensor.shape, dtype=tensor.dtype)
            g = make_tensor(g) if create_graph else g
        elif not create_graph:
            g = np.asarray(g, dtype=tensor.dtype)
        results.append(g)
    return results
