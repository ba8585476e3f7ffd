"""The autograd graph and the engine that runs it backward.

Each op that produces a tensor from inputs requiring grad calls `record`,
which hangs a `Node` on the output (`out.grad_fn`). A node knows:
- `backward`: the op's gradient formula, `backward(grad, *saved)` returning
  one gradient (or None) per input. Formulas are written with tinyfin's own
  differentiable ops, so running them with grad mode on (create_graph=True)
  records the graph of the gradient itself: higher derivatives for free.
- `next`: per input, the Node that made it, the leaf Tensor to accumulate
  into, or None when that input needs no gradient.
- `saved`: what the formula reads, with the storage version of every saved
  tensor at record time; an in-place write to one of them since then is
  an error at backward time, not a silently wrong gradient.
The op's own output may be saved as `OUT`. The node then keeps an alias of
it (a second Python handle on the same C tensor) without a grad_fn, so that
output and node do not form a reference cycle and memory is freed by
reference counting alone. When the formula runs with grad mode on
(create_graph), it gets a fresh alias whose grad_fn is this very node: the
output's graph, as if the output itself had been saved.

After a backward without retain_graph every node on the way drops what it
saved; going through it again raises an error naming retain_graph.
"""
from __future__ import annotations

import heapq
import itertools
import sys
import threading
import weakref
from typing import Callable, Dict, List, Optional, Sequence

from .. import _C
from ..tensor import Tensor, _alias, _call
from .grad_mode import state

_version = _C.fast.tf_tensor_version
_sole_owner = _C.fast.tf_tensor_sole_owner


def _refs_of_one_local() -> int:
    """What sys.getrefcount says of an object one local name holds (the
    count differs between Python versions; run_backward compares to it)."""
    one = object()
    return sys.getrefcount(one)


_ONE_LOCAL_REF = _refs_of_one_local()


class _Out:
    def __repr__(self) -> str:
        return "OUT"


OUT = _Out()  # marker: "the op's own output" in a saved tuple

_FREED = ("Trying to backward through the graph a second time (or directly "
          "access saved tensors after they have already been freed). Saved "
          "intermediate values of the graph are freed when you call "
          ".backward() or autograd.grad(). Specify retain_graph=True if you "
          "need to backward through the graph a second time.")


_sequence = itertools.count()


class Node:
    """One recorded op (what PyTorch calls a grad_fn)."""

    __slots__ = ("op", "backward", "next", "saved", "checks", "out_index",
                 "hooks", "retain_ref", "seq", "__weakref__")

    def __init__(self, op: str, backward: Callable, next_: tuple,
                 saved: tuple) -> None:
        # Creation order: a node's inputs were made before it, so running
        # nodes from the highest seq down reaches each one after all of its
        # consumers (PyTorch's sequence_nr).
        self.seq = next(_sequence)
        self.op = op                            # the name given to record()
        self.backward = backward
        self.next = next_
        self.saved = saved
        self.checks: tuple = ()                 # (index in saved, version)
        self.out_index = -1                     # where OUT sits in saved
        self.hooks: Optional[list] = None       # hooks on the output tensor
        self.retain_ref = None                  # output tensor, if retain_grad()

    def name(self) -> str:
        """PyTorch's name for the node: the op in CamelCase, then
        Backward0 (log_softmax gives LogSoftmaxBackward0)."""
        return "".join(w[:1].upper() + w[1:] for w in self.op.split("_")) + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_functions(self) -> tuple:
        return tuple(e if isinstance(e, Node) else None for e in self.next)

    def _saved_values(self) -> tuple:
        if self.saved is None:
            raise RuntimeError(_FREED)
        for index, version in self.checks:
            item = self.saved[index]
            if _version(item._h) != version:
                raise RuntimeError(
                        f"one of the variables needed for gradient computation "
                        f"has been modified by an inplace operation: "
                        f"{self.op} saved a tensor of shape {tuple(item.shape)} "
                        f"at version {version}, and it is now at version "
                        f"{_version(item._h)}. Compute the in-place op on a "
                        "clone, or before the op that saved it.")
        if self.out_index < 0 or not state.enabled:
            return self.saved
        out = _alias(self.saved[self.out_index])
        out.grad_fn = self
        out._rg = True
        saved = list(self.saved)
        saved[self.out_index] = out
        return tuple(saved)

    def release(self) -> None:
        self.saved = None


