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
import inspect
import itertools
import operator
import threading
import weakref
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
    """True when operations on tensors that require grad are being recorded (per thread;
    on at start, off inside ``no_grad``).

    >>> import autograd as ag
    >>> ag.is_grad_enabled()
    True
    >>> with ag.no_grad():
    ...     ag.is_grad_enabled()
    False
    """
    return _mode.enabled


class _SetGradMode:
    """Context manager and decorator that sets grad mode for the current thread.

    ``with ag.no_grad(): ...``, ``@ag.no_grad()`` and ``@ag.no_grad`` (no parentheses, as
    PyTorch allows) all work, on functions and on generator functions.
    """

    _value = True

    def __new__(cls, function=None):
        mode = super().__new__(cls)
        if function is None:
            return mode
        if not callable(function):
            raise TypeError(f"{cls.__name__}() takes no arguments, or decorates a function; got "
                            f"{type(function).__name__}")
        return mode(function)  # used as @no_grad without parentheses: the wrapped function

    def __enter__(self):
        self._previous = _mode.enabled
        _mode.enabled = self._value

    def __exit__(self, *exc_info):
        _mode.enabled = self._previous

    def __call__(self, function):
        # A fresh instance per call keeps decorated functions re-entrant and thread-safe.
        if inspect.isgeneratorfunction(function):
            return self._wrap_generator(function)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, function):
        """Each step of the generator runs in this mode; the caller's mode holds between steps."""
        mode = type(self)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            generator = function(*args, **kwargs)
            resume, argument = generator.send, None  # send(None) starts it, as next() does
            while True:
                try:
                    with mode():
                        value = resume(argument)
                except StopIteration as stop:
                    return stop.value
                try:
                    argument, resume = (yield value), generator.send
                except GeneratorExit:
                    with mode():
                        generator.close()
                    raise
                except BaseException as error:  # thrown in by the caller: the body may handle it
                    argument, resume = error, generator.throw

        return wrapper


class no_grad(_SetGradMode):
    """Turn recording off in this thread: ``with ag.no_grad(): ...``, ``@ag.no_grad()`` or
    ``@ag.no_grad``. Results computed inside do not require grad and hold no graph (for
    evaluation, or for updating parameters by hand); the previous mode comes back on exit.

    >>> import autograd as ag
    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> with ag.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    >>> @ag.no_grad
    ... def predict(t):
    ...     return t * 3
    >>> predict(x).requires_grad
    False
    """

    _value = False


class enable_grad(_SetGradMode):
    """Turn recording back on in this thread (inside ``no_grad``, for instance): a context
    manager or a decorator, like ``no_grad``.

    >>> import autograd as ag
    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> with ag.no_grad():
    ...     with ag.enable_grad():
    ...         y = x * 2
    ...     ag.is_grad_enabled()
    False
    >>> y.requires_grad
    True
    """

    _value = True


# ---------------------------------------------------------------------------
# The tape.
# ---------------------------------------------------------------------------

next_sequence_number = itertools.count().__next__


def _released_vjp(*_):  # marks a node whose saved values were freed by backward
    raise AssertionError("unreachable")


RELEASED = (_released_vjp,)


def _send(parent, contribution, cotangents, heap, stop_at):
    """Add ``contribution`` to ``parent``'s cotangent; a node's first one puts it on the heap."""
    if parent in cotangents:
        cotangents[parent] = cotangents[parent] + contribution
    else:
        cotangents[parent] = contribution
        if parent._vjps is not None and parent not in stop_at:
            heappush(heap, (-parent._seq, parent))


class JointVJP:
    """The VJPs of a primitive with three or more inputs (``stack``, ``concatenate``) as one
    function (with one or two inputs, give a VJP per input as usual).

    ``pullback(g, out, inputs)`` returns one cotangent per input (a sequence; entries for
    inputs that do not require grad may be None). Calling a separate ``vjp(g, out, *inputs)``
    per input would hand each of n calls all n inputs: O(n^2) for one node.
    """

    __slots__ = ("pullback",)

    def __init__(self, pullback):
        self.pullback = pullback

