"""OpInfo entries of the view, shape and indexing ops. All are exact (they
move values, never round them), so their forward check is bitwise against
NumPy in every dtype; float ones are differentiable (gradients scatter back)."""
from __future__ import annotations

import numpy as np

import tinyfin as tf

from .opdb import ALL_DTYPES, ErrorInput, OpInfo, Sample, Tol, finite_values

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
                else:
                    arrs.append(finite_values(dtype, s, rng))
            n = int(np.prod(arrs[0].shape)) if arrs else 0
            out.append(Sample(tuple(arrs), args=args, kwargs=kwargs, layout=layout,
                              desc=f"{[a.shape for a in arrs]} {args or ''} {kwargs or ''} {layout}",
                              grad=0 < n <= 30))
        return out
    return gen


C, T, S, E = "contiguous", "transposed", "strided", "expanded"


def E_(desc, make, exc, match):
    return ErrorInput(desc, make, exc, match)


def _entry(name, call, ref, specs, *, kind="shape", aliases=(), methods=None,
           dtypes=ALL_DTYPES, diff=True, errors=(), variant=""):
    return OpInfo(name, call, _np(ref), kind, dtypes=dtypes, samples=_specs(specs),
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
    _entry("flatten", lambda x, *a: tf.flatten(x, *a), lambda x, *a: x.reshape(-1) if not a
           else x.reshape(x.shape[:a[0]] + (-1,)),
           [(((2, 3, 4),), (), {}, C), (((2, 3, 4),), (1,), {}, S), (((),), (), {}, C)], kind="view"),
    _entry("unflatten", lambda x, d, s: tf.unflatten(x, d, s),
           lambda x, d, s: x.reshape(x.shape[:d] + tuple(s) + x.shape[d + 1:]),
           [(((2, 6),), (1, (2, 3)), {}, C), (((6, 2),), (0, (3, 2)), {}, T)], kind="view"),
    _entry("squeeze", lambda x, *a: tf.squeeze(x, *a), lambda x, *a: np.squeeze(x, *a),
           [(((1, 3, 1),), (), {}, C), (((1, 3, 1),), (0,), {}, C), (((),), (), {}, C)],
           kind="view"),
    _entry("unsqueeze", tf.unsqueeze, np.expand_dims,
           [(((3,),), (0,), {}, C), (((3, 4),), (-1,), {}, T), (((),), (0,), {}, C)],
           kind="view",
           errors=[E_("dim out of range", lambda: tf.unsqueeze(tf.ones(2), 3), IndexError,
                      r"unsqueeze: dim 3")]),
    _entry("transpose", tf.transpose, lambda x, a, b: np.swapaxes(x, a, b),
           [(((2, 3),), (0, 1), {}, C), (((2, 3, 4),), (0, 2), {}, S), (((0, 2),), (0, 1), {}, C)],
           kind="view", aliases=("swapaxes", "swapdims"),
           methods=("transpose", "swapaxes", "swapdims")),
    _entry("permute", lambda x, *d: tf.permute(x, *d), lambda x, *d: np.transpose(x, d),
           [(((2, 3, 4),), (2, 0, 1), {}, C), (((2, 3, 4),), (1, 2, 0), {}, S)], kind="view"),
    _entry("t", tf.t, lambda x: x.T, [(((2, 3),), (), {}, C), (((3,),), (), {}, C)], kind="view"),
    _entry("movedim", tf.movedim, np.moveaxis, [(((2, 3, 4),), (0, 2), {}, C)], kind="view",
           aliases=("moveaxis",), methods=("movedim", "moveaxis")),
    _entry("expand", lambda x, *s: x.expand(*s), lambda x, *s: np.broadcast_to(x, s),
           [(((3, 1),), (3, 4), {}, C), (((),), (2, 2), {}, C)], kind="view",
           methods=("expand", "expand_as")),
    _entry("broadcast_to", tf.broadcast_to, np.broadcast_to,
           [(((3, 1),), ((2, 3, 4),), {}, C), (((4,),), ((0, 4),), {}, C)], kind="view",
           methods=("broadcast_to",)),
    _entry("broadcast_tensors", lambda a, b: tf.broadcast_tensors(a, b),
           lambda a, b: tuple(np.broadcast_arrays(a, b)),
           [(((3, 1), (4,)), (), {}, C)], kind="view"),
    _entry("as_strided", lambda x, s, st, o: tf.as_strided(x, s, st, o),
           lambda x, s, st, o: np.lib.stride_tricks.as_strided(
               x.reshape(-1)[o:], s, tuple(v * x.itemsize for v in st)),
           [(((12,),), ((3, 2), (4, 1), 1), {}, C)], kind="view",
           errors=[E_("out of bounds", lambda: tf.as_strided(tf.ones(4), (3,), (2,), 0),
                      ValueError, r"as_strided")]),
    _entry("narrow", tf.narrow, lambda x, d, s, n: np.take(x, range(s, s + n), axis=d),
           [(((5, 4),), (0, 1, 3), {}, C), (((5, 4),), (1, 2, 2), {}, T)], kind="view"),
    _entry("contiguous", lambda x: x.contiguous(), np.ascontiguousarray,
           [(((3, 4),), (), {}, T), (((2, 3, 4),), (), {}, S)], kind="view"),
    _entry("clone", tf.clone, np.copy, [(((3, 4),), (), {}, T), (((),), (), {}, C)], kind="view"),
    _entry("to", lambda x: x.to(tf.float64), lambda x: x.astype(np.float64),
           [(((3, 4),), (), {}, T)], kind="view", diff=True,
           methods=("to", "double", "float", "long", "bool", "type_as", "cpu")),
    _entry("unbind", tf.unbind, lambda x, d=0: tuple(np.moveaxis(x, d, 0)),
           [(((3, 4),), (1,), {}, T)]),
    # ---- copies by shape ----
    _entry("cat", lambda a, b, **k: tf.cat([a, b], **k),
           lambda a, b, dim=0: np.concatenate([a, b], axis=dim),
           [(((2, 3), (4, 3)), (), {}, C), (((2, 3), (2, 5)), (), {"dim": 1}, T),
            (((0, 3), (2, 3)), (), {}, C)], aliases=("concat", "concatenate"), methods=(),
           errors=[E_("ndim mismatch", lambda: tf.cat([tf.ones(2), tf.ones(2, 2)]), ValueError,
                      r"cat: tensors must have the same number of dims")]),
    _entry("stack", lambda a, b, **k: tf.stack([a, b], **k),
           lambda a, b, dim=0: np.stack([a, b], axis=dim),
           [(((2, 3), (2, 3)), (), {"dim": 1}, C), (((), ()), (), {}, C)], methods=()),
    _entry("hstack", lambda a, b: tf.hstack([a, b]), lambda a, b: np.hstack([a, b]),
           [(((2, 3), (2, 2)), (), {}, C), (((3,), (2,)), (), {}, C)], methods=()),
    _entry("vstack", lambda a, b: tf.vstack([a, b]), lambda a, b: np.vstack([a, b]),
           [(((2, 3), (1, 3)), (), {}, C), (((3,), (3,)), (), {}, C)], methods=(),
           aliases=("row_stack",)),
    _entry("split", lambda x, s, **k: tf.split(x, s, **k),
           lambda x, s, dim=0: tuple(np.split(x, range(s, x.shape[dim], s), axis=dim)),
           [(((5, 3),), (2,), {}, C), (((3, 4),), (2,), {"dim": 1}, T)]),
    _entry("split_with_sizes", lambda x, s, **k: tf.split_with_sizes(x, s, **k),
           lambda x, s, dim=0: tuple(np.split(x, np.cumsum(s)[:-1], axis=dim)),
           [(((5, 3),), ([2, 3],), {}, C)]),
    _entry("chunk", tf.chunk, lambda x, c, dim=0: tuple(np.array_split(x, c, axis=dim)),
           [(((6, 3),), (3,), {}, C), (((4, 2),), (2,), {}, T)]),
    _entry("flip", tf.flip, lambda x, d: np.flip(x, d),
           [(((3, 4),), ((0,),), {}, C), (((2, 3, 4),), ((0, 2),), {}, S), (((),), ((),), {}, C)]),
    _entry("fliplr", tf.fliplr, np.fliplr, [(((3, 4),), (), {}, T)]),
    _entry("flipud", tf.flipud, np.flipud, [(((3, 4),), (), {}, T)]),
    _entry("repeat", lambda x, *s: x.repeat(*s), lambda x, *s: np.tile(x, s),
           [(((2, 3),), (2, 1), {}, C), (((3,),), (2, 2), {}, C)]),
    _entry("tile", tf.tile, np.tile, [(((2, 3),), ((2, 1),), {}, T)]),
    _entry("roll", lambda x, s, **k: tf.roll(x, s, **k),
           lambda x, s, dims=None: np.roll(x, s, axis=dims),
           [(((3, 4),), (1,), {}, C), (((3, 4),), (-1,), {"dims": 1}, T)]),
    _entry("pad", lambda x, p, **k: tf.pad(x, p, **k),
           lambda x, p, value=0.0: np.pad(x, [(0, 0)] * (x.ndim - len(p) // 2) +
                                          [(p[2 * i], p[2 * i + 1]) for i in range(len(p) // 2)][::-1],
                                          constant_values=value),
           [(((3, 4),), ((1, 2),), {}, C), (((3, 4),), ((1, 0, 0, 2),), {"value": 1.0}, T)],
           dtypes=("float32", "float64"), methods=()),
    _entry("tril", tf.tril, np.tril, [(((3, 4),), (), {}, C), (((4, 3),), (1,), {}, T)],
           methods=("tril", "tril_")),
    _entry("triu", tf.triu, np.triu, [(((3, 4),), (), {}, C), (((4, 3),), (-1,), {}, T)],
           methods=("triu", "triu_")),
    # ---- indexing ----
    _entry("gather", lambda x, i: tf.gather(x, 1, i), lambda x, i: np.take_along_axis(x, i, axis=1),
           [(((3, 4), ("idx", (3, 2), 4)), (), {}, C)], kind="index",
           errors=[E_("index out of range", lambda: tf.gather(tf.ones(2, 3), 1, tf.tensor([[5]])),
                      IndexError, r"gather: index 5 is out of bounds")]),
    _entry("take_along_dim", tf.take_along_dim,
           lambda x, i, dim=None: np.take_along_axis(x, i, axis=dim),
           [(((3, 4), ("idx", (3, 2), 4)), (), {"dim": 1}, C)], kind="index"),
    _entry("index_select", lambda x, i: tf.index_select(x, 1, i), lambda x, i: np.take(x, i, axis=1),
           [(((3, 4), ("idx", (5,), 4)), (), {}, T)], kind="index"),
    _entry("scatter_add", lambda x, i, s: tf.scatter_add(x, 1, i, s),
           lambda x, i, s: _scatter_add(x, 1, i, s),
           [(((3, 4), ("idx", (3, 4), 4), (3, 4)), (), {}, C)], kind="index",
           dtypes=("float32", "float64", "int64"), methods=("scatter_add", "scatter_add_")),
    _entry("index_put", lambda x, i, v: tf.index_put(x, (i,), v),
           lambda x, i, v: _index_put(x, i, v),
           [(((5, 3), ("idx", (2,), 5), (2, 3)), (), {}, C)], kind="index",
           methods=("index_put", "index_put_")),
    _entry("masked_fill", lambda x, m: tf.masked_fill(x, m, 2.0),
           lambda x, m: np.where(m, np.asarray(2.0).astype(x.dtype), x),
           [(((3, 4), ("mask", (3, 4))), (), {}, C), (((3, 4), ("mask", (4,))), (), {}, T)],
           kind="index", dtypes=("float32", "float64"), methods=("masked_fill", "masked_fill_")),
    _entry("masked_select", tf.masked_select, lambda x, m: x[np.broadcast_to(m, x.shape)],
           [(((3, 4), ("mask", (3, 4))), (), {}, C)], kind="index"),
    _entry("nonzero", tf.nonzero, lambda x: np.argwhere(x),
           [(((3, 4),), (), {}, C), (((0,),), (), {}, C)], kind="index", diff=False),
    _entry("argwhere", tf.argwhere, np.argwhere, [(((3, 4),), (), {}, T)], kind="index",
           diff=False),
]
for _e in ENTRIES:
    if _e.name in ("gather", "scatter_add", "index_select", "take_along_dim",
                   "index_put", "masked_fill", "masked_select", "nonzero", "argwhere",
                   "as_strided"):
        _e.gradgrad = False
    if _e.name == "as_strided":
        _e.differentiable = False
        _e.nondiff = "tinyfin does not differentiate through as_strided (raises)"


def _scatter_add(x, d, i, s):
    out = x.copy()
    idx = list(np.indices(i.shape))
    idx[d] = i
    np.add.at(out, tuple(idx), s)
    return out


def _index_put(x, i, v):
    out = x.copy()
    out[i] = v
    return out
