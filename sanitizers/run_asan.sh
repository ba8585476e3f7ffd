#!/usr/bin/env bash
# run_asan.sh: build the C core and the C tests with AddressSanitizer and
# UndefinedBehaviorSanitizer, run the C tests (leak detection on), then run
# the whole pytest suite against the sanitized library.
# Exits non-zero if a sanitizer reported anything or a test failed; the last
# line says which. See sanitizers/README.md for how to read the output.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CC=${CC:-gcc}
OUT=build/asan
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1 -g"
# A sanitizer report ends the process with this status, so it cannot be
# mistaken for an ordinary test failure (pytest uses 0-5, the C tests 0-1).
# (GCC's UBSAN ignores log_path, so the status is the reliable signal.)
SAN_EXIT=86

echo "== building $OUT/libtinyfin.so and $OUT/ctest"
# -B: always rebuild, so a change of flags or headers is never missed.
make -B --no-print-directory lib LIB="$OUT/libtinyfin.so" CC="$CC" CFLAGS="$SAN_FLAGS"
make -B --no-print-directory "$OUT/ctest" CTEST="$OUT/ctest" CC="$CC" CFLAGS="$SAN_FLAGS"
# The BLAS loader's failure tests open these two (Makefile, FAKE_BLAS); the
# BLAS tests load $TINYFIN_OPENBLAS (make passes ctest's; unset: skipped).
make --no-print-directory "$OUT/fake_openblas_partial.so" "$OUT/fake_openblas_int64.so" CTEST="$OUT/ctest" CC="$CC"
export TINYFIN_FAKE_BLAS_DIR="$OUT/" TINYFIN_OPENBLAS="${TINYFIN_OPENBLAS:-}"

export OMP_NUM_THREADS=2
# tests/conftest.py's watchdog ends a test that runs past this many seconds
# and names it in the last line it prints. Sanitized code runs 3-5x slower
# than plain; the longest test here, test_verify.py's quick-depth run of the
# op checks, took 288 s (2026-12-03), so a hang costs 20 minutes, not CI's 90.
export TINYFIN_TEST_TIMEOUT=${TINYFIN_TEST_TIMEOUT:-1200}
# ... and that test runs verify's op checks only here (tests/test_verify.py).
export TINYFIN_SANITIZED=1
# matplotlib's C++ extension cannot throw exceptions under a preloaded ASAN
# runtime (an ASAN CHECK fails in __cxa_throw); verify's report skips plots.
export TINYFIN_NO_PLOTS=1
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=$SAN_EXIT"

echo "== C tests under ASAN/UBSAN (leak detection on)"
ctest_status=0
ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=$SAN_EXIT:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1" \
  "./$OUT/ctest" || ctest_status=$?

echo "== pytest against the sanitized library"
# The interpreter is not built with ASAN, so the runtime must be loaded
# first (LD_PRELOAD); libubsan comes in as a dependency of the library.
# PYTHONMALLOC=malloc sends Python's allocations through ASAN's malloc, so
# buffers NumPy and ctypes hand to the core are checked too. CPython does
# not free everything at exit, so leak detection is off here (the C tests
# cover leaks, and the Python tests count live tensors).
# --capture=sys: pytest captures only Python-level output, so a report the
# runtime writes to fd 2 reaches the terminal even when it ends the process.
# sanitizer_profile (in this folder) lifts hypothesis's deadline: sanitized
# code runs 2-5x slower, which must not turn into test failures.
# tests/test_mutation.py is left out: it builds and runs its own mutated,
# unsanitized copies of the library, so it checks nothing here.
# libstdc++ is preloaded too, after the runtime: ASAN intercepts C++'s
# __cxa_throw only if libstdc++ is loaded when it starts, and an extension
# that throws internally (matplotlib's ft2font, under PlotCurves and the
# examples) otherwise stops the process with "CHECK failed ... __cxa_throw".
LIBASAN=$("$CC" -print-file-name=libasan.so)
LIBSTDCXX=$("$CC" -print-file-name=libstdc++.so.6)
[ -f "$LIBSTDCXX" ] || LIBSTDCXX=
pytest_status=0
LD_PRELOAD="$LIBASAN${LIBSTDCXX:+ $LIBSTDCXX}" \
  TINYFIN_LIB="$PWD/$OUT/libtinyfin.so" \
  PYTHONMALLOC=malloc \
  PYTHONPATH="$PWD/sanitizers${PYTHONPATH:+:$PYTHONPATH}" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:exitcode=$SAN_EXIT" \
  "$PYTHON" -m pytest tests -q -p no:cacheprovider --capture=sys \
  --ignore=tests/test_mutation.py -p sanitizer_profile || pytest_status=$?

echo "== summary: C tests exit $ctest_status, pytest exit $pytest_status"
if [ "$ctest_status" -eq "$SAN_EXIT" ] || [ "$pytest_status" -eq "$SAN_EXIT" ]; then
  echo "run_asan.sh: FAILED: a sanitizer reported an error (see the report above)" >&2
  exit 1
fi
if [ "$ctest_status" -ne 0 ] || [ "$pytest_status" -ne 0 ]; then
  echo "run_asan.sh: FAILED: tests failed, no sanitizer reports" >&2
  exit 1
fi
echo "run_asan.sh: OK: no sanitizer reports, all tests passed"
