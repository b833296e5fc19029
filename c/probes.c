// probes.c -- this machine's own limits, measured from inside the same wasm module as the
// model, so the benchmark (scripts/bench.mjs) can put the kernels' GB/s and GFLOP/s beside
// what the machine can do at all: a streaming read, a streaming read-modify-write, and a
// peak-arithmetic loop. Not model code: nothing else calls these, and the model never does.
// The wasm SIMD build uses wasm_simd128.h here directly (only the wasm modules' probes are ever
// called, unlike kernels.c, which goes through c/simd.h); the scalar wasm build and the native
// builds, which compile this file with the rest but never call it, get plain loops.
#include <stddef.h>
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#else
#define EMSCRIPTEN_KEEPALIVE
#endif
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

// Sum of n floats (n a multiple of 16): a pure streaming read. Four independent accumulators
// so the adds never wait on each other; the bandwidth is then the only limit.
EMSCRIPTEN_KEEPALIVE float probe_read(const float *a, int n) {
#ifdef __wasm_simd128__
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n; i += 16) {
        s0 = wasm_f32x4_add(s0, wasm_v128_load(a + i));
        s1 = wasm_f32x4_add(s1, wasm_v128_load(a + i + 4));
        s2 = wasm_f32x4_add(s2, wasm_v128_load(a + i + 8));
        s3 = wasm_f32x4_add(s3, wasm_v128_load(a + i + 12));
    }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
           wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
#else
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int i = 0; i < n; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    return (s0 + s1) + (s2 + s3);
#endif
}

// The same over four arrays at once (n floats each): four read streams in flight, as a batch-1
// forward has (it streams 6 rows of W side by side). One stream alone leaves bandwidth unused.
EMSCRIPTEN_KEEPALIVE float probe_read4(const float *a, const float *b, const float *c, const float *d, int n) {
#ifdef __wasm_simd128__
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n; i += 4) {
        s0 = wasm_f32x4_add(s0, wasm_v128_load(a + i));
        s1 = wasm_f32x4_add(s1, wasm_v128_load(b + i));
        s2 = wasm_f32x4_add(s2, wasm_v128_load(c + i));
        s3 = wasm_f32x4_add(s3, wasm_v128_load(d + i));
    }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
           wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
#else
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int i = 0; i < n; i++) { s0 += a[i]; s1 += b[i]; s2 += c[i]; s3 += d[i]; }
    return (s0 + s1) + (s2 + s3);
#endif
}

// The same over six arrays (n floats each, a multiple of 4): six long read streams, the shape of
// the batch-1 forward (c/kernels.c, dots_1x6, which reads 6 bands of rows side by side).
// Without it that kernel once measured above "the" read limit (1.20 of it in one run), which
// says the probes, not the kernel, fell short.
EMSCRIPTEN_KEEPALIVE float probe_read6(const float *a, const float *b, const float *c, const float *d,
                                       const float *e, const float *f, int n) {
#ifdef __wasm_simd128__
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0;
    for (int i = 0; i < n; i += 4) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(d + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_add(wasm_v128_load(b + i), wasm_v128_load(e + i)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_add(wasm_v128_load(c + i), wasm_v128_load(f + i)));
    }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), s2);
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
           wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
#else
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f;
    for (int i = 0; i < n; i++) { s0 += a[i] + d[i]; s1 += b[i] + e[i]; s2 += c[i] + f[i]; }
    return (s0 + s1) + s2;
#endif
}

// The same over eight arrays (n floats each, a multiple of 4): eight read streams (the batch-1
// forward streamed 8 rows of W side by side when this was added; it streams 6 now, probe_read6).
// The limit is the best of all the reads, so a probe more cannot lower it.
EMSCRIPTEN_KEEPALIVE float probe_read8(const float *a, const float *b, const float *c, const float *d,
                                       const float *e, const float *f, const float *g, const float *h, int n) {
#ifdef __wasm_simd128__
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n; i += 4) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(e + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_add(wasm_v128_load(b + i), wasm_v128_load(f + i)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_add(wasm_v128_load(c + i), wasm_v128_load(g + i)));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_add(wasm_v128_load(d + i), wasm_v128_load(h + i)));
    }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
           wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
#else
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int i = 0; i < n; i++) { s0 += a[i] + e[i]; s1 += b[i] + f[i]; s2 += c[i] + g[i]; s3 += d[i] + h[i]; }
    return (s0 + s1) + (s2 + s3);
#endif
}

// y = y * s + x over n floats: two streams read, one written (the shape of an optimiser update).
EMSCRIPTEN_KEEPALIVE void probe_update(float *y, const float *x, float s, int n) {
#ifdef __wasm_simd128__
    v128_t vs = wasm_f32x4_splat(s);
    for (int i = 0; i < n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(y + i), vs), wasm_v128_load(x + i)));
#else
    for (int i = 0; i < n; i++) y[i] = y[i] * s + x[i];
#endif
}

