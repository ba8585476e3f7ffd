# tinyfin: development build, tests, sanitizers, verification and benchmarks.
# `make` builds tinyfin/libtinyfin.so in place (pip install -e . does the same).

PYTHON ?= python3
CC ?= gcc
CFLAGS_COMMON = -std=c11 -Wall -Wextra -Werror -fPIC -fopenmp -fno-math-errno -ffp-contract=fast -fno-trapping-math \
                -D_DEFAULT_SOURCE -Inative/include
CFLAGS ?= -O3 -g
SOURCES := $(sort $(wildcard native/src/*/*.c))
HEADERS := $(wildcard native/include/* native/src/*.h native/src/*/*.h)
# The BLAS backend (native/src/blas/) opens OpenBLAS with dlopen at run time;
# nothing links against BLAS.
# -ldl: dlopen lives in libc from glibc 2.34; older ones need libdl.
LDLIBS := -lm -ldl
C_TESTS := $(wildcard native/tests/*.c)
C_TEST_HEADERS := $(wildcard native/tests/*.h)
LIB ?= tinyfin/libtinyfin.so

.PHONY: all lib cuda cuda-emulated test ctest pytest asan valgrind bench verify mutation gpu-check clean

all: lib

lib: $(LIB)

# Built under a temporary name and renamed, so a running process never loads
# a half-written library.
$(LIB): $(SOURCES) $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -shared -o $@.tmp$$$$ $(SOURCES) $(LDLIBS) && mv -f $@.tmp$$$$ $@

# ---- the CUDA library (native/src/cuda/runtime.cu) -----------------------------
# libtinyfin_cuda.so, which the core opens at run time beside libtinyfin.so
# (pip install builds it too where nvcc is found). Hopper (sm_90) code plus
# compute_90 PTX for newer GPUs; --fmad=false: no multiply-add fused behind
# the kernels' back; the cpu's scalar headers are compiled in (their GCC
# unroll pragmas mean nothing to nvcc: warning 1675 off). CUDA_LIB_EMULATED: the same source built by g++ over
# emulated_runtime.h, which the tests load (TINYFIN_CUDA_LIB) to run the
# backend's plumbing on machines without a GPU.
NVCC ?= nvcc
CXX ?= g++
CUDA_SOURCES := native/src/cuda/runtime.cu native/src/cuda/reduce.cu native/src/cuda/matmul.cu native/src/cuda/creation.cu native/src/cuda/index.cu native/src/cuda/conv.cu native/src/cuda/loss.cu native/src/cuda/norm.cu native/src/cuda/pool.cu native/src/cuda/rnn.cu native/src/cuda/optim.cu
CUDA_HEADERS := native/src/gemm_layout.h native/src/cuda/device_api.h native/src/cuda/launch.h native/src/cuda/emulated_runtime.h $(wildcard native/src/cpu/*.h) native/include/tinyfin_ops.def
CUDA_LIB ?= tinyfin/libtinyfin_cuda.so
CUDA_LIB_EMULATED ?= build/libtinyfin_cuda_emulated.so
NVCCFLAGS ?= -std=c++17 -O3 --fmad=false -Inative/src/cpu -Inative/include -diag-suppress 1675 -Xcompiler -fPIC,-Wall,-Wextra,-Werror \
             -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90

cuda: $(CUDA_LIB)

$(CUDA_LIB): $(CUDA_SOURCES) $(CUDA_HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -shared -o $@.tmp$$$$ $(CUDA_SOURCES) -ldl && mv -f $@.tmp$$$$ $@

cuda-emulated: $(CUDA_LIB_EMULATED)

$(CUDA_LIB_EMULATED): $(CUDA_SOURCES) $(CUDA_HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -fPIC -shared -DTFC_EMULATE -Inative/src/cpu -Inative/include -x c++ \
	  -o $@.tmp$$$$ $(CUDA_SOURCES) && mv -f $@.tmp$$$$ $@

# ---- tests ------------------------------------------------------------------
# The C tests link the core's sources directly (no shared library), so they
# can also reach internal.h. CTEST names the binary; the sanitizer scripts
# build their own copies with their own CFLAGS.
CTEST ?= build/ctest
$(CTEST): $(C_TESTS) $(C_TEST_HEADERS) $(SOURCES) $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@.tmp$$$$ $(C_TESTS) $(SOURCES) $(LDLIBS) && mv -f $@.tmp$$$$ $@

# The BLAS tests load OpenBLAS from $$TINYFIN_OPENBLAS, by default the
# scipy-openblas32 wheel's library when $(PYTHON) has it (else they report
# "skipped"; TINYFIN_OPENBLAS= skips them on purpose). The loader's failure
# tests also open two fake libraries built from tests/fixtures/fake_openblas.c.
TINYFIN_OPENBLAS ?= $(shell $(PYTHON) -c 'import os, scipy_openblas32 as s; print(os.path.join(s.get_lib_dir(), "lib" + s.get_library() + ".so"))' 2>/dev/null)
FAKE_BLAS := $(dir $(CTEST))fake_openblas_partial.so $(dir $(CTEST))fake_openblas_int64.so
$(dir $(CTEST))fake_openblas_%.so: native/tests/fixtures/fake_openblas.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -DFAKE_$* -o $@ $<

ctest: $(CTEST) $(FAKE_BLAS)
	TINYFIN_OPENBLAS="$(TINYFIN_OPENBLAS)" TINYFIN_FAKE_BLAS_DIR=$(dir $(CTEST)) ./$(CTEST)

pytest: lib
	$(PYTHON) -m pytest tests

# Both suites run even when the first fails, so one run shows every failure.
test:
	@status=0; \
	$(MAKE) --no-print-directory ctest || status=1; \
	$(MAKE) --no-print-directory pytest || status=1; \
	exit $$status

# ---- sanitizers (see sanitizers/README.md) ----------------------------------
# Both give the C tests the OpenBLAS of `make ctest` (TINYFIN_OPENBLAS above).
asan:
	PYTHON=$(PYTHON) CC=$(CC) TINYFIN_OPENBLAS="$(TINYFIN_OPENBLAS)" sanitizers/run_asan.sh

valgrind:
	CC=$(CC) TINYFIN_OPENBLAS="$(TINYFIN_OPENBLAS)" sanitizers/run_valgrind.sh

# ---- deeper runs ------------------------------------------------------------
# The verification harness (verify/): every op against NumPy and mpmath, its
# gradients, a table and verify-report/index.html. VERIFY_ARGS adds options,
# e.g. make verify VERIFY_ARGS="--ops exp,log --depth deep".
verify: lib
	$(PYTHON) -m verify $(VERIFY_ARGS)

# Proof that verify catches bugs (verify/mutation.py): known faults planted
# into copies of the library under build/mutants/, each named with the check
# that caught it. The copies build their own libraries.
mutation:
	$(PYTHON) -m verify.mutation

# The benchmarks (benchmarks/, README.md "Benchmarks"), ending in summary
# tables. BENCH_ARGS adds options, e.g. make bench BENCH_ARGS="--passes 3 -k matmul".
bench: lib
	$(PYTHON) -m pytest benchmarks --benchmark-only --benchmark-columns=min,median,mean,ops -p no:cacheprovider $(BENCH_ARGS)

# On a machine with a GPU: builds the CUDA library, runs the CUDA tests
# (and compute-sanitizer over them), verify on the cuda backend and the GPU
# benchmarks, with every log in GPU_CHECK_OUT (sanitizers/gpu_check.sh).
gpu-check:
	PYTHON=$(PYTHON) sanitizers/gpu_check.sh

clean:
	rm -rf build $(LIB) tinyfin/*.so verify-report .pytest_cache .benchmarks
