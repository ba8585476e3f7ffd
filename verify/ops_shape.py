"""OpInfo entries of the view, shape and indexing ops. All are exact (they
move values, never round them), so their forward check is bitwise against
NumPy in every dtype; float ones are differentiable (gradients scatter back)."""
from __future__ import annotations

import dataclasses

import numpy as np

import tinyfin as tf

from .opdb import (ALL_DTYPES, ErrorInput, OpInfo, Sample, Tol, finite_values, grid_values,
                   iterator_samples)

EXACT = {"float32": Tol(ulp=0), "float64": Tol(ulp=0)}


def _np(f):
    def g(*a, **k):
        return f(*[np.asarray(x) if isinstance(x, np.ndarray) else x for x in a], **k)
    return g


def _specs(specs):
    """specs: (input shapes, args, kwargs, layout) -> a sample generator.
    Integer index inputs are given as ("idx", shape, high)."""
    def gen(dtype, rng):
        out = []
        for shapes, args, kwargs, layout in specs:
            arrs = []
            for s in shapes:
                if isinstance(s, tuple) and s and s[0] == "idx":
                    arrs.append(rng.integers(0, s[2], size=s[1]).astype(np.int64))
                elif isinstance(s, tuple) and s and s[0] == "mask":
                    arrs.append(rng.random(s[1]) < 0.5)
                elif isinstance(s, tuple) and s and s[0] == "grid":
                    arrs.append(grid_values(dtype, s[1], rng))
                else:
                    arrs.append(finite_values(dtype, s, rng))
            n = int(np.prod(arrs[0].shape)) if arrs else 0
            out.append(Sample(tuple(arrs), args=args, kwargs=kwargs, layout=layout,
                              desc=f"{[a.shape for a in arrs]} {args or ''} {kwargs or ''} {layout}",
                              grad=0 < n <= 30))
        return out
    return gen


C, T, S, E = "contiguous", "transposed", "strided", "expanded"


# ---- references with PyTorch's conventions where NumPy has none -----------------
def _flatten_ref(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


def _expand_ref(x, *sizes):
    """-1 keeps the size of the tensor's dim (aligned at the right)."""
    lead = len(sizes) - x.ndim
    return np.broadcast_to(x, tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes)))


def _to_ref(x, *args, dtype=None):
    """x.to(dtype), x.to(other tensor), x.to("cpu", dtype)."""
    for a in args:
        if isinstance(a, tf.Tensor):
            dtype = a.dtype
        elif isinstance(a, tf.dtype):
            dtype = a
    return x.astype(dtype.numpy)


def _split_ref(x, s, dim=0):
    """An int: pieces of s (the last smaller); a list: those sizes."""
    n = x.shape[dim]
    cuts = np.cumsum(s)[:-1] if isinstance(s, (list, tuple)) else range(s, n, s)
    return tuple(np.split(x, list(cuts), axis=dim))


