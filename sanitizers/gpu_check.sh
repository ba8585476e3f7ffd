#!/usr/bin/env bash
# gpu_check.sh (`make gpu-check`): everything that needs a GPU, in one run
# of a few minutes, every log in one folder ($GPU_CHECK_OUT, else $OUT when
# the device tool runs it, else build/gpu-check):
#   1. build libtinyfin.so and libtinyfin_cuda.so (nvcc)         build.log
#   2. nvidia-smi and what tinyfin sees                            device.log
#   3. the CUDA tests against the real GPU                         tests.log
#   4. compute-sanitizer memcheck over the device tests            memcheck.log
#   5. verify on the cuda backend (quick depth, its report)        verify.log, verify-report/
#   6. the GPU benchmarks (benchmarks/test_cuda_bench.py: tables)   bench.log
# Each step has its own time limit (together 7 min 50 s at most) and the
# run goes on past a failure, so one run shows every result; summary.txt has one line per step and the
# exit status is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LOGS=${GPU_CHECK_OUT:-${OUT:-build/gpu-check}}
mkdir -p "$LOGS"
: > "$LOGS/summary.txt"
status=0

step() { # step NAME LOG LIMIT_SECONDS COMMAND...
  local name=$1 log=$2 limit=$3
  shift 3
  local t0=$SECONDS
  timeout "$limit" "$@" > "$LOGS/$log" 2>&1
  local rc=$?
  [ "$rc" -eq 0 ] || status=1
  printf '%-10s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - t0))" "$log" | tee -a "$LOGS/summary.txt"
}

step build build.log 90 make --no-print-directory lib cuda PYTHON="$PYTHON"
step device device.log 20 bash -c "nvidia-smi; $PYTHON -c 'import tinyfin as tf; print(\"available:\", tf.cuda.is_available(), tf.cuda.why_unavailable(), \"devices:\", tf.cuda.device_count())'"
step tests tests.log 60 "$PYTHON" -m pytest tests/test_cuda.py tests/test_cuda_device.py -q -rs -p no:cacheprovider
if command -v compute-sanitizer > /dev/null; then
  step memcheck memcheck.log 90 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 86 \
    "$PYTHON" -m pytest tests/test_cuda_device.py -q -p no:cacheprovider -k "not fork"
else
  echo "memcheck   skipped: compute-sanitizer is not on PATH" | tee -a "$LOGS/summary.txt"
fi
step verify verify.log 150 "$PYTHON" -m verify --backends cuda --depth quick --out "$LOGS/verify-report"
step bench bench.log 60 "$PYTHON" -m pytest benchmarks/test_cuda_bench.py --benchmark-only -p no:cacheprovider
echo "gpu_check.sh: logs in $LOGS (exit $status)"
exit "$status"
