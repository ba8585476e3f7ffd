"""The op kinds the tests and verify read from ops.def (verify/op_kinds.py)
describe the library that is built: the same ops in the same order as the
C core's name tables, and every op's result dtype as its kind says.

Parametrized over the C tables, so an op added to ops.def is checked here
by its kind at once, before anyone writes it a reference."""
import pytest

import tinyfin as tf
from tinyfin import _C
from verify.op_kinds import (BINARY_KIND_NAMES, BINARY_KINDS, REDUCE_NAMES,
                             UNARY_KIND_NAMES, UNARY_KINDS)


def test_ops_def_names_the_ops_of_the_c_tables():
    hint = ("native/include/tinyfin_ops.def and libtinyfin.so disagree: rebuild "
            "(make), or teach verify/op_kinds.py the file's new form")
    assert list(UNARY_KINDS) == _C.UNARY_OPS, hint
    assert list(BINARY_KINDS) == _C.BINARY_OPS, hint
    assert list(REDUCE_NAMES) == _C.REDUCE_OPS, hint
    assert set(UNARY_KINDS.values()) <= set(UNARY_KIND_NAMES)
    assert set(BINARY_KINDS.values()) <= set(BINARY_KIND_NAMES)


# input dtype -> result dtype (None: the op refuses it with a TypeError)
UNARY_RESULT = {
    "FLOAT": {tf.float64: tf.float64, tf.int64: tf.float32, tf.bool: tf.float32},
    "NUM": {tf.float64: tf.float64, tf.int64: tf.int64, tf.bool: None},
    "PRED": {tf.float64: tf.bool, tf.int64: tf.bool, tf.bool: tf.bool},
}
BINARY_RESULT = {
    "ARITH": {tf.float64: tf.float64, tf.int64: tf.int64},
    "TRUEDIV": {tf.float64: tf.float64, tf.int64: tf.float32},
    "CMP": {tf.float64: tf.bool, tf.int64: tf.bool},
    "LOGIC": {tf.float64: tf.bool, tf.int64: tf.bool},
}


def _unary(name, x):
    return tf.clamp(x, min=0) if name == "clamp" else getattr(tf, name)(x)


@pytest.mark.parametrize("name", _C.UNARY_OPS)
def test_unary_result_dtype_follows_the_kind(name):
    for dtype, result in UNARY_RESULT[UNARY_KINDS[name]].items():
        x = tf.ones(3, dtype=dtype)
        if result is None:
            with pytest.raises(TypeError, match=name):
                _unary(name, x)
        else:
            assert _unary(name, x).dtype is result, (name, dtype)


@pytest.mark.parametrize("name", _C.BINARY_OPS)
def test_binary_result_dtype_follows_the_kind(name):
    for dtype, result in BINARY_RESULT[BINARY_KINDS[name]].items():
        a, b = tf.ones(3, dtype=dtype), tf.ones(3, dtype=dtype)
        assert getattr(tf, name)(a, b).dtype is result, (name, dtype)
