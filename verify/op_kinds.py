"""The kind of every C op, read once from native/include/tinyfin_ops.def.

The core's name tables (tinyfin._C.UNARY_OPS, BINARY_OPS, REDUCE_OPS) give
the ops' names in order but not their kinds, which say what dtypes an op
takes and returns (ops.def explains them):

  unary:  FLOAT (floating result), NUM (keeps the dtype, refuses bool),
          PRED (bool result)
  binary: ARITH (promoted dtype), TRUEDIV (floating result), CMP and LOGIC
          (bool result)

The op database and the tests read the kinds here instead of keeping lists
of their own, so an op added to ops.def is tested by its kind without any
list to extend. tests/test_op_kinds.py checks that these tables name the
same ops, in the same order, as the library that is built.
"""
from __future__ import annotations

import os
import re
from typing import Dict, List, Tuple

DEF_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "native", "include", "tinyfin_ops.def")

UNARY_KIND_NAMES = ("FLOAT", "NUM", "PRED")
BINARY_KIND_NAMES = ("ARITH", "TRUEDIV", "CMP", "LOGIC")


def _entries(text: str, macro: str) -> List[Tuple[str, ...]]:
    """The arguments after the enum of each `macro(ENUM, name, ...)` line
    (the X-macro invocations, not the comments that describe them)."""
    pattern = re.compile(rf"^[ \t]*{macro}\(\s*\w+\s*,([^)]*)\)", re.MULTILINE)
    return [tuple(a.strip() for a in m.group(1).split(",")) for m in pattern.finditer(text)]


def _read() -> Tuple[Dict[str, str], Dict[str, str], Tuple[str, ...]]:
    with open(DEF_FILE) as f:
        text = f.read()
    unary = {args[0]: args[1] for args in _entries(text, "TF_UNARY_OP")}
    binary = {args[0]: args[1] for args in _entries(text, "TF_BINARY_OP")}
    reduce = tuple(args[0] for args in _entries(text, "TF_REDUCE_OP"))
    return unary, binary, reduce


# name -> kind, in the order of ops.def (which is the order of _C's tables)
UNARY_KINDS, BINARY_KINDS, REDUCE_NAMES = _read()


def unary_ops(*kinds: str) -> List[str]:
    """The unary ops of the given kinds, in table order."""
    return [n for n, k in UNARY_KINDS.items() if k in kinds]


def binary_ops(*kinds: str) -> List[str]:
    """The binary ops of the given kinds, in table order."""
    return [n for n, k in BINARY_KINDS.items() if k in kinds]