def _edge(t):
    if t is None or not t._rg:
        return None
    return t.grad_fn if t.grad_fn is not None else t


def record(name: str, out, inputs: Sequence, backward: Callable,
           saved: tuple = ()) -> None:
    """Make `out` the result of a differentiable op on `inputs`.

    Call only when grad mode is on and some input requires grad (see
    `needs_grad`). `inputs` holds Tensors or None, in the order of the
    gradients `backward(grad, *saved)` returns.
    """
    node = Node(name, backward, tuple([_edge(t) for t in inputs]), saved)
    if saved:
        checks = []
        i = 0
        for item in saved:
            if item.__class__ is Tensor or isinstance(item, Tensor):  # subclasses too
                checks.append((i, _version(item._h)))
            elif item is OUT:
                node.out_index = i
                item = _alias(out)
                saved = saved[:i] + (item,) + saved[i + 1:]
                checks.append((i, _version(item._h)))
            i += 1
        node.saved = saved
        node.checks = tuple(checks)
    out.grad_fn = node
    out._rg = True


def needs_grad(*tensors) -> bool:
    """True when grad mode is on and some of the tensors require grad."""
    if not state.enabled:
        return False
    for t in tensors:
        if t is not None and t._rg:
            return True
    return False


# ---- the engine -----------------------------------------------------------------
def _accumulate(store: Dict, key, grad) -> None:
    prev = store.get(key)
    store[key] = grad if prev is None else prev + grad


def _run_hooks(hooks, grad):
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            _check_hook_result(hook, grad, result)
            grad = result
    return grad


def _check_hook_result(hook, grad, result) -> None:
    """A hook's replacement must be a gradient for the same tensor (PyTorch's
    rule): the formulas and the accumulation downstream rely on it."""
    name = getattr(hook, "__name__", None) or type(hook).__name__
    if not isinstance(result, Tensor):
        raise TypeError(f"hook '{name}' returned a {type(result).__name__}; a "
                        "gradient hook must return a Tensor or None")
    if result.shape != grad.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value (was "
                           f"{grad.shape}, got {result.shape})")
    if result.dtype is not grad.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was "
                           f"{grad.dtype.name}, got {result.dtype.name})")


# backward() may run in several threads whose graphs share a leaf; its .grad
# is read, added to and written back under this lock, so no contribution is
# lost (PyTorch's AccumulateGrad holds a mutex too). Only the accumulation
# holds it, not the formulas.
grad_lock = threading.Lock()


def accumulate_grad(t, g, create_graph: bool, own: bool = False) -> None:
    """Add g into t.grad (g has t's shape and dtype). Call with grad_lock.
    own: g is the caller's alone (see run_backward), .grad may be g itself."""
    if create_graph:
        t._grad = g if t._grad is None else t._grad + g
    elif t._grad is None and own:
        t._grad = g
    elif t._grad is None:
        # A private contiguous copy: g may be a broadcast view (stride 0)
        # or shared with another leaf or with the caller's seed, and the
        # next backward accumulates into .grad in place.
        t._grad = _clone_raw(g)
    else:
        t._grad.add_(g)


