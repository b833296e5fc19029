# make        build the wasm modules (SIMD and scalar) and the native build
# make test   run every test (Node's test runner, incl. the browser tests, plus a sanitizer run)
# make serve  build and serve the page on http://127.0.0.1:8000
# make dist   a self-contained folder (dist/) for any static host
# make bench  the speed benchmark
# make clean

# Debian's Node does not search Debian's node modules; emcc's optimiser needs acorn from there
export NODE_PATH := /usr/share/nodejs
# where the machine's Node is older than the tests need, scripts/setup.sh puts a newer one here
export PATH := $(CURDIR)/build/node/bin:$(PATH)

SRC := $(filter-out c/native_main.c c/bench_main.c,$(wildcard c/*.c))
HDR := c/ddpm.h c/simd.h
# -ffp-contract=off: no fused multiply-add, so the SIMD kernels and their scalar twins agree bit for bit
CFLAGS_COMMON := -O3 -ffp-contract=off -Wall -Wextra
# native builds run the same SIMD kernels, their wasm intrinsics mapped to SSE/AVX by SIMDe (c/simd.h)
NATIVE_SIMD := -DDDPM_NATIVE_SIMD
EMFLAGS := -sMODULARIZE=1 -sEXPORT_ES6=1 -sENVIRONMENT=web -sEXPORT_NAME=createDDPMModule \
	-sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=64MB -sMAXIMUM_MEMORY=2GB -sTOTAL_STACK=1MB \
	-sEXPORTED_FUNCTIONS=_malloc,_free \
	-sEXPORTED_RUNTIME_METHODS=HEAPF32,HEAPU8,HEAP32,UTF8ToString,stringToUTF8,lengthBytesUTF8

WASM := web/wasm/ddpm_simd.mjs web/wasm/ddpm_scalar.mjs
NATIVE := build/native/ddpm_native
SETUP := build/.setup-build

.PHONY: all test serve dist bench clean setup screenshot
all: $(WASM) $(NATIVE)

$(SETUP): scripts/setup.sh
	scripts/setup.sh --build-only
	@mkdir -p build && touch $@

build/.setup-full: scripts/setup.sh package.json
	scripts/setup.sh
	@mkdir -p build && touch $@

setup: build/.setup-full

web/wasm/ddpm_simd.mjs: $(SRC) $(HDR) Makefile | $(SETUP)
	@mkdir -p web/wasm
	emcc $(CFLAGS_COMMON) -msimd128 $(SRC) -o $@ $(EMFLAGS)
	@# the SIMD build must really hold SIMD: a validator without SIMD must reject it
	@if wasm-validate --disable-simd web/wasm/ddpm_simd.wasm 2>/dev/null; then echo "error: no SIMD in ddpm_simd.wasm"; exit 1; fi

web/wasm/ddpm_scalar.mjs: $(SRC) $(HDR) Makefile | $(SETUP)
	@mkdir -p web/wasm
	emcc $(CFLAGS_COMMON) $(SRC) -o $@ $(EMFLAGS)

$(NATIVE): $(SRC) $(HDR) c/native_main.c Makefile | $(SETUP)
	@mkdir -p build/native
	cc $(CFLAGS_COMMON) -march=native $(NATIVE_SIMD) $(SRC) c/native_main.c -o $@ -lm

# the native side of `make bench`: the same C at -O3 -march=native, timed by c/bench_main.c
build/native/ddpm_bench: $(SRC) $(HDR) c/bench_main.c Makefile | $(SETUP)
	@mkdir -p build/native
	cc $(CFLAGS_COMMON) -march=native $(NATIVE_SIMD) $(SRC) c/bench_main.c -o $@ -lm

build/native/ddpm_native_sanitized: $(SRC) $(HDR) c/native_main.c Makefile | $(SETUP)
	@mkdir -p build/native
	cc -O1 -g -ffp-contract=off -Wall -Wextra -march=native $(NATIVE_SIMD) -fsanitize=address,undefined -fno-sanitize-recover=all \
		$(SRC) c/native_main.c -o $@ -lm

test: all build/native/ddpm_native_sanitized build/.setup-full
	@echo "== native build under AddressSanitizer + UBSan"
	build/native/ddpm_native_sanitized --selftest
	@echo "== node --test"
	node --test --test-concurrency=1 tests/*.test.mjs

# a fresh docs/screenshot.png for the README, taken by the browser test after a real run
screenshot: all build/.setup-full
	SCREENSHOT=docs/screenshot.png node --test tests/browser.test.mjs

serve: all
	node scripts/serve.mjs

dist: all
	node scripts/dist.mjs

bench: all build/native/ddpm_bench build/.setup-full
	node scripts/bench.mjs

clean:
	rm -rf web/wasm build dist