# The tape time of the latest write to any tensor's .data (see Tensor.data). Writes take
# the lock so this only grows, even when threads race.
_last_write = -1
_write_lock = threading.Lock()

# The tape time of the latest write into each block of memory, keyed by the id of the
# ndarray that owns it. A graph may have saved a *view* of a tensor's array (``x.T``,
# ``x.reshape(3)``, ``x[1:]``, ``x.detach()``): a write through any tensor whose data
# lives in that memory is a write for all of them. Entries go when their owner dies.
_memory_writes = {}


def memory_owner(array):
    """The ndarray whose memory ``array`` lives in (itself if it owns its memory)."""
    owner = array
    base = getattr(array, "base", None)
    while base is not None:  # views of views, and NumPy's helper objects (as_strided)
        if isinstance(base, np.ndarray):
            owner = base
        base = getattr(base, "base", None)
    return owner


def record_write(array=None):
    """Stamp a write to .data (``array``, the data after the write): returns its tape time,
    the tensor's new version. The memory ``array`` lives in is stamped with it too."""
    global _last_write
    owner = memory_owner(array) if isinstance(array, np.ndarray) else None
    with _write_lock:
        _last_write = version = next_sequence_number()
        if owner is not None:
            entry = _memory_writes.get(id(owner))
            if entry is not None and entry[0]() is owner:
                entry[1] = version
            else:
                key = id(owner)
                _memory_writes[key] = [weakref.ref(owner, functools.partial(_forget_memory, key)),
                                       version]
    return version


def _forget_memory(key, _reference):
    # Runs while the owner is being freed, before its id can be reused.
    entry = _memory_writes.get(key)
    if entry is not None and entry[0]() is None:
        del _memory_writes[key]


def _memory_written_after(data, seq):
    """Whether memory that ``data`` lives in was written through some tensor after ``seq``."""
    if not isinstance(data, np.ndarray) or not _memory_writes:
        return False
    owner = memory_owner(data)
    entry = _memory_writes.get(id(owner))
    return entry is not None and entry[1] > seq and entry[0]() is owner


_data_of = operator.attrgetter("_data")


