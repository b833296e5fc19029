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

// The batched kernels' tile (kernels_tile_probe, c/kernels.c) with one change: its 4 values of
// dout are loaded once and held in registers, where the tile loads 4 new ones for every row. The
// same instructions in the loop but those 4 loads, on the same layout (a 64 x 64 strip, sums rows
// 1024 floats apart). Its sums mean nothing; only its time does: what the tile's arithmetic
// reaches when each product has one operand at hand, beside the tile itself, whose products both
// come from loads made in the same row. reps sweeps of 32768 flops (KERNELS_TILE_PROBE_FLOPS).
#ifdef __wasm_simd128__
static _Alignas(64) float held_strip[64 * 64];
static _Alignas(64) float held_acc[4 * 1024];
#endif
EMSCRIPTEN_KEEPALIVE float probe_tile_held(int reps) {
#ifdef __wasm_simd128__
    for (int i = 0; i < 64 * 64; i++) held_strip[i] = 0.5f;
    for (int i = 0; i < 4 * 1024; i++) held_acc[i] = 0.0f;
    v128_t g0 = wasm_f32x4_splat(0.25f), g1 = g0, g2 = g0, g3 = g0;
    for (int k = 0; k < reps; k++) {
        for (int c = 0; c < 64; c += 8) {
            float *acc = held_acc + c;
            v128_t s00 = wasm_v128_load(acc), s01 = wasm_v128_load(acc + 4);
            v128_t s10 = wasm_v128_load(acc + 1024), s11 = wasm_v128_load(acc + 1028);
            v128_t s20 = wasm_v128_load(acc + 2048), s21 = wasm_v128_load(acc + 2052);
            v128_t s30 = wasm_v128_load(acc + 3072), s31 = wasm_v128_load(acc + 3076);
            for (const float *x = held_strip + c, *x_end = x + 64 * 64; x != x_end; x += 64) {
                v128_t a = wasm_v128_load(x), e = wasm_v128_load(x + 4);
                s00 = wasm_f32x4_add(s00, wasm_f32x4_mul(g0, a));
                s01 = wasm_f32x4_add(s01, wasm_f32x4_mul(g0, e));
                s10 = wasm_f32x4_add(s10, wasm_f32x4_mul(g1, a));
                s11 = wasm_f32x4_add(s11, wasm_f32x4_mul(g1, e));
                s20 = wasm_f32x4_add(s20, wasm_f32x4_mul(g2, a));
                s21 = wasm_f32x4_add(s21, wasm_f32x4_mul(g2, e));
                s30 = wasm_f32x4_add(s30, wasm_f32x4_mul(g3, a));
                s31 = wasm_f32x4_add(s31, wasm_f32x4_mul(g3, e));
            }
            wasm_v128_store(acc, s00);        wasm_v128_store(acc + 4, s01);
            wasm_v128_store(acc + 1024, s10); wasm_v128_store(acc + 1028, s11);
            wasm_v128_store(acc + 2048, s20); wasm_v128_store(acc + 2052, s21);
            wasm_v128_store(acc + 3072, s30); wasm_v128_store(acc + 3076, s31);
        }
    }
    return held_acc[0] + held_acc[3076];
#else
    (void)reps;
    return 0.0f;
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
