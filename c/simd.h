// simd.h -- where the kernels' 4-lane vector type and intrinsics come from. kernels.c is written
// once, in the names of wasm_simd128.h (v128_t, wasm_f32x4_add, ...):
//   - a wasm build with -msimd128 gets the real wasm SIMD instructions;
//   - a native build with -DDDPM_NATIVE_SIMD gets the same names from SIMDe ("SIMD Everywhere",
//     Debian's libsimde-dev), which implements each wasm operation on SSE/AVX with the same IEEE
//     results. One exception: on x86 its f32x4_min/max follow minps/maxps for signed zeros (the
//     second operand wins a tie of -0 and +0, where wasm orders -0 < +0), so kernels.c puts the
//     operand that must win such a tie second. So the native build runs the very kernels the
//     page runs, and a native-vs-wasm comparison compares compilers and runtimes, not two
//     programs. SIMDe is a header-only, widely used library; a second set of kernels in x86
//     intrinsics would be a third twin to keep bit-exact, for no gain in what is measured.
//   - any other build has no SIMD: the dispatchers call the scalar twins.
// DDPM_SIMD is defined when the kernels have a SIMD path.
#ifndef DDPM_SIMD_H
#define DDPM_SIMD_H

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define DDPM_SIMD 1
#elif defined(DDPM_NATIVE_SIMD)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/wasm/simd128.h>
#define DDPM_SIMD 1
#endif

#endif