def _raise_modified(tensor, role):
    raise RuntimeError(
        f"a tensor saved for backward (the {role}, shape {np.shape(tensor._data)}) was modified "
        "in place after it was recorded: its .data (or the .data of a tensor sharing its memory, "
        "such as a view, a detach() or a slice of it) was reassigned or updated with +=, -=, ... "
        "(an optimizer step and load_state_dict do this too). The gradient would be wrong. "
        "Run the forward pass again after changing it."
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
    if node._version > seq or _memory_written_after(node._data, seq):
        _raise_modified(node, "output")
    for parent in parents:
        if parent._version > seq or _memory_written_after(parent._data, seq):
            _raise_modified(parent, f"input to {node._op!r}")


def _run(root, seed, stop_at, retain_graph, create_graph, through=()):
    """Run the tape backwards from ``root``.

    Returns {tensor: cotangent} for the tensors where the walk stops: leaves that require
    grad, and the tensors in ``stop_at``; also for the nodes in ``through``, which the walk
    passes on (their full cotangent, taken when they run). A node enters the heap when it receives its first
    cotangent; popping the largest sequence number first runs the tape in reverse, and
    guarantees every consumer of a node has contributed before the node runs.
    """
    cotangents = {root: seed}
    if root._vjps is None or root in stop_at:
        return cotangents
    kept = {}
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
        if through and node in through:
            kept[node] = g
        if len(parents) == 2 and not create_graph:  # the common cases, spelled out: no map,
            a, b = parents                           # no unpacking
            args = (node._data, a._data, b._data)
        elif len(parents) == 1 and not create_graph:
            args = (node._data, parents[0]._data)
        else:
            args = (node, *parents) if create_graph else (node._data, *map(_data_of, parents))
            if type(vjps) is JointVJP:  # 3+ inputs: one call gives each input its cotangent
                contributions = vjps.pullback(g, args[0], args[1:])
                for parent, contribution in zip(parents, contributions):
                    if parent.requires_grad:
                        _send(parent, contribution, cotangents, heap, stop_at)
                if not retain_graph:
                    node._parents = ()
                    node._vjps = RELEASED
                continue
        i = 0  # (indexing vjps is faster than zip here)
        for parent in parents:
            if parent.requires_grad:
                contribution = vjps[i](g, *args)
                # (what _send does, inline: this loop runs for every edge of every graph)
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
    if kept:
        cotangents.update(kept)
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


def _walk(output, seed, stop_at, retain_graph, create_graph, through=()):
    """``_run`` with grad mode on only when the VJPs themselves must be recorded."""
    previous = _mode.enabled
    _mode.enabled = create_graph
    try:
        return _run(output, seed, stop_at, retain_graph or create_graph, create_graph, through)
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
    # One lock for every accumulation: ``leaf.grad + g`` is a read-modify-write, and NumPy
    # lets other threads run in the middle of it (two backward passes into one shared
    # parameter would lose updates). Uncontended, it costs one acquire per backward.
    with _accumulate_lock:
        adopted = set()  # ids of the arrays given to leaves in this pass
        while cotangents:  # only leaves are left
            leaf, g = cotangents.popitem()
            # Adopt the cotangent as .grad without a copy only if nothing else can hold it:
            # a plain ndarray that owns writeable memory (so not a view of anything), is not
            # the caller's seed and was not given to another leaf already (a + b hands both
            # operands the same array). Built-in VJPs return new arrays, views or the
            # cotangent they were given; users' VJPs (autograd.extend) return copies.
            if not create_graph:
                flags = g.flags if type(g) is np.ndarray else None
                if (flags is not None and flags.owndata and flags.writeable and g is not seed
                        and g.dtype == leaf._data.dtype and id(g) not in adopted):
                    adopted.add(id(g))
                else:
                    g = np.array(g, dtype=leaf._data.dtype)
                if not g.ndim:
                    g = g[()]  # a NumPy scalar, as the 0-d tensor's .data is
            grad = leaf._grad
            leaf._grad = g if grad is None else grad + g


_accumulate_lock = threading.Lock()


def gradients(output, inputs, grad=None, retain_graph=False, create_graph=False):
    """d(output)/d(input) for each tensor in ``inputs`` (zeros where it does not depend).

    Returns arrays, or Tensors connected to the graph when ``create_graph`` is True.
    Nothing is accumulated into ``.grad``. An input may depend on another input
    (``y = f(x)``, then ``gradients(out, [x, y])``): the walk goes on through ``y`` to
    ``x``, so d/dx counts every path, through ``y`` and around it. Used by the
    functional transforms.
    """
    seed = _seed_for(output, grad, create_graph)
    stop_at = set(inputs)
    through = _inputs_leading_to_inputs(inputs) if len(stop_at) > 1 else ()
    if through:
        stop_at -= through
    if output.requires_grad and output not in stop_at:
        cotangents = _walk(output, seed, stop_at, retain_graph, create_graph, through)
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


def _inputs_leading_to_inputs(inputs):
    """The recorded tensors of ``inputs`` that another of the ``inputs`` was computed from:
    the backward walk must go on through them rather than stop there."""
    wanted = {t for t in inputs if t.requires_grad}
    through = set()
    for start in wanted:
        if start._vjps is None:
            continue  # a leaf: nothing was computed before it
        pending, seen = list(start._parents), set()
        while pending:
            node = pending.pop()
            if node in seen or not node.requires_grad:
                continue
            seen.add(node)
            if node in wanted:
                through.add(start)
                break
            pending.extend(node._parents)
    return through