def _pad_ref(x, p, mode="constant", value=0.0):
    """torch.nn.functional.pad: p lists (before, after) from the last dim;
    negative amounts crop (constant mode); reflect excludes the edge
    (NumPy's reflect), replicate repeats it (NumPy's edge), circular wraps
    the cropped input around (NumPy's wrap)."""
    widths = [(0, 0)] * (x.ndim - len(p) // 2) + \
        [(p[2 * i], p[2 * i + 1]) for i in range(len(p) // 2)][::-1]
    x = x[tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(widths, x.shape))]
    widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    if mode == "constant":
        return np.pad(x, widths, constant_values=np.asarray(value).astype(x.dtype))
    return np.pad(x, widths, mode={"reflect": "reflect", "replicate": "edge",
                                   "circular": "wrap"}[mode])


def _gather_ref(x, i, dim=1):
    """torch.gather: the index may be smaller than the input in the other
    dims, which then read only their leading part."""
    d = dim % x.ndim
    x = x[tuple(slice(None) if k == d else slice(0, n) for k, n in enumerate(i.shape))]
    return np.take_along_axis(x, i, axis=d)


# ---- __getitem__, __setitem__ and index_put: an index spec in the sample's
# args, with NumPy's semantics (which tinyfin follows), read by both sides
class _Index:
    """An index as NumPy reads it (ints, slices, None, Ellipsis, int and bool
    arrays, lists); `tinyfin` is the same index with tensors for arrays."""
    def __init__(self, spec):
        self.numpy = spec

    @property
    def tinyfin(self):
        def conv(i):
            if isinstance(i, np.ndarray):
                return tf.from_numpy(i)
            return tuple(conv(j) for j in i) if isinstance(i, tuple) else i
        return conv(self.numpy)

    def __repr__(self):
        def show(i):
            if isinstance(i, np.ndarray):
                return f"array{i.tolist()}"
            if isinstance(i, slice):
                return f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}" + \
                    ("" if i.step is None else f":{i.step}")
            if isinstance(i, tuple):
                return ", ".join(map(show, i))
            return "..." if i is Ellipsis else repr(i)
        return f"[{show(self.numpy)}]"


def _getitem_call(x, spec):
    return x[spec.tinyfin]


def _setitem_call(x, *rest):
    """y = x.clone(); y[spec] = value: a tensor input (x, value; spec) or a
    Python scalar (x; spec, value)."""
    value, spec = (rest[0], rest[1]) if isinstance(rest[0], tf.Tensor) else (rest[1], rest[0])
    y = x.clone()
    y[spec.tinyfin] = value
    return y


def _setitem_ref(x, *rest):
    value, spec = (rest[1], rest[0]) if isinstance(rest[0], _Index) else (rest[0], rest[1])
    y = x.copy()
    y[spec.numpy] = value
    return y


def _negated(rng, positions, size):
    """positions (distinct) with about half written from the end (p - size)."""
    return np.where(rng.random(len(positions)) < 0.5, positions - size, positions).astype(np.int64)


def _getitem_samples(dtype, rng):
    x = lambda: finite_values(dtype, (3, 4, 5), rng)  # noqa: E731
    mask = rng.random((3, 4)) < 0.5
    specs = [-1, (-1, -2), (slice(-2, None), -1), (slice(None, -1, 2), slice(1, None, 3)),
             (Ellipsis, -1), (None, -2, slice(None), None), np.array([-1, 0, -3]),
             (np.array([-1, 1]), slice(None), np.array([-2, 0])),
             (slice(1, None), np.array([[-1], [0]]), np.array([2, -5])), [-1, 2], mask,
             (mask[:, 0], -1), np.array(True), (Ellipsis, np.array([-1, 0])), (-3, slice(None), 4)]
    return [Sample((x(),), args=(_Index(i),), desc=repr(_Index(i)),
                   layout=T if k % 3 == 1 else C) for k, i in enumerate(specs)]


def _setitem_samples(dtype, rng):
    f = lambda *s: finite_values(dtype, s, rng)  # noqa: E731
    scalar = {"bool": True, "int64": 7}.get(dtype, 7.5)
    cases = [((-1,), f(4, 5)), ((slice(None), -2), scalar), (np.array([-1, 0]), f(5)),
             (rng.random((3, 4)) < 0.5, scalar), ((Ellipsis, -1), f(3, 4)),
             (([0, -1], [-1, 0]), f(2, 5)), ((slice(1, None), np.array([-2, 1])), f(2, 2, 5))]
    out = []
    for k, (spec, value) in enumerate(cases):
        i = _Index(spec)
        if isinstance(value, np.ndarray):
            out.append(Sample((f(3, 4, 5), value), args=(i,), desc=f"{i} = tensor{value.shape}"))
        else:
            out.append(Sample((f(3, 4, 5),), args=(i, value), desc=f"{i} = {value!r}",
                              layout=T if k % 2 else C))
    return out


def _index_put_call(x, v, spec, accumulate=False):
    return tf.index_put(x, spec.tinyfin, v, accumulate=accumulate)


def _index_put(x, v, spec, accumulate=False):
    out = x.copy()
    index = tuple(slice(None) if i is None else i for i in spec.numpy)
    if accumulate:
        np.add.at(out, index, v)
    else:
        out[index] = v
    return out


def _index_put_samples(dtype, rng):
    """Distinct positions (some negative) without accumulate, repeated ones
    with it; a None (a whole dim), two index tensors, a bool mask."""
    f = lambda *s: finite_values(dtype, s, rng)  # noqa: E731
    rows = _negated(rng, rng.permutation(5)[:2], 5)
    cases = [((rows,), f(2, 3), {}), ((rows,), f(3), {}), ((rows,), f(), {}),
             ((np.array([0, -5, 2, 2, -1]),), grid_values(dtype, (5, 3), rng), {"accumulate": True}),
             ((None, _negated(rng, np.array([0, 2]), 3)), f(5, 2), {}),
             ((_negated(rng, np.array([1, 4, 0]), 5), np.array([-1, 0, 1])), f(3), {}),
             ((rng.random((5, 3)) < 0.5,), f(), {}),
             ((np.array([-1, -1, 3]), np.array([0, 0, -3])), grid_values(dtype, (3,), rng),
              {"accumulate": True})]
    if dtype == "bool":   # True + True: the sum has no bool form; accumulate is an or
        cases = [c for c in cases if not c[2]]
    return [Sample((grid_values(dtype, (5, 3), rng), v), args=(_Index(spec),), kwargs=kw,
                   desc=f"{_Index(spec)} {kw or ''} values {v.shape}") for spec, v, kw in cases]


def _chunk_ref(x, chunks, dim=0):
    """PyTorch's chunk: pieces of ceil(n / chunks), so maybe fewer chunks."""
    n = x.shape[dim]
    size = -(-n // chunks) if n else 1
    return tuple(np.split(x, list(range(size, n, size)), axis=dim))


def E_(desc, make, exc, match):
    return ErrorInput(desc, make, exc, match)


def _entry(name, call, ref, specs, *, kind="shape", aliases=(), methods=None,
           dtypes=ALL_DTYPES, diff=True, errors=(), variant="", grad_if=None):
    """grad_if(sample): which small samples gradcheck takes (default: all)."""
    samples = _specs(specs)
    if grad_if is not None:
        samples = (lambda gen: lambda dt, rng: [
            dataclasses.replace(s, grad=s.grad and grad_if(s)) for s in gen(dt, rng)])(samples)
    return OpInfo(name, call, _np(ref), kind, dtypes=dtypes, samples=samples,
                  aliases=aliases, variant=variant,
                  methods=(name,) if methods is None else methods,
                  differentiable=diff, gradgrad=diff, tol=dict(EXACT),
                  errors=(lambda: list(errors)))


ENTRIES = [
    # ---- views ----
    _entry("reshape", lambda x, *s: tf.reshape(x, s), lambda x, *s: x.reshape(s),
           [(((2, 3),), (3, 2), {}, C), (((2, 3),), (-1,), {}, T), (((),), (1, 1), {}, C),
            (((0, 4),), (4, 0), {}, C), (((2, 3, 4),), (6, 4), {}, S)],
           kind="view", methods=("reshape", "view", "view_as", "reshape_as"),
           errors=[E_("bad size", lambda: tf.reshape(tf.ones(2, 3), (4,)), ValueError,
                      r"reshape: shape \(4,\) is invalid for input of shape \(2, 3\)")]),
    _entry("flatten", lambda x, *a, **k: tf.flatten(x, *a, **k), _flatten_ref,
           [(((2, 3, 4),), (), {}, C), (((2, 3, 4),), (1,), {}, S), (((),), (), {}, C),
            (((2, 3, 4, 5),), (), {"start_dim": 1, "end_dim": -2}, T),
            (((2, 3, 4),), (0, 1), {}, C)], kind="view"),
    _entry("unflatten", lambda x, d, s: tf.unflatten(x, d, s),
           lambda x, d, s: x.reshape(x.shape[:d % x.ndim] + tuple(s) + x.shape[d % x.ndim + 1:]),
           [(((2, 6),), (1, (2, 3)), {}, C), (((6, 2),), (0, (3, 2)), {}, T),
            (((2, 6),), (-1, (-1, 3)), {}, C)], kind="view"),
    _entry("squeeze", lambda x, *a, **k: tf.squeeze(x, *a, **k),
           lambda x, *a, dim=None: np.squeeze(x, *a) if a else np.squeeze(x, dim),
           [(((1, 3, 1),), (), {}, C), (((1, 3, 1),), (0,), {}, C), (((),), (), {}, C),
            (((1, 3, 1, 2),), ((0, -2),), {}, C), (((1, 3, 1),), (), {"dim": -1}, T)],
           kind="view"),
    _entry("unsqueeze", tf.unsqueeze, np.expand_dims,
           [(((3,),), (0,), {}, C), (((3, 4),), (-1,), {}, T), (((),), (0,), {}, C)],
           kind="view",
           errors=[E_("dim out of range", lambda: tf.unsqueeze(tf.ones(2), 3), IndexError,
                      r"unsqueeze: dim 3")]),
    _entry("transpose", tf.transpose, lambda x, a, b: np.swapaxes(x, a, b),
           [(((2, 3),), (0, 1), {}, C), (((2, 3, 4),), (0, 2), {}, S), (((0, 2),), (0, 1), {}, C),
            (((2, 3, 4),), (-1, 0), {}, T)],
           kind="view", aliases=("swapaxes", "swapdims"),
           methods=("transpose", "swapaxes", "swapdims")),
    _entry("permute", lambda x, *d: tf.permute(x, *d), lambda x, *d: np.transpose(x, d),
           [(((2, 3, 4),), (2, 0, 1), {}, C), (((2, 3, 4),), (1, 2, 0), {}, S),
            (((2, 3, 4),), (-1, 0, -2), {}, T)], kind="view"),
    _entry("t", tf.t, lambda x: x.T, [(((2, 3),), (), {}, C), (((3,),), (), {}, C)], kind="view"),
    _entry("movedim", tf.movedim, np.moveaxis,
           [(((2, 3, 4),), (0, 2), {}, C), (((2, 3, 4),), ((0, 1), (2, 0)), {}, S),
            (((2, 3, 4),), (-1, 0), {}, T)], kind="view",
           aliases=("moveaxis",), methods=("movedim", "moveaxis")),
    _entry("expand", lambda x, *s: x.expand(*s), _expand_ref,
           [(((3, 1),), (3, 4), {}, C), (((),), (2, 2), {}, C), (((3, 1),), (2, -1, 4), {}, T)],
           kind="view",
           methods=("expand", "expand_as")),
    _entry("broadcast_to", tf.broadcast_to, np.broadcast_to,
           [(((3, 1),), ((2, 3, 4),), {}, C), (((4,),), ((0, 4),), {}, C)], kind="view",
           methods=("broadcast_to",)),
    _entry("broadcast_tensors", lambda a, b: tf.broadcast_tensors(a, b),
           lambda a, b: tuple(np.broadcast_arrays(a, b)),
           [(((3, 1), (4,)), (), {}, C)], kind="view"),
    _entry("as_strided", lambda x, s, st, o=None: tf.as_strided(x, s, st, o),
           lambda x, s, st, o=None: np.lib.stride_tricks.as_strided(
               x.reshape(-1)[o or 0:], s, tuple(v * x.itemsize for v in st)),
           [(((12,),), ((3, 2), (4, 1), 1), {}, C), (((12,),), ((2, 3), (1, 2)), {}, C)],
           kind="view",
           errors=[E_("out of bounds", lambda: tf.as_strided(tf.ones(4), (3,), (2,), 0),
                      ValueError, r"as_strided")]),
    _entry("narrow", tf.narrow, lambda x, d, s, n: np.take(x, range(s % x.shape[d], s % x.shape[d] + n),
                                                           axis=d),
           [(((5, 4),), (0, 1, 3), {}, C), (((5, 4),), (1, 2, 2), {}, T),
            (((5, 4),), (-1, -3, 2), {}, C)], kind="view"),
    _entry("contiguous", lambda x: x.contiguous(), np.ascontiguousarray,
           [(((3, 4),), (), {}, T), (((2, 3, 4),), (), {}, S)], kind="view"),
    _entry("clone", tf.clone, np.copy, [(((3, 4),), (), {}, T), (((),), (), {}, C)], kind="view"),
    _entry("to", lambda x, *a, **k: x.to(*a, **k), _to_ref,
           [(((3, 4),), (tf.float64,), {}, T), (((3, 4),), (tf.float32,), {}, C),
            (((3, 4),), (), {"dtype": tf.int64}, S), (((3, 4),), ("cpu", tf.bool), {}, C),
            (((3, 4),), (tf.tensor([1]),), {}, C)], kind="view", diff=True, 
           grad_if=lambda s: bool(s.args) and s.args[0] is tf.float64,
           # cuda and pin_memory need a device: tests/test_cuda_device.py checks
           # their values, tests/test_cuda.py their errors without one
           methods=("to", "double", "float", "long", "bool", "type_as", "cpu", "cuda",
                    "pin_memory"),
           errors=[E_("cuda in a cpu-only build", lambda: tf.ones(2).cuda(), RuntimeError,
                      r"cuda: device 'cuda' is not available: this build of tinyfin has no "
                      r"CUDA backend"),
                   E_("a cuda device string", lambda: tf.ones(2).to("cuda:0"), RuntimeError,
                      r"to: device 'cuda:0' is not available")]),
    _entry("unbind", tf.unbind, lambda x, d=0: tuple(np.moveaxis(x, d, 0)),
           [(((3, 4),), (1,), {}, T), (((3, 4),), (-1,), {}, C), (((3, 4),), (), {}, C)]),
    # ---- copies by shape ----
    _entry("cat", lambda a, b, **k: tf.cat([a, b], **k),
           lambda a, b, dim=0: np.concatenate([a, b], axis=dim),
           [(((2, 3), (4, 3)), (), {}, C), (((2, 3), (2, 5)), (), {"dim": 1}, T),
            (((0, 3), (2, 3)), (), {}, C), (((2, 3), (2, 2)), (), {"dim": -1}, C)],
           aliases=("concat", "concatenate"), methods=(),
           errors=[E_("ndim mismatch", lambda: tf.cat([tf.ones(2), tf.ones(2, 2)]), ValueError,
                      r"cat: tensors must have the same number of dims")]),
    _entry("stack", lambda a, b, **k: tf.stack([a, b], **k),
           lambda a, b, dim=0: np.stack([a, b], axis=dim),
           [(((2, 3), (2, 3)), (), {"dim": 1}, C), (((), ()), (), {}, C),
            (((2, 3), (2, 3)), (), {"dim": -1}, T)], methods=()),
    _entry("hstack", lambda a, b: tf.hstack([a, b]), lambda a, b: np.hstack([a, b]),
           [(((2, 3), (2, 2)), (), {}, C), (((3,), (2,)), (), {}, C)], methods=()),
    _entry("vstack", lambda a, b: tf.vstack([a, b]), lambda a, b: np.vstack([a, b]),
           [(((2, 3), (1, 3)), (), {}, C), (((3,), (3,)), (), {}, C)], methods=(),
           aliases=("row_stack",)),
    _entry("split", lambda x, s, **k: tf.split(x, s, **k),
           _split_ref,
           [(((5, 3),), (2,), {}, C), (((3, 4),), (2,), {"dim": 1}, T),
            (((3, 5),), ([1, 4],), {"dim": -1}, C)]),
    _entry("split_with_sizes", lambda x, s, **k: tf.split_with_sizes(x, s, **k),
           lambda x, s, dim=0: tuple(np.split(x, np.cumsum(s)[:-1], axis=dim)),
           [(((5, 3),), ([2, 3],), {}, C), (((3, 5),), ([0, 5],), {"dim": -1}, T)]),
    _entry("chunk", tf.chunk, _chunk_ref,
           [(((6, 3),), (3,), {}, C), (((4, 2),), (2,), {}, T), (((5, 3),), (2,), {}, C),
            (((3, 7),), (3,), {"dim": -1}, T)]),
    _entry("flip", tf.flip, lambda x, d: np.flip(x, d),
           [(((3, 4),), ((0,),), {}, C), (((2, 3, 4),), ((0, 2),), {}, S), (((),), ((),), {}, C),
            (((2, 3, 4),), ((-1, -3),), {}, T), (((3, 4),), (1,), {}, C)]),
    _entry("fliplr", tf.fliplr, np.fliplr, [(((3, 4),), (), {}, T)]),
    _entry("flipud", tf.flipud, np.flipud, [(((3, 4),), (), {}, T)]),
    _entry("repeat", lambda x, *s: x.repeat(*s), lambda x, *s: np.tile(x, s),
           [(((2, 3),), (2, 1), {}, C), (((3,),), (2, 2), {}, C)]),
    _entry("tile", tf.tile, np.tile, [(((2, 3),), ((2, 1),), {}, T), (((2, 3),), ((2,),), {}, C),
                                      (((2, 3),), ((2, 1, 2),), {}, C)]),
    _entry("roll", lambda x, s, **k: tf.roll(x, s, **k),
           lambda x, s, dims=None: np.roll(x, s, axis=dims),
           [(((3, 4),), (1,), {}, C), (((3, 4),), (-1,), {"dims": 1}, T),
            (((3, 4),), ((1, -6),), {"dims": (0, -1)}, C), (((3, 4),), (13,), {"dims": -2}, C)]),
    _entry("pad", lambda x, p, **k: tf.pad(x, p, **k), _pad_ref,
           [(((3, 4),), ((1, 2),), {}, C), (((3, 4),), ((1, 0, 0, 2),), {"value": 1.0}, T),
            (((3, 4),), ((2, 3),), {"mode": "reflect"}, C),
            (((2, 3, 4),), ((3, 1, 2, 0),), {"mode": "reflect"}, S),
            (((5,),), ((4, 4),), {"mode": "reflect"}, C),
            (((3, 4),), ((2, 3),), {"mode": "replicate"}, T),
            (((2, 3, 4),), ((1, 1, 1, 1, 1, 1),), {"mode": "replicate"}, C),
            (((3, 4),), ((-1, 2),), {}, C), (((3, 4),), ((1, -2, -1, 1),), {"value": -1.0}, T),
            (((3, 4),), ((2, 1),), {"mode": "constant", "value": 2.5}, S),
            (((3, 4),), ((1, 2),), {"mode": "circular"}, C),
            (((2, 3, 4),), ((1, 1, 3, 0),), {"mode": "circular"}, T),
            (((2, 3, 4),), ((4, 4, 0, 2),), {"mode": "circular"}, S),
            (((3, 4),), ((-1, 2, 1, -2),), {"mode": "circular"}, C)],
           methods=()),
    _entry("tril", tf.tril, lambda x, diagonal=0: np.tril(x, diagonal), [(((3, 4),), (), {}, C), (((4, 3),), (1,), {}, T),
                                      (((2, 3, 4),), (-1,), {}, S), (((3, 4),), (), {"diagonal": 9}, C)],
           methods=("tril", "tril_")),
    _entry("triu", tf.triu, lambda x, diagonal=0: np.triu(x, diagonal), [(((3, 4),), (), {}, C), (((4, 3),), (-1,), {}, T),
                                      (((2, 3, 4),), (2,), {}, S), (((3, 4),), (), {"diagonal": -9}, C)],
           methods=("triu", "triu_")),
    # ---- indexing ----
    _entry("gather", lambda x, i, dim=1: tf.gather(x, dim, i), _gather_ref,
           [(((3, 4), ("idx", (3, 2), 4)), (), {}, C), (((3, 4), ("idx", (2, 3), 3)), (), {"dim": 0}, T),
            (((2, 3, 4), ("idx", (2, 3, 5), 4)), (), {"dim": -1}, S)], kind="index",
           errors=[E_("index out of range", lambda: tf.gather(tf.ones(2, 3), 1, tf.tensor([[5]])),
                      IndexError, r"gather: index 5 is out of bounds"),
                   E_("negative index (as PyTorch)", lambda: tf.gather(tf.ones(2, 3), 1, tf.tensor([[-1]])),
                      IndexError, r"gather: index -1 is out of bounds for dimension 1 with size 3")]),
    _entry("take_along_dim", tf.take_along_dim,
           lambda x, i, dim=None: np.take_along_axis(x, i, axis=dim),
           [(((3, 4), ("idx", (3, 2), 4)), (), {"dim": 1}, C),
            (((3, 4), ("idx", (1, 2), 4)), (), {"dim": -1}, T),
            (((3, 4), ("idx", (5,), 12)), (), {}, C)], kind="index"),
    _entry("index_select", lambda x, i, dim=1: tf.index_select(x, dim, i),
           lambda x, i, dim=1: np.take(x, np.atleast_1d(i), axis=dim),
           [(((3, 4), ("idx", (5,), 4)), (), {}, T), (((3, 4), ("idx", (), 3)), (), {"dim": 0}, C),
            (((2, 3, 4), ("idx", (3,), 4)), (), {"dim": -1}, S)], kind="index"),
    _entry("scatter_add", lambda x, i, s, dim=1: tf.scatter_add(x, dim, i, s),
           lambda x, i, s, dim=1: _scatter_add(x, dim, i, s),
           [((("grid", (3, 4)), ("idx", (3, 4), 4), ("grid", (3, 4))), (), {}, C),
            ((("grid", (3, 4)), ("idx", (2, 4), 3), ("grid", (3, 4))), (), {"dim": 0}, T),
            ((("grid", (2, 3, 4)), ("idx", (2, 3, 2), 4), ("grid", (2, 3, 2))), (), {"dim": -1}, C)],
           kind="index",
           dtypes=("float32", "float64", "int64"), methods=("scatter_add", "scatter_add_")),
    OpInfo("index_put", _index_put_call, _index_put, "index", samples=_index_put_samples,
           methods=("index_put", "index_put_"), differentiable=True, tol=dict(EXACT)),
    _entry("masked_fill", lambda x, m, value=2.0: tf.masked_fill(x, m, value),
           lambda x, m, value=2.0: np.where(m, np.asarray(
               value.item() if isinstance(value, tf.Tensor) else value).astype(x.dtype), x),
           [(((3, 4), ("mask", (3, 4))), (), {}, C), (((3, 4), ("mask", (4,))), (), {}, T),
            (((3, 4), ("mask", (3, 1))), (), {"value": tf.tensor(-1.5)}, C),
            (((3, 4), ("mask", (3, 4))), (), {"value": 7}, S)],
           kind="index", methods=("masked_fill", "masked_fill_")),
    _entry("masked_select", tf.masked_select, lambda x, m: x[np.broadcast_to(m, x.shape)],
           [(((3, 4), ("mask", (3, 4))), (), {}, C)], kind="index"),
    _entry("nonzero", tf.nonzero, lambda x: np.argwhere(x),
           [(((3, 4),), (), {}, C), (((0,),), (), {}, C)], kind="index", diff=False),
    _entry("nonzero", lambda x: tf.nonzero(x, as_tuple=True), np.nonzero,
           [(((3, 4),), (), {}, C), (((2, 3, 4),), (), {}, T), (((0,),), (), {}, C)],
           kind="index", diff=False, variant="as_tuple", methods=()),
    OpInfo("getitem", _getitem_call, lambda x, spec: np.asarray(x[spec.numpy]), "index",
           dtypes=ALL_DTYPES, samples=_getitem_samples, differentiable=True, tol=dict(EXACT)),
    OpInfo("setitem", _setitem_call, _setitem_ref, "index", dtypes=ALL_DTYPES,
           samples=_setitem_samples, differentiable=True, tol=dict(EXACT)),
    _entry("argwhere", tf.argwhere, np.argwhere, [(((3, 4),), (), {}, T)], kind="index",
           diff=False),
]
for _e in ENTRIES:
    if _e.name in ("gather", "scatter_add", "index_select", "take_along_dim",
                   "index_put", "masked_fill", "masked_select", "nonzero", "argwhere",
                   "as_strided", "getitem", "setitem"):
        _e.gradgrad = False
    # the kernel slot each indexing op runs (backends.kernels_of): on a
    # device that fills it, parity and determinism run there as on the cpu
    _e.kernels = {"gather": ("gather",), "take_along_dim": ("gather",),
                  "index_select": ("index_select",), "scatter_add": ("scatter_add",),
                  "index_put": ("index_put",), "nonzero": ("nonzero",),
                  "argwhere": ("nonzero",), "masked_select": ("nonzero", "index_get")
                  }.get(_e.name, _e.kernels)
    if _e.name == "as_strided":
        _e.differentiable = False
        _e.nondiff = "tinyfin does not differentiate through as_strided (raises)"


# ---- error inputs ---------------------------------------------------------------
# The mistakes a PyTorch user makes with each op, and the message tinyfin must
# give: the op's name and the fact that was wrong (the dim, the shapes, the
# dtype). Attached below to the entries that do not list theirs inline.
def _idx(*values):
    return tf.tensor(list(values))


def _non_tensor(op, call):
    return E_("non-tensor input", call, TypeError, rf"{op}: expected a Tensor as input, got list")


def _dim_oob(op, call, dim=2, ndim=2):
    return E_("dim out of range", call, IndexError,
              rf"{op}: dim {dim} is out of range for a tensor of {ndim} dims")


def _tri_errors(op):
    f = getattr(tf, op)
    return [E_("1-d input", lambda: f(tf.ones(3)), ValueError,
               rf"{op}: input must have at least 2 dims, got shape \(3,\)"),
            E_("float diagonal", lambda: f(tf.ones(3, 3), 0.5), TypeError,
               rf"{op}: diagonal must be an int, got 0\.5")]


_ERRORS = {
    "flatten": lambda: [
        _dim_oob("flatten", lambda: tf.flatten(tf.ones(2, 3), 3), dim=3),
        E_("start after end", lambda: tf.flatten(tf.ones(2, 3, 4), 2, 1), ValueError,
           r"flatten: start_dim 2 comes after end_dim 1"),
        _non_tensor("flatten", lambda: tf.flatten([1.0, 2.0]))],
    "unflatten": lambda: [
        E_("sizes do not fit", lambda: tf.unflatten(tf.ones(2, 6), 1, (4, 2)), ValueError,
           r"unflatten: sizes \(4, 2\) multiply to 8, not to the size 6 of dim 1"),
        _dim_oob("unflatten", lambda: tf.unflatten(tf.ones(2, 6), 2, (2, 3)))],
    "squeeze": lambda: [
        _dim_oob("squeeze", lambda: tf.squeeze(tf.ones(1, 3), 2)),
        _non_tensor("squeeze", lambda: tf.squeeze([1.0]))],
    "transpose": lambda: [
        _dim_oob("transpose", lambda: tf.transpose(tf.ones(2, 3), 0, 2)),
        _non_tensor("transpose", lambda: tf.transpose([[1.0]], 0, 1))],
    "permute": lambda: [
        E_("too few dims", lambda: tf.permute(tf.ones(2, 3, 4), 0, 1), ValueError,
           r"permute: got 2 dims \(0, 1\) for a tensor of 3 dims"),
        E_("repeated dim", lambda: tf.permute(tf.ones(2, 3, 4), 0, 0, 1), ValueError,
           r"permute: dim 0 appears twice"),
        _dim_oob("permute", lambda: tf.permute(tf.ones(2, 3), 0, 2))],
    "t": lambda: [
        E_("3-d input", lambda: tf.t(tf.ones(2, 3, 4)), ValueError,
           r"t: expects a tensor of at most 2 dims, got 3"),
        _non_tensor("t", lambda: tf.t([[1.0]]))],
    "movedim": lambda: [
        _dim_oob("movedim", lambda: tf.movedim(tf.ones(2, 3), 0, 2)),
        E_("length mismatch", lambda: tf.movedim(tf.ones(2, 3, 4), (0, 1), (2,)), ValueError,
           r"movedim: source \(0, 1\) and destination \(2,\) must have the same number of dims"),
        E_("repeated dim", lambda: tf.movedim(tf.ones(2, 3, 4), (0, 0), (1, 2)), ValueError,
           r"movedim: source \(0, 0\) names a dim more than once")],
    "expand": lambda: [
        E_("size mismatch", lambda: tf.ones(3, 2).expand(3, 4), ValueError,
           r"expand: the size of tensor \(3, 2\) \(2\) must match the size 4 at dim 1 "
           r"of the target \(3, 4\)"),
        E_("fewer dims", lambda: tf.ones(3, 2).expand(2), ValueError,
           r"expand: the target shape \(2,\) has fewer dims than the tensor \(3, 2\)")],
    "broadcast_to": lambda: [
        E_("size mismatch", lambda: tf.broadcast_to(tf.ones(3, 2), (3, 4)), ValueError,
           r"broadcast_to: the size of tensor \(3, 2\) \(2\) must match the size 4 at dim 1"),
        _non_tensor("broadcast_to", lambda: tf.broadcast_to([1.0], (3,)))],
    "broadcast_tensors": lambda: [
        E_("shape mismatch", lambda: tf.broadcast_tensors(tf.ones(2, 3), tf.ones(4)), ValueError,
           r"broadcast_tensors: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
        E_("non-tensor", lambda: tf.broadcast_tensors(tf.ones(2), [1.0]), TypeError,
           r"broadcast_tensors: expected a Tensor as argument 1, got list")],
    "narrow": lambda: [
        _dim_oob("narrow", lambda: tf.narrow(tf.ones(5, 4), 3, 0, 1), dim=3),
        E_("past the end", lambda: tf.narrow(tf.ones(5, 4), 0, 3, 4), ValueError,
           r"narrow: start \(3\) \+ length \(4\) exceeds dimension size \(5\) of dim 0"),
        E_("negative length", lambda: tf.narrow(tf.ones(5, 4), 0, 0, -1), ValueError,
           r"narrow: length must be non-negative, got -1")],
    "contiguous": lambda: [
        E_("memory_format", lambda: tf.ones(2, 3).contiguous(memory_format="channels_last"),
           TypeError, r"contiguous: memory_format is not supported")],
    "clone": lambda: [_non_tensor("clone", lambda: tf.clone([1.0]))],
    "to": lambda: [
        E_("unknown dtype", lambda: tf.ones(2).to("float16"), TypeError,
           r"to: unknown dtype 'float16'; expected one of tinyfin\.float32"),
        E_("cuda", lambda: tf.ones(2).to("cuda"), RuntimeError,
           r"to: device 'cuda' is not available"),
        E_("type_as a list", lambda: tf.ones(2).type_as([1]), TypeError,
           r"type_as: expected a Tensor as other, got list")],
    "unbind": lambda: [
        _dim_oob("unbind", lambda: tf.unbind(tf.ones(3, 4), 2)),
        E_("0-d", lambda: tf.unbind(tf.tensor(1.0)), ValueError,
           r"unbind: cannot unbind a 0-d tensor")],
    "stack": lambda: [
        E_("shape mismatch", lambda: tf.stack([tf.ones(2, 3), tf.ones(3, 2)]), ValueError,
           r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 "
           r"and \(3, 2\) at entry 1"),
        _dim_oob("stack", lambda: tf.stack([tf.ones(2, 3), tf.ones(2, 3)], dim=4), dim=4, ndim=3),
        E_("a single tensor", lambda: tf.stack(tf.ones(2, 3)), TypeError,
           r"stack: expected a sequence of Tensors, got a single Tensor")],
    "hstack": lambda: [
        E_("shape mismatch", lambda: tf.hstack([tf.ones(2, 3), tf.ones(3, 3)]), ValueError,
           r"hstack: sizes of tensors must match except in dim 1, got shape \(2, 3\) at "
           r"position 0 and \(3, 3\) at position 1"),
        E_("dtype mismatch", lambda: tf.hstack([tf.ones(2), _idx(1, 2)]), TypeError,
           r"hstack: expected all tensors to have one dtype, got float32 at position 0 "
           r"and int64 at position 1")],
    "vstack": lambda: [
        E_("shape mismatch", lambda: tf.vstack([tf.ones(2, 3), tf.ones(2, 2)]), ValueError,
           r"vstack: sizes of tensors must match except in dim 0, got shape \(2, 3\)"),
        E_("empty list", lambda: tf.vstack([]), ValueError,
           r"vstack: expected a non-empty list of Tensors")],
    "split": lambda: [
        E_("zero size", lambda: tf.split(tf.ones(5, 3), 0), ValueError,
           r"split: split_size must be positive, got 0"),
        E_("sections do not add up", lambda: tf.split(tf.ones(5, 3), [2, 2]), ValueError,
           r"split: sections \(2, 2\) must be non-negative and add up to the size 5 of dim 0"),
        E_("float size", lambda: tf.split(tf.ones(5, 3), 2.5), TypeError,
           r"split: split_size_or_sections must be an int or a sequence of ints, got 2\.5")],
    "split_with_sizes": lambda: [
        E_("sizes do not add up", lambda: tf.split_with_sizes(tf.ones(5, 3), [2, 2]), ValueError,
           r"split_with_sizes: sections \(2, 2\) must be non-negative and add up to the "
           r"size 5 of dim 0"),
        E_("an int", lambda: tf.split_with_sizes(tf.ones(5, 3), 2), TypeError,
           r"split_with_sizes: split_sizes must be a sequence of ints, got 2")],
    "chunk": lambda: [
        E_("zero chunks", lambda: tf.chunk(tf.ones(6, 3), 0), ValueError,
           r"chunk: chunks must be a positive int, got 0"),
        _dim_oob("chunk", lambda: tf.chunk(tf.ones(6, 3), 2, dim=2))],
    "flip": lambda: [
        _dim_oob("flip", lambda: tf.flip(tf.ones(3, 4), (2,))),
        E_("repeated dim", lambda: tf.flip(tf.ones(3, 4), (0, 0)), ValueError,
           r"flip: dim 0 appears multiple times in the list of dims \(0, 0\)")],
    "fliplr": lambda: [
        E_("1-d input", lambda: tf.fliplr(tf.ones(3)), ValueError,
           r"fliplr: input must have at least 2 dims, got shape \(3,\)")],
    "flipud": lambda: [
        E_("0-d input", lambda: tf.flipud(tf.tensor(1.0)), ValueError,
           r"flipud: input must have at least 1 dim, got a 0-d tensor")],
    "repeat": lambda: [
        E_("fewer sizes than dims", lambda: tf.ones(2, 3).repeat(2), ValueError,
           r"repeat: number of dimensions of repeat dims \(2,\) can not be smaller than "
           r"the number of dimensions of the tensor \(2, 3\)"),
        E_("negative repeat", lambda: tf.ones(2, 3).repeat(2, -1), ValueError,
           r"repeat: repeats must be non-negative, got \(2, -1\)")],
    "tile": lambda: [
        E_("negative repeat", lambda: tf.tile(tf.ones(2, 3), (2, -1)), ValueError,
           r"tile: repeats must be non-negative, got \(2, -1\)"),
        _non_tensor("tile", lambda: tf.tile([1.0], (2,)))],
    "roll": lambda: [
        E_("length mismatch", lambda: tf.roll(tf.ones(3, 4), (1, 2), dims=0), ValueError,
           r"roll: shifts \(1, 2\) and dims \(0,\) must have the same length"),
        _dim_oob("roll", lambda: tf.roll(tf.ones(3, 4), 1, dims=2)),
        E_("float shift", lambda: tf.roll(tf.ones(3, 4), 1.5), TypeError,
           r"roll: shifts must be an int or a sequence of ints, got 1\.5")],
    "pad": lambda: [
        E_("odd-length pad", lambda: tf.pad(tf.ones(3, 4), (1,)), ValueError,
           r"pad: padding length 1 must be even"),
        E_("unknown mode", lambda: tf.pad(tf.ones(3, 4), (1, 1), mode="wrap"), ValueError,
           r"pad: mode must be one of \['circular', 'constant', 'reflect', 'replicate'\], got 'wrap'"),
        E_("circular wider than the dim", lambda: tf.pad(tf.ones(3, 4), (5, 0), mode="circular"),
           ValueError, r"pad: circular padding of \(5, 0\) in dim 1 of input of shape \(3, 4\) wraps around more than once"),
        E_("reflect wider than the dim", lambda: tf.pad(tf.ones(3, 4), (4, 4), mode="reflect"),
           ValueError, r"pad: reflect padding \(4, 4\) of dim 1 must be less than the size 4")],
    "tril": lambda: _tri_errors("tril"),
    "triu": lambda: _tri_errors("triu"),
    "take_along_dim": lambda: [
        E_("float indices", lambda: tf.take_along_dim(tf.ones(3, 4), tf.ones(3, 2), dim=1),
           TypeError, r"take_along_dim: index tensors must be int64, got float32"),
        E_("index out of range", lambda: tf.take_along_dim(tf.ones(3, 4), tf.tensor([[5]]), dim=1),
           IndexError, r"take_along_dim: index 5 is out of bounds for dimension 1 with size 4"),
        E_("negative index (as PyTorch)", lambda: tf.take_along_dim(tf.ones(3, 4), tf.tensor([[-1]]), dim=1),
           IndexError, r"take_along_dim: index -1 is out of bounds for dimension 1 with size 4"),
        E_("ndim mismatch", lambda: tf.take_along_dim(tf.ones(3, 4), _idx(0, 1), dim=1),
           ValueError, r"take_along_dim: input \(3, 4\) and indices \(2,\) must have the same "
           r"number of dims")],
    "index_select": lambda: [
        E_("float index", lambda: tf.index_select(tf.ones(3, 4), 1, tf.tensor([0.0])), TypeError,
           r"index_select: index tensors must be int64, got float32"),
        E_("index out of range", lambda: tf.index_select(tf.ones(3, 4), 1, _idx(4)), IndexError,
           r"index_select: index 4 is out of bounds for dimension 1 with size 4"),
        E_("negative index (as PyTorch)", lambda: tf.index_select(tf.ones(3, 4), 1, _idx(-1)), IndexError,
           r"index_select: index -1 is out of bounds for dimension 1 with size 4"),
        E_("2-d index", lambda: tf.index_select(tf.ones(3, 4), 1, tf.tensor([[0]])), ValueError,
           r"index_select: index must be 1-D or 0-d, got shape \(1, 1\)")],
    "scatter_add": lambda: [
        E_("float index", lambda: tf.scatter_add(tf.ones(3, 4), 1, tf.ones(3, 4), tf.ones(3, 4)),
           TypeError, r"scatter_add: index tensors must be int64, got float32"),
        E_("src dtype", lambda: tf.scatter_add(tf.ones(3, 4), 1, tf.tensor([[0]]), tf.tensor([[1]])),
           TypeError, r"scatter_add: src has dtype int64 but the input has float32"),
        E_("index out of range", lambda: tf.scatter_add(tf.ones(3, 4), 1, tf.tensor([[4]]), tf.ones(1, 1)),
           IndexError, r"scatter_add: index 4 is out of bounds for dimension 1 with size 4"),
        E_("negative index (as PyTorch)",
           lambda: tf.scatter_add(tf.ones(3, 4), 1, tf.tensor([[-1]]), tf.ones(1, 1)),
           IndexError, r"scatter_add: index -1 is out of bounds for dimension 1 with size 4")],
    "index_put": lambda: [
        E_("float index", lambda: tf.index_put(tf.ones(5, 3), (tf.tensor([0.0]),), tf.ones(1, 3)),
           IndexError, r"index_put: tensors used as indices must be int64 or bool, got float32"),
        E_("index out of range", lambda: tf.index_put(tf.ones(5, 3), (_idx(5),), tf.ones(1, 3)),
           IndexError, r"index_put: index 5 is out of bounds for dimension 0 with size 5"),
        E_("indices not a tuple", lambda: tf.index_put(tf.ones(5, 3), _idx(0), tf.ones(1, 3)),
           TypeError, r"index_put: indices must be a tuple of Tensors, got Tensor")],
    "masked_fill": lambda: [
        E_("float mask", lambda: tf.masked_fill(tf.ones(3, 4), tf.ones(3, 4), 2.0), TypeError,
           r"masked_fill: mask must be a bool tensor, got float32"),
        E_("mask shape", lambda: tf.masked_fill(tf.ones(3, 4), tf.tensor([True, False]), 2.0),
           ValueError, r"masked_fill: mask of shape \(2,\) cannot be broadcast to the input "
           r"shape \(3, 4\)"),
        E_("string value", lambda: tf.masked_fill(tf.ones(2), tf.tensor([True, False]), "a"),
           TypeError, r"masked_fill: value must be a number or a 0-d Tensor, got str")],
    "masked_select": lambda: [
        E_("float mask", lambda: tf.masked_select(tf.ones(3, 4), tf.ones(3, 4)), TypeError,
           r"masked_select: mask must be a bool tensor, got float32"),
        E_("mask shape", lambda: tf.masked_select(tf.ones(3, 4), tf.tensor([True, False])),
           ValueError, r"masked_select: mask of shape \(2,\) and input of shape \(3, 4\) "
           r"cannot be broadcast together")],
    "nonzero": lambda: [
        E_("non-tensor", lambda: tf.nonzero([1, 0]), TypeError,
           r"nonzero: expected a Tensor as input, got list")],
    "argwhere": lambda: [
        E_("non-tensor", lambda: tf.argwhere([1, 0]), TypeError,
           r"argwhere: expected a Tensor as input, got list")],
}
for _e in ENTRIES:
    if _e.name in _ERRORS:
        _e.errors = _ERRORS[_e.name]


def _scatter_add(x, d, i, s):
    """torch.scatter_add: src may be larger than the index (its rest unused)."""
    out = x.copy()
    idx = list(np.indices(i.shape))
    idx[d % x.ndim] = i
    np.add.at(out, tuple(idx), s[tuple(slice(0, n) for n in i.shape)])
    return out


# ---- large samples (checks/paths.py): copies run on the strided iterator
# above TF_PARALLEL_GRAIN; gathers (index_select, gather, pad, advanced
# indexing) on take.h's row loop, which splits the rows over threads there
def _big(dtype, rng, shape):
    return (finite_values(dtype, shape, rng),)


def _large_gathers(name):
    def gen(dtype, rng):
        x = finite_values(dtype, (300, 200), rng)
        if name == "index_select":
            cases = [((x, rng.integers(0, 200, 250)), {"dim": 1}), ((x, rng.integers(0, 300, 170)), {"dim": 0})]
        elif name == "gather":
            cases = [((x, rng.integers(0, 200, (300, 150))), {"dim": 1}),
                     ((x, rng.integers(0, 300, (170, 200))), {"dim": 0})]
        elif name == "pad":
            cases = [((x,), {"p": (2, 3, 1, 2), "mode": m})
                     for m in ("reflect", "replicate", "constant", "circular")]
        else:   # getitem: an advanced index over two dims, and a mask
            cases = [((x,), {"spec": _Index((rng.integers(-300, 300, (250, 1)), rng.integers(0, 200, 150)))}),
                     ((x,), {"spec": _Index(rng.random((300, 200)) < 0.7)})]
        return [Sample(tuple(np.asarray(a) for a in arrs), kwargs=kw, desc=f"{name} {kw.get('mode', '')}"
                       f"{[np.shape(a) for a in arrs]}", grad=False) for arrs, kw in cases]
    return gen


for _e in ENTRIES:
    if _e.id in ("contiguous", "clone"):
        _e.large = iterator_samples(_big)
    elif _e.id == "to":
        _e.large = (lambda gen: lambda dt, rng: [dataclasses.replace(s, args=(tf.float64,))
                                                 for s in gen(dt, rng)])(iterator_samples(_big))
    elif _e.id in ("index_select", "gather", "pad", "getitem"):
        _e.large = _large_gathers(_e.id)
    elif _e.id in ("tril", "triu"):   # tril.c's row loop runs in parallel from 32768 elements
        _e.large = lambda dt, rng: [
            Sample((finite_values(dt, s, rng),), args=(k,), desc=f"{s} diagonal {k}", grad=False)
            for s, k in (((200, 190), 3), ((3, 100, 130), -2))]
