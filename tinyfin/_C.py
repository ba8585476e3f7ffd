"""The one ctypes layer over the C core: every C signature is declared here.

The library is found next to this file (tinyfin/libtinyfin.so) unless the
environment variable TINYFIN_LIB names another build (the sanitizer builds use
it). Every symbol is bound at import, so a missing one fails here and not at
call time. C entry points return a status; `check` turns a failure into the
Python exception that matches it, carrying the C core's message.
"""
from __future__ import annotations

import ctypes
import os
from ctypes import (POINTER, c_bool, c_char_p, c_double, c_int, c_int64,
                    c_size_t, c_uint32, c_uint64, c_void_p)

from ._args import INT64_MAX, INT64_MIN, as_int

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load() -> ctypes.CDLL:
    path = os.environ.get("TINYFIN_LIB") or os.path.join(_HERE, "libtinyfin.so")
    if not os.path.exists(path):
        raise ImportError(
            f"tinyfin: the C core was not found at {path}; build it with "
            "`make` (development) or `pip install .`")
    if not os.path.isfile(path):
        raise ImportError(f"tinyfin: the C core path {path} is not a file "
                          "(TINYFIN_LIB must name the library itself)")
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"tinyfin: {path} could not be loaded as the C core "
                          f"({e}); rebuild it with `make`, or point "
                          "TINYFIN_LIB at a libtinyfin.so") from None


lib = _load()

T = c_void_p            # tf_tensor *
OUT = POINTER(c_void_p)  # tf_tensor **
I64P = POINTER(c_int64)
ST = c_int               # tf_status

