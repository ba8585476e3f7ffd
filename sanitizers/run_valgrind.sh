#!/usr/bin/env bash
# run_valgrind.sh: build the C tests without sanitizers (-O1 -g) and run
# them under valgrind's memcheck: no invalid reads or writes, no use of
# uninitialized values, and no definitely or indirectly lost bytes.
# Exits non-zero on any valgrind error or test failure.
# See sanitizers/README.md for how to read the output.
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-gcc}
# Its own binary, so `make ctest` (-O3) and this build never overwrite
# each other.
OUT=build/valgrind

if ! command -v valgrind >/dev/null; then
  echo "run_valgrind.sh: valgrind is not installed (Debian: apt-get install valgrind)" >&2
  exit 1
fi

echo "== building $OUT/ctest"
make -B --no-print-directory "$OUT/ctest" CTEST="$OUT/ctest" CC="$CC" CFLAGS="-O1 -g"
# The BLAS loader's failure tests open these two (Makefile, FAKE_BLAS); the
# BLAS tests load $TINYFIN_OPENBLAS (make passes ctest's; unset: skipped).
make --no-print-directory "$OUT/fake_openblas_partial.so" "$OUT/fake_openblas_int64.so" CTEST="$OUT/ctest" CC="$CC"
export TINYFIN_FAKE_BLAS_DIR="$OUT/" TINYFIN_OPENBLAS="${TINYFIN_OPENBLAS:-}"

echo "== C tests under valgrind memcheck"
# Two threads so the OpenMP paths run. libgomp keeps its thread pool until
# exit: its blocks show as "possibly lost" / "still reachable", which are
# not errors here (--errors-for-leak-kinds=definite,indirect).
export OMP_NUM_THREADS=2
# No cache of freed host blocks (native/src/core/host_memory.c): a use after
# free of a large tensor must reach memcheck, not a block kept for reuse.
export TINYFIN_HOST_CACHE=0
supp=()
if [ -f sanitizers/valgrind.supp ]; then
  supp=(--suppressions=sanitizers/valgrind.supp)
fi
valgrind --tool=memcheck --leak-check=full \
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
  --track-origins=yes --error-exitcode=1 "${supp[@]}" \
  "./$OUT/ctest"
echo "run_valgrind.sh: OK: no valgrind errors, all C tests passed"
