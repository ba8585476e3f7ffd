# tinyfin: development build, tests, sanitizers, verification and benchmarks.
# `make` builds tinyfin/libtinyfin.so in place (pip install -e . does the same).

PYTHON ?= python3
CC ?= gcc
CFLAGS_COMMON = -std=c11 -Wall -Wextra -Werror -fPIC -fopenmp -fno-math-errno \
                -D_DEFAULT_SOURCE -Inative/include
CFLAGS ?= -O3 -g
SOURCES := $(sort $(wildcard native/src/*.c native/src/cpu/*.c))
HEADERS := $(wildcard native/include/* native/src/*.h native/src/cpu/*.h)
C_TESTS := $(wildcard native/tests/*.c)
LIB := tinyfin/libtinyfin.so

.PHONY: all lib test ctest pytest asan valgrind verify bench clean

all: lib

lib: $(LIB)

$(LIB): $(SOURCES) $(HEADERS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -shared -o $@ $(SOURCES) -lm

# ---- tests ------------------------------------------------------------------
build/ctest: $(C_TESTS) $(SOURCES) $(HEADERS)
	@mkdir -p build
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $(C_TESTS) $(SOURCES) -lm

ctest: build/ctest
	./build/ctest

pytest: lib
	$(PYTHON) -m pytest tests

test: ctest pytest

# ---- sanitizers (see sanitizers/README.md) ----------------------------------
asan:
	sanitizers/run_asan.sh

valgrind:
	sanitizers/run_valgrind.sh

# ---- deeper runs ------------------------------------------------------------
verify: lib
	$(PYTHON) -m verify

bench: lib
	$(PYTHON) -m pytest benchmarks --benchmark-only --benchmark-columns=min,median,mean,ops -p no:cacheprovider

clean:
	rm -rf build $(LIB) tinyfin/*.so verify-report .pytest_cache .benchmarks