# name: (restype, argtypes)
_SIGNATURES = {
    # errors, runtime
    "tf_last_error": (c_char_p, []),
    "tf_live_tensors": (c_int64, []),
    "tf_set_num_threads": (None, [c_int]),
    "tf_get_num_threads": (c_int, []),
    "tf_last_parallel_threads": (c_int, []),
    "tf_dtype_size": (c_size_t, [c_int]),
    # tensors
    "tf_tensor_empty": (ST, [c_int, I64P, c_int, c_int, OUT]),
    "tf_tensor_from_buffer": (ST, [c_int, I64P, c_int, c_void_p, c_size_t, c_int, OUT]),
    "tf_tensor_retain": (None, [T]),
    "tf_tensor_release": (None, [T]),
    "tf_tensor_ndim": (c_int, [T]),
    "tf_tensor_dtype": (c_int, [T]),
    "tf_tensor_device": (c_int, [T]),
    "tf_tensor_numel": (c_int64, [T]),
    "tf_tensor_offset": (c_int64, [T]),
    "tf_tensor_shape": (None, [T, I64P]),
    "tf_tensor_strides": (None, [T, I64P]),
    "tf_tensor_is_contiguous": (c_bool, [T]),
    "tf_tensor_data": (c_void_p, [T]),
    "tf_tensor_on_host": (c_bool, [T]),
    "tf_tensor_storage_data": (c_void_p, [T]),
    "tf_tensor_storage_nbytes": (c_size_t, [T]),
    "tf_tensor_same_storage": (c_bool, [T, T]),
    "tf_tensor_sole_owner": (c_bool, [T]),
    "tf_tensor_version": (c_int64, [T]),
    "tf_tensor_same_shape": (c_bool, [T, T]),
    "tf_tensor_item": (ST, [T, POINTER(c_double), I64P]),
    # views
    "tf_view": (ST, [T, c_int, I64P, OUT]),
    "tf_reshape": (ST, [T, c_int, I64P, OUT]),
    "tf_permute": (ST, [T, POINTER(c_int), OUT]),
    "tf_transpose": (ST, [T, c_int, c_int, OUT]),
    "tf_slice": (ST, [T, c_int, c_int64, c_int64, c_int64, OUT]),
    "tf_select": (ST, [T, c_int, c_int64, OUT]),
    "tf_expand": (ST, [T, c_int, I64P, OUT]),
    "tf_squeeze": (ST, [T, c_uint32, OUT]),
    "tf_unsqueeze": (ST, [T, c_int, OUT]),
    "tf_as_strided": (ST, [T, c_int, I64P, I64P, c_int64, OUT]),
    # copies
    "tf_clone": (ST, [T, OUT]),
    "tf_contiguous": (ST, [T, OUT]),
    "tf_to_dtype": (ST, [T, c_int, OUT]),
    "tf_to_device": (ST, [T, c_int, c_int, OUT]),
    "tf_to_device_nb": (ST, [T, c_int, c_int, c_bool, OUT]),
    "tf_copy_": (ST, [T, T]),
    "tf_fill_": (ST, [T, c_double, c_int64, c_int]),
    # creation and random numbers
    "tf_full": (ST, [c_int, I64P, c_int, c_double, c_int64, c_int, c_int, OUT]),
    "tf_arange": (ST, [c_double, c_double, c_int64, c_int64, c_int64, c_int, c_int, OUT]),
    "tf_linspace": (ST, [c_double, c_double, c_int64, c_int, c_int, OUT]),
    "tf_eye": (ST, [c_int64, c_int64, c_int, c_int, OUT]),
    "tf_manual_seed": (None, [c_uint64]),
    "tf_initial_seed": (c_uint64, []),
    "tf_generator_new": (c_void_p, [c_uint64]),
    "tf_generator_free": (None, [c_void_p]),
    "tf_generator_manual_seed": (None, [c_void_p, c_uint64]),
    "tf_generator_initial_seed": (c_uint64, [c_void_p]),
    "tf_generator_get_state": (None, [c_void_p, POINTER(c_uint64), POINTER(c_uint64)]),
    "tf_generator_set_state": (None, [c_void_p, c_uint64, c_uint64]),
    "tf_rand": (ST, [c_int, I64P, c_int, c_double, c_double, c_int, c_void_p, OUT]),
    "tf_randn": (ST, [c_int, I64P, c_int, c_double, c_double, c_int, c_void_p, OUT]),
    "tf_randint": (ST, [c_int, I64P, c_int, c_int64, c_int64, c_int, c_void_p, OUT]),
    # elementwise
    "tf_unary_name": (c_char_p, [c_int]),
    "tf_binary_name": (c_char_p, [c_int]),
    "tf_reduce_name": (c_char_p, [c_int]),
    "tf_unary": (ST, [c_int, T, c_double, c_double, c_double, OUT]),
    "tf_unary_into": (ST, [c_int, T, c_double, c_double, c_double, T]),
    "tf_binary": (ST, [c_int, T, T, OUT]),
    "tf_binary_into": (ST, [c_int, T, T, T]),
    "tf_binary_scalar": (ST, [c_int, T, c_double, c_int64, c_int, c_bool, OUT]),
    "tf_binary_scalar_into": (ST, [c_int, T, c_double, c_int64, c_int, T]),
    "tf_result_dtype": (ST, [c_int, T, T, POINTER(c_int)]),
    "tf_where": (ST, [T, T, T, OUT]),
    # reductions, linear algebra
    "tf_reduce": (ST, [c_int, T, c_uint32, c_bool, c_double, OUT, OUT]),
    "tf_softmax": (ST, [T, c_int, c_bool, OUT]),
    "tf_matmul": (ST, [T, T, OUT]),
    # shape ops that copy, indexing
    "tf_cat": (ST, [c_int, POINTER(c_void_p), c_int, OUT]),
    "tf_flip": (ST, [T, c_uint32, OUT]),
    "tf_pad": (ST, [T, I64P, c_int, c_double, c_int64, c_int, OUT]),
    "tf_tril": (ST, [T, c_int64, c_bool, OUT]),
    "tf_gather": (ST, [T, c_int, T, OUT]),
    "tf_scatter_add": (ST, [T, c_int, T, T, OUT]),
    "tf_index_select": (ST, [T, c_int, T, OUT]),
    "tf_index_get": (ST, [T, c_int, POINTER(c_void_p), OUT]),
    "tf_index_put_": (ST, [T, c_int, POINTER(c_void_p), T, c_bool]),
    "tf_nonzero": (ST, [T, OUT]),
    # pooling (pool)
    "tf_pool": (ST, [c_int, c_int, T, I64P, I64P, I64P, I64P, c_bool, c_bool,
                     c_bool, c_int64, OUT, OUT]),
    "tf_pool_backward": (ST, [c_int, c_int, T, T, c_int, I64P, I64P, I64P, I64P,
                              I64P, c_bool, c_bool, c_bool, c_int64, OUT]),
    "tf_adaptive_pool": (ST, [c_int, c_int, T, I64P, OUT, OUT]),
    "tf_adaptive_pool_backward": (ST, [c_int, c_int, T, T, c_int, I64P, OUT]),
    # recurrent layers (rnn): the LSTM cell's fused pointwise part
    "tf_lstm_cell": (ST, [T, T, OUT, OUT]),
    "tf_lstm_cell_backward": (ST, [T, T, T, OUT, OUT]),
    # backends
    "tf_backend_count": (c_int, []),
    "tf_backend_name": (c_char_p, [c_int]),
    "tf_backend_available": (c_bool, [c_int, POINTER(c_char_p)]),
    "tf_backend_use": (ST, [c_char_p, c_int]),
    "tf_backend_set_default": (ST, [c_char_p]),
    "tf_backend_current": (c_char_p, [c_int]),
    "tf_backend_chosen": (c_char_p, [c_int]),
    "tf_backend_which": (ST, [c_char_p, c_int, c_int, POINTER(c_char_p)]),
    "tf_backend_cpu_only": (c_char_p, [c_int, c_char_p]),
    "tf_backend_slot_name": (c_char_p, [c_int]),
    "tf_blas_load": (ST, [c_char_p]),
    "tf_blas_status": (c_char_p, []),
    "tf_cuda_device_count": (c_int, []),
    "tf_cuda_synchronize": (ST, []),
    "tf_cuda_memory_stats": (None, [I64P, I64P, I64P]),
    "tf_cuda_reset_peak_memory_stats": (None, []),
    "tf_cuda_empty_cache": (None, []),
    "tf_pin_memory": (ST, [T, OUT]),
    "tf_tensor_is_pinned": (c_bool, [T]),
    "tf_cuda_set_cublas_path": (None, [c_char_p]),
    "tf_cuda_cublas_status": (c_char_p, []),
    "tf_cuda_set_cublas_enabled": (None, [c_bool]),
    "tf_cuda_cublas_enabled": (c_bool, []),
    # the returning forms (their restype, Handle, is set below)
    "tf_last_status": (c_int, []),
    "tf_matmul_r": (T, [T, T]),
    "tf_reduce_r": (T, [c_int, T, c_uint32, c_int]),
    "tf_slice_r": (T, [T, c_int, c_int]),
    "tf_select_r": (T, [T, c_int, c_int]),
    "tf_transpose_r": (T, [T, c_int, c_int]),
    "tf_view_r": (T, [T, c_int, c_int, c_int, c_int]),
    # ---- losses (native/src/ops/loss.c) ----
    "tf_cross_entropy": (ST, [T, T, T, c_int64, c_double, c_int, OUT]),
    "tf_cross_entropy_backward": (ST, [T, T, T, T, c_int64, c_double, c_int, OUT]),
    "tf_bce_with_logits": (ST, [T, T, T, T, c_int, OUT]),
    "tf_bce_with_logits_backward": (ST, [T, T, T, T, T, c_int, OUT]),
    # normalization (norm)
    "tf_batch_norm": (ST, [T, T, T, T, T, c_bool, c_double, c_double, OUT, OUT, OUT]),
    "tf_group_norm": (ST, [T, c_int64, T, T, c_double, OUT, OUT, OUT]),
    "tf_layer_norm": (ST, [T, c_int, T, T, c_double, OUT, OUT, OUT]),
    "tf_batch_norm_backward": (ST, [T, T, T, T, T, c_bool, OUT, OUT, OUT]),
    "tf_group_norm_backward": (ST, [T, T, c_int64, T, T, T, OUT, OUT, OUT]),
    "tf_layer_norm_backward": (ST, [T, T, c_int, T, T, T, OUT, OUT, OUT]),
    # ---- convolution (conv) ----
    "tf_conv2d": (ST, [T, T, T, I64P, c_int64, c_int64, OUT]),
    "tf_conv2d_input_grad": (ST, [T, T, I64P, c_int64, c_int64, OUT]),
    "tf_conv2d_weight_grad": (ST, [T, T, I64P, c_int64, c_int64, OUT]),
    # optimizers (optim): one fused step per parameter
    "tf_sgd_step": (ST, [T, T, T, c_bool, c_double, c_double, c_double, c_double,
                         c_bool, c_bool]),
    "tf_adam_step": (ST, [T, T, T, T, T, T, c_double, c_double, c_double, c_double,
                          c_double, c_bool, c_bool]),
    "tf_rmsprop_step": (ST, [T, T, T, T, T, T, c_double, c_double, c_double,
                             c_double, c_double, c_bool]),
    "tf_adagrad_step": (ST, [T, T, T, T, c_double, c_double, c_double, c_double,
                             c_bool]),
}