// Two such updates side by side: four streams read, two written, as AdamW's four and three.
EMSCRIPTEN_KEEPALIVE void probe_update2(float *y0, const float *x0, float *y1, const float *x1, float s, int n) {
#ifdef __wasm_simd128__
    v128_t vs = wasm_f32x4_splat(s);
    for (int i = 0; i < n; i += 4) {
        wasm_v128_store(y0 + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(y0 + i), vs), wasm_v128_load(x0 + i)));
        wasm_v128_store(y1 + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(y1 + i), vs), wasm_v128_load(x1 + i)));
    }
#else
    for (int i = 0; i < n; i++) { y0[i] = y0[i] * s + x0[i]; y1[i] = y1[i] * s + x1[i]; }
#endif
}

// Three arrays updated from one (n floats each, a multiple of 4): four streams read, three
// written, exactly AdamW's shape (param, m and v updated from the gradient).
EMSCRIPTEN_KEEPALIVE void probe_update3(float *y0, float *y1, float *y2, const float *x, float s, int n) {
#ifdef __wasm_simd128__
    v128_t vs = wasm_f32x4_splat(s);
    for (int i = 0; i < n; i += 4) {
        v128_t xv = wasm_v128_load(x + i);
        wasm_v128_store(y0 + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(y0 + i), vs), xv));
        wasm_v128_store(y1 + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(y1 + i), vs), xv));
        wasm_v128_store(y2 + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(y2 + i), vs), xv));
    }
#else
    for (int i = 0; i < n; i++) { y0[i] = y0[i] * s + x[i]; y1[i] = y1[i] * s + x[i]; y2[i] = y2[i] * s + x[i]; }
#endif
}

// Peak arithmetic: 12 independent chains of (multiply, add) on 4-lane vectors, no memory at all.
// Twelve chains cover the latency of a multiply followed by an add on two multiply and two add
// pipes. Counts 8 flops per chain and iteration (4 lanes x (mul + add)): iters * 96 flops.
// The values stay finite: each chain converges to c / (1 - m).
EMSCRIPTEN_KEEPALIVE float probe_peak(int iters) {
#ifdef __wasm_simd128__
    v128_t m = wasm_f32x4_splat(0.999f), c = wasm_f32x4_splat(0.001f);
    v128_t a0 = wasm_f32x4_splat(0.1f), a1 = wasm_f32x4_splat(0.2f), a2 = wasm_f32x4_splat(0.3f);
    v128_t a3 = wasm_f32x4_splat(0.4f), a4 = wasm_f32x4_splat(0.5f), a5 = wasm_f32x4_splat(0.6f);
    v128_t a6 = wasm_f32x4_splat(0.7f), a7 = wasm_f32x4_splat(0.8f), a8 = wasm_f32x4_splat(0.9f);
    v128_t a9 = wasm_f32x4_splat(1.0f), a10 = wasm_f32x4_splat(1.1f), a11 = wasm_f32x4_splat(1.2f);
    for (int i = 0; i < iters; i++) {
        a0 = wasm_f32x4_add(wasm_f32x4_mul(a0, m), c);
        a1 = wasm_f32x4_add(wasm_f32x4_mul(a1, m), c);
        a2 = wasm_f32x4_add(wasm_f32x4_mul(a2, m), c);
        a3 = wasm_f32x4_add(wasm_f32x4_mul(a3, m), c);
        a4 = wasm_f32x4_add(wasm_f32x4_mul(a4, m), c);
        a5 = wasm_f32x4_add(wasm_f32x4_mul(a5, m), c);
        a6 = wasm_f32x4_add(wasm_f32x4_mul(a6, m), c);
        a7 = wasm_f32x4_add(wasm_f32x4_mul(a7, m), c);
        a8 = wasm_f32x4_add(wasm_f32x4_mul(a8, m), c);
        a9 = wasm_f32x4_add(wasm_f32x4_mul(a9, m), c);
        a10 = wasm_f32x4_add(wasm_f32x4_mul(a10, m), c);
        a11 = wasm_f32x4_add(wasm_f32x4_mul(a11, m), c);
    }
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)),
                              wasm_f32x4_add(wasm_f32x4_add(a4, a5), wasm_f32x4_add(a6, a7)));
    s = wasm_f32x4_add(s, wasm_f32x4_add(wasm_f32x4_add(a8, a9), wasm_f32x4_add(a10, a11)));
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 3);
#else
    // the scalar build's limit: the same 12 chains, one lane each (iters * 24 flops)
    float m = 0.999f, c = 0.001f, a[12];
    for (int k = 0; k < 12; k++) a[k] = 0.1f * (float)(k + 1);
    for (int i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = a[k] * m + c;
    float s = 0.0f;
    for (int k = 0; k < 12; k++) s += a[k];
    return s;
#endif
}

// flops one probe_peak iteration counts in this build
EMSCRIPTEN_KEEPALIVE int probe_peak_flops_per_iter(void) {
#ifdef __wasm_simd128__
    return 96;
#else
    return 24;
#endif
}