def run_backward(roots: Sequence, grads: Sequence, retain_graph: bool,
                 create_graph: bool, inputs: Optional[Sequence] = None,
                 allow_unused: bool = False) -> Optional[tuple]:
    """Propagate grads from roots. With `inputs`, return the gradients of
    those tensors (autograd.grad) instead of accumulating into leaves."""
    node_grads: Dict[Node, object] = {}
    leaf_grads: Dict[int, object] = {}
    leaves: Dict[int, Tensor] = {}
    root_nodes: List[Node] = []
    for root, grad in zip(roots, grads):
        if root.grad_fn is not None:
            _accumulate(node_grads, root.grad_fn, grad)
            root_nodes.append(root.grad_fn)
        else:  # a leaf as its own root
            _accumulate(leaf_grads, id(root), grad)
            leaves[id(root)] = root

    wanted_nodes = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                wanted_nodes[t.grad_fn] = i

    # Highest sequence number first: each node runs after all its consumers.
    heap = [(-n.seq, n) for n in set(root_nodes)]
    heapq.heapify(heap)
    captured: Dict[int, object] = {}
    prev_enabled = state.enabled
    state.enabled = create_graph
    try:
        while heap:
            node = heapq.heappop(heap)[1]
            grad = node_grads.pop(node, None)
            if grad is None:
                continue
            if node.hooks:
                grad = _run_hooks(node.hooks, grad)
            if node.retain_ref is not None:
                t = node.retain_ref()
                if t is not None:
                    t._grad = grad if create_graph else grad.detach()
            if node in wanted_nodes:
                captured[wanted_nodes[node]] = grad
            input_grads = node.backward(grad, *node._saved_values())
            if not retain_graph:
                node.release()
            for edge, g in zip(node.next, input_grads):
                if edge is None or g is None:
                    continue
                if edge.__class__ is Node:
                    if edge not in node_grads:
                        heapq.heappush(heap, (-edge.seq, edge))
                    _accumulate(node_grads, edge, g)
                else:
                    _accumulate(leaf_grads, id(edge), g)
                    leaves[id(edge)] = edge
        # the last node's gradients, dropped here so that the leaf loop
        # below can take a sole reference as .grad instead of copying it
        input_grads = g = None
    finally:
        state.enabled = prev_enabled

    if inputs is not None:
        results = []
        for i, t in enumerate(inputs):
            g = captured.get(i) if t.grad_fn is not None else leaf_grads.get(id(t))
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not "
                    "used in computing the outputs; pass allow_unused=True to "
                    "get None for it")
            if g is not None and t._hooks:
                g = _run_hooks(t._hooks, g)
            if g is not None and g.dtype is not t.dtype:
                g = g.to(t.dtype)
            results.append(g if g is None or create_graph else g.detach())
        return tuple(results)

    while leaf_grads:
        key, g = leaf_grads.popitem()
        leaf = leaves[key]
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g)
        if g.dtype is not leaf.dtype:
            g = g.to(leaf.dtype)
        # A gradient that only this loop references (no other Python name,
        # no other C header, no view of its storage) may become .grad
        # itself instead of a copy, as PyTorch's AccumulateGrad steals it:
        # nobody else can see the later in-place accumulations into it.
        own = (not create_graph and sys.getrefcount(g) == _ONE_LOCAL_REF
               and g.__class__ is Tensor and _sole_owner(g._h))
        with grad_lock:
            accumulate_grad(leaf, g, create_graph, own)
    return None


class RemovableHandle:
    """Returned by register_hook; .remove() takes the hook back."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


# ---- in-place ops -----------------------------------------------------------------
def check_inplace(target, op: str) -> None:
    """An in-place write into a leaf that requires grad would corrupt its
    gradient; PyTorch forbids it, so do we."""
    if state.enabled and target._rg and target.grad_fn is None:
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad is being used in an "
            "in-place operation; do it under tinyfin.no_grad(), or on a clone")


def preserve_saved(node, target) -> None:
    """Before target is overwritten in place with the result of node's op,
    give node private copies of the saved tensors that share target's
    storage (PyTorch's "original self"): the formula needs the old values.
    Each copy keeps the original's grad_fn, so create_graph still sees the
    original's history."""
    if node is None or not node.saved:
        return
    saved = list(node.saved)
    checks = dict(node.checks)
    for i, item in enumerate(saved):
        if (isinstance(item, Tensor) and i != node.out_index and
                _C.tf_tensor_same_storage(item._h, target._h)):
            copy = _clone_raw(item)
            copy.grad_fn, copy._rg = item.grad_fn, item._rg
            saved[i] = copy
            checks[i] = _version(copy._h)
    node.saved = tuple(saved)
    node.checks = tuple(checks.items())


def _clone_raw(t):
    return _call(_C.tf_clone, t._h)


def rebase_history(target, result) -> None:
    """target was overwritten in place with result's values: from now on it
    carries result's graph (and result's node reads target as its output)."""
    node = result.grad_fn
    target.grad_fn = node
    target._rg = result._rg
    if node is not None and node.out_index >= 0:
        # The formula must read target's storage and check its version.
        saved = list(node.saved)
        saved[node.out_index] = _alias(target)
        node.saved = tuple(saved)
        node.checks = tuple((i, _version(target._h)) if i == node.out_index
                            else (i, v) for i, v in node.checks)