def _bind() -> None:
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"tinyfin: the C core lacks the symbol {name}; "
                              "rebuild it with `make`") from None
        fn.restype = restype
        fn.argtypes = argtypes
        globals()[name] = fn


_bind()

# Hot entry points, bound a second time without argtypes. ctypes' per-call
# argument conversion costs more than the C work of a small op (about 0.3 us
# of 0.6 us for four arguments), so the per-op paths call these with
# arguments that are already ctypes objects or Python ints for C ints:
# tensor handles are c_void_p objects (Tensor._h), doubles are c_double.
# The signatures are still the ones declared above.
# The accessors and the views among them are bound through PyDLL, which
# keeps the GIL: releasing and re-taking it would cost more than these
# calls, which never block (a view makes a header, nothing more).
# The returning forms (tf_*_r) hand back a Handle, as restype: NULL on
# failure, when tf_last_status() says which error. Their int arguments are
# C ints: a caller passes only Python ints that fit in int32 (ctypes would
# cut a larger one to 32 bits silently).
INT32_MAX = 2**31 - 1
_pylib = ctypes.PyDLL(lib._name)
_release = _pylib["tf_tensor_release"]
_release.restype = None


class Handle(c_void_p):
    """One reference to a C tensor (tf_tensor *), released with the object.
    A new Handle() is NULL until a C call writes through byref(handle);
    a returning form's result is one already."""

    __slots__ = ()

    def __del__(self, _release=_release) -> None:
        # _release is bound as a default: module globals may already be gone
        # when the interpreter shuts down. NULL is accepted by the C side.
        _release(self)


FAST = {"tf_unary", "tf_binary", "tf_binary_scalar", "tf_tensor_release",
        "tf_tensor_retain", "tf_tensor_version", "tf_tensor_same_shape",
        "tf_tensor_sole_owner",
        "tf_last_status", "tf_matmul_r", "tf_reduce_r", "tf_slice_r",
        "tf_select_r", "tf_transpose_r", "tf_view_r"}
# These may run long (arithmetic): the GIL is released.
_RELEASING = {"tf_unary", "tf_binary", "tf_binary_scalar", "tf_matmul_r",
              "tf_reduce_r"}
fast = type("FastBindings", (), {})()
for _name in FAST:
    # A fresh function object, separate from the checked one.
    _fn = (lib if _name in _RELEASING else _pylib)[_name]
    _fn.restype = Handle if _name.endswith("_r") else _SIGNATURES[_name][0]
    setattr(fast, _name, _fn)

# ---- status -> exception ----------------------------------------------------
# The order of tf_status in tinyfin.h.
_EXCEPTIONS = {
    1: ValueError,    # TF_ERR_VALUE
    2: ValueError,    # TF_ERR_SHAPE
    3: TypeError,     # TF_ERR_DTYPE
    4: IndexError,    # TF_ERR_INDEX
    5: MemoryError,   # TF_ERR_MEMORY
    6: RuntimeError,  # TF_ERR_DEVICE
    7: RuntimeError,  # TF_ERR_INTERNAL
}


def error(status: int) -> Exception:
    """The exception for a failed C call, with the C core's message."""
    message = tf_last_error().decode("utf-8", "replace")  # noqa: F821
    return _EXCEPTIONS.get(status, RuntimeError)(message)


def returned_error() -> Exception:
    """The exception for a returning form that gave back NULL."""
    return error(fast.tf_last_status())


def check(status: int) -> None:
    if status:
        raise error(status)


def shape_array(values, op: str = "tinyfin", name: str = "size") -> ctypes.Array:
    """A C int64 array of sizes, strides or pads. ctypes would store an int
    outside int64 modulo 2^64; each value is range-checked instead (the ops
    check with their own messages first: this is the net under them)."""
    checked = [v if type(v) is int and INT64_MIN <= v <= INT64_MAX
               else as_int(op, name, v) for v in values]
    return (c_int64 * max(len(checked), 1))(*checked)


def live_tensors() -> int:
    """Number of C tensors alive now; tests use it to prove nothing leaks."""
    return tf_live_tensors()  # noqa: F821


def _names(fn, count: int) -> list:
    out = []
    for code in range(count):
        name = fn(code)
        if name is None:
            break
        out.append(name.decode())
    return out


UNARY_OPS = _names(lib.tf_unary_name, 256)
BINARY_OPS = _names(lib.tf_binary_name, 256)
REDUCE_OPS = _names(lib.tf_reduce_name, 256)
NAMED_SLOTS = _names(lib.tf_backend_slot_name, 256)  # kernel slots other than per-op ones
