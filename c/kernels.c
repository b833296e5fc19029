// kernels.c -- the hot loops. Each kernel has a plain scalar twin written to perform the same
// float operations in the same order as its SIMD version (4 lanes, lane l summing elements
// l, l+4, l+8, ...; lanes combined as (l0 + l1) + (l2 + l3)), so the two agree bit for bit.
// Compile with -ffp-contract=off so no compiler fuses a multiply-add and breaks that.
// Every length the model passes is a multiple of 4 (ddpm_config_validate makes sure of it);
// the tests that call the kernels directly (through wasm.c) keep to that too.
#include <float.h>
#include <math.h>
#include <string.h>
#include "ddpm.h"
#include "simd.h"

static int force_scalar = 0;
void kernels_force_scalar(int on) { force_scalar = on; }
int kernels_have_simd(void) {
#ifdef DDPM_SIMD
    return !force_scalar;
#else
    return 0;
#endif
}

// ---------------------------------------------------------------------------
// exp(x) for the SiLU, a Cephes-style polynomial: exp(x) = 2^n exp(r), |r| <= ln2/2.
// Written once in scalar and once in SIMD with identical operations, because libm's expf
// differs between platforms and has no SIMD form. Relative error ~2e-7 on [-87, 87].
#define EXP_HI 88.0f
#define EXP_LO -87.0f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f

static float exp_scalar(float x) {
    x = x > EXP_HI ? EXP_HI : x;
    x = x < EXP_LO ? EXP_LO : x;
    float n = floorf(x * LOG2E + 0.5f);
    float r = x - n * LN2_HI;
    r = r - n * LN2_LO;
    float p = EXP_P0;
    p = p * r + EXP_P1; p = p * r + EXP_P2; p = p * r + EXP_P3; p = p * r + EXP_P4; p = p * r + EXP_P5;
    p = p * (r * r) + r;
    p = p + 1.0f;
    // as wasm's saturating conversion: NaN becomes 0 (the result is NaN anyway, through p)
    int32_t ni = n == n ? (int32_t)n : 0;
    uint32_t bits = (uint32_t)(ni + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// ---------------------------------------------------------------------------
// Subnormal floats (below FLT_MIN = 2^-126 = 1.2e-38 in magnitude) cost an x86 core a microcode
// assist, many times a plain operation's cost, on operations that read or make one. Native code
// can set the CPU to flush them to zero; wasm cannot (it specifies IEEE subnormals, and the
// browser owns the CPU's mode). Two places in a run would make them, and both are kept out
// (measured on an Intel Xeon; docs/bench.md, "Subnormal floats"):
//   - SiLU far left: below x = -64, silu(x) (about x e^x) is under 1.1e-26 in magnitude, and the
//     next layer's products of it with weights fall to subnormals. A chain that runs away (a
//     model trained a few steps, at T = 1000: |x_t| up to about 1,100) drove pre-activations
//     there, and its sampling steps ran 6x slower. Below SILU_ZERO_BELOW the SiLU is 0 and so is
//     its slope (their true values are under 1.1e-26), and the slope is computed at the clamp, so
//     that sigmoid(x) = 1 / (1 + exp(-x)) never underflows (below x = -87.3 it would be subnormal).
//   - AdamW's moments: m decays by beta1 = 0.9 each update its gradient is 0 (a ReLU unit off for
//     the whole batch, or a SiLU unit in its zero region), and 700-odd such updates take 1e-5 to
//     the subnormals; a ReLU run's steps ran 16x slower from about step 800. So every
//     MOMENT_FLUSH_EVERY (16) updates, optimizer.c has moments_flush store |m| below 2^-100 and v
//     below 2^-120 as 0. No moment then decays into the subnormals before the next flush (in 16
//     updates with a gradient of 0, 2^-100 falls below 2^-126 only if beta1 < 0.33, and 2^-120
//     only if beta2 < 0.78), and what is stored as 0 could not have shown in a weight above about
//     1e-17: |m| < 2^-100 moves its weight by at most lr * 10 |m| / eps (1 / bias_correction1
//     <= 10 at beta1 = 0.9), below 1e-24 at lr 1e-3 and eps 1e-8; v < 2^-120 adds at most
//     sqrt(1000 v) < 3e-17 (1 / bias_correction2 <= 1000 at beta2 = 0.999) to the eps of 1e-8
//     beside it, less than half its last bit. A pass of its own, not a test in AdamW's loop: that
//     test, two per parameter, made the batch-1 step 1.33 times as slow (A/B; 1.22 with the test
//     on the exponent's bits in integers); the pass reads m and v once in 16 updates.
// Runs that never come near either (every run of the presets measured so far) keep their bits.
#define SILU_ZERO_BELOW -64.0f
#define M_FLUSH_BELOW 0x1p-100f
#define V_FLUSH_BELOW 0x1p-120f

// ---------------------------------------------------------------------------
// Box-Muller in float, for the noise of every training and sampling step. libm's log, sin and
// cos in double cost about 10% of a batched sampling step and have no SIMD form, so the
// transform is written out: Cephes-style polynomials for log on [sqrt(1/2), sqrt(2)) and for
// sin and cos on [-pi/4, pi/4], with the arguments reduced exactly in integers. Each pair of
// words gives two N(0, 1) values:
//   u1 = (k1 + 1) / 2^24 in (0, 1],  u2 = k2 / 2^24 in [0, 1)   (k = the word's top 24 bits)
//   r = sqrt(-2 ln u1),  z0 = r cos(2 pi u2),  z1 = r sin(2 pi u2).
// Within a few float ulps of the same transform done in double (tests/normals.test.mjs).
#define SQRT_HALF 0.707106781186547524f
#define LOG_P0 7.0376836292e-2f
#define LOG_P1 -1.1514610310e-1f
#define LOG_P2 1.1676998740e-1f
#define LOG_P3 -1.2420140846e-1f
#define LOG_P4 1.4249322787e-1f
#define LOG_P5 -1.6668057665e-1f
#define LOG_P6 2.0000714765e-1f
#define LOG_P7 -2.4999993993e-1f
#define LOG_P8 3.3333331174e-1f
#define SIN_P0 -1.9515295891e-4f
#define SIN_P1 8.3321608736e-3f
#define SIN_P2 -1.6666654611e-1f
#define COS_P0 2.443315711809948e-5f
#define COS_P1 -1.388731625493765e-3f
#define COS_P2 4.166664568298827e-2f
#define TWO_PI_OVER_2_24 3.74507028e-7f  // 2 pi / 2^24: one step of u2, in radians

static inline float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static inline uint32_t bits_from_f32(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

// one pair: out[0] = r cos(theta), and out[1] = r sin(theta) if want_sin
static void box_muller_pair_scalar(float *out, uint32_t w1, uint32_t w2, int want_sin) {
    // ln u1 = ln(k1 + 1) - 24 ln 2. k1 + 1 <= 2^24 is exact as a float f = m 2^e, m in
    // [1/2, 1); m below sqrt(1/2) is doubled (e - 1), so the polynomial sees x = m - 1 in
    // [-0.29, 0.41). Both forms of x are exact subtractions.
    float f = (float)((w1 >> 8) + 1u);
    uint32_t fb = bits_from_f32(f);
    int e = (int)(fb >> 23) - 126 - 24;                      // the exponent of u1 = f / 2^24
    float mant = f32_from_bits((fb & 0x007fffffu) | 0x3f000000u);  // m in [1/2, 1)
    int small = mant < SQRT_HALF;
    float x = (mant + (small ? mant : 0.0f)) - 1.0f;
    e -= small;
    float ef = (float)e, z = x * x;
    float y = LOG_P0;
    y = y * x + LOG_P1; y = y * x + LOG_P2; y = y * x + LOG_P3; y = y * x + LOG_P4;
    y = y * x + LOG_P5; y = y * x + LOG_P6; y = y * x + LOG_P7; y = y * x + LOG_P8;
    y = (y * x) * z;
    y = y + ef * LN2_LO;
    y = y - 0.5f * z;
    float ln_u1 = (x + y) + ef * LN2_HI;
    float r = sqrtf(0.0f - (ln_u1 + ln_u1));                 // 0 - 2 ln u1: +0, never -0, at u1 = 1
    // theta = 2 pi k2 / 2^24 = q pi/2 + psi, psi in [-pi/4, pi/4): shifted by an eighth of a
    // turn, the top 2 bits of the 24 are the quadrant q and the other 22 give psi
    uint32_t kk = ((w2 >> 8) + (1u << 21)) & 0x00ffffffu;
    uint32_t q = kk >> 22;
    float psi = (float)((int32_t)(kk & 0x003fffffu) - (1 << 21)) * TWO_PI_OVER_2_24;
    float zz = psi * psi;
    float s = SIN_P0;
    s = s * zz + SIN_P1; s = s * zz + SIN_P2;
    s = ((s * zz) * psi) + psi;
    float c = COS_P0;
    c = c * zz + COS_P1; c = c * zz + COS_P2;
    c = ((c * zz) * zz - 0.5f * zz) + 1.0f;
    // rotate by q quarter turns: (cos, sin) = (c, s), (-s, c), (-c, -s), (s, -c)
    float cos_t = (q & 1u) ? s : c, sin_t = (q & 1u) ? c : s;
    cos_t = f32_from_bits(bits_from_f32(cos_t) ^ (((q + 1u) & 2u) << 30));
    sin_t = f32_from_bits(bits_from_f32(sin_t) ^ ((q & 2u) << 30));
    out[0] = r * cos_t;
    if (want_sin) out[1] = r * sin_t;
}

void normals_from_bits_scalar(float *out, const uint32_t *bits, int n) {
    // out (n); bits (2 ceil(n/2)): pair i is words 2i (radius) and 2i+1 (angle)
    for (int i = 0; i < n; i += 2) box_muller_pair_scalar(out + i, bits[i], bits[i + 1], i + 1 < n);
}

// ---------------------------------------------------------------------------
// scalar twins

// The order in which dinp = dout W adds the rows of W: in 4 bands of q = OC / 4 rows read side by
// side, rows r, r + q, r + 2q, r + 3q for r = 0..q-1, then the OC % 4 rows left over in order.
// The SIMD kernels then stream W as 4 long runs through consecutive rows, which the prefetchers
// follow; 4 neighbouring rows (4 KB each) were 4 new short streams every group, and a batch-1
// training step measured 0.89x its time with the bands (A/B). Every path adds in this order,
// whatever B, so a sample's dinp never depends on the batch it came in.
static inline int dinp_row(int p, int q) { return p < 4 * q ? (p % 4) * q + p / 4 : p; }

void matmul_dots_scalar(float *out, int ldo, const float *inp, const float *W, int B, int C, int OC) {
    // inp (B,C), W (OC,C), out (B,OC) with rows ldo floats apart
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C;
        for (int o = 0; o < OC; o++) {
            const float *w = W + (size_t)o * C;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            for (int c = 0; c < C; c += 4) {
                a0 += x[c] * w[c];
                a1 += x[c + 1] * w[c + 1];
                a2 += x[c + 2] * w[c + 2];
                a3 += x[c + 3] * w[c + 3];
            }
            out[(size_t)b * ldo + o] = (a0 + a1) + (a2 + a3);
        }
    }
}

void matmul_backward_scalar(float *dinp, float *dW, float *dbias, const float *dout,
                            const float *inp, const float *W, int B, int C, int OC) {
    // dout (B,OC), inp (B,C), W (OC,C) -> dinp (B,C) =, dW (OC,C) +=, dbias (OC) +=
    if (dinp) {
        memset(dinp, 0, sizeof(float) * (size_t)B * C);
        for (int b = 0; b < B; b++) {
            float *dx = dinp + (size_t)b * C;
            for (int p = 0; p < OC; p++) {
                int o = dinp_row(p, OC / 4);
                float d = dout[(size_t)b * OC + o];
                const float *w = W + (size_t)o * C;
                for (int c = 0; c < C; c++) dx[c] += d * w[c];
            }
        }
    }
    for (int o = 0; o < OC; o++) {
        float *dw = dW ? dW + (size_t)o * C : NULL;
        for (int c = 0; dw && c < C; c++) {
            float acc = dw[c];
            for (int b = 0; b < B; b++) acc += dout[(size_t)b * OC + o] * inp[(size_t)b * C + c];
            dw[c] = acc;
        }
        float db = dbias[o];
        for (int b = 0; b < B; b++) db += dout[(size_t)b * OC + o];
        dbias[o] = db;
    }
}

void act_forward_scalar(float *out, const float *inp, int n, int activation) {
    if (activation == ACT_RELU) {
        // a NaN passes through (divergence must never be hidden), and -0 becomes +0,
        // exactly as wasm's f32x4.max(x, 0) in the SIMD version
        for (int i = 0; i < n; i++) {
            float x = inp[i];
            out[i] = x != x ? x : (x > 0.0f ? x : 0.0f);
        }
        return;
    }
    // SiLU: x * sigmoid(x) = x / (1 + exp(-x)), and 0 below SILU_ZERO_BELOW (see above). A NaN
    // fails the comparison and passes through
    for (int i = 0; i < n; i++) {
        float y = inp[i] / (1.0f + exp_scalar(-inp[i]));
        out[i] = inp[i] < SILU_ZERO_BELOW ? 0.0f : y;
    }
}

void act_backward_scalar(float *dinp, const float *inp, const float *dout, int n, int activation) {
    if (activation == ACT_RELU) {
        for (int i = 0; i < n; i++) dinp[i] = inp[i] > 0.0f ? dout[i] : 0.0f;
        return;
    }
    // d/dx [x s(x)] = s + x s (1 - s), s = sigmoid(x); 0 below SILU_ZERO_BELOW, where the
    // forward is 0, and computed at the clamp there so that s stays a normal float
    for (int i = 0; i < n; i++) {
        int far_left = inp[i] < SILU_ZERO_BELOW;
        float x = far_left ? SILU_ZERO_BELOW : inp[i];
        float s = 1.0f / (1.0f + exp_scalar(-x));
        float g = s + (x * s) * (1.0f - s);
        dinp[i] = dout[i] * (far_left ? 0.0f : g);
    }
}

// The AdamW step of one parameter with gradient g. Decoupled weight decay first (as PyTorch's
// AdamW), then the Adam step:
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)
// The two bias corrections are applied as multiplications by 1/bc1 and 1/bc2 (computed once per
// call): a division costs several times a multiplication in SIMD, and AdamW is a third to a half
// of a training step (3 divisions per 4 parameters became 1; 8-17% faster in microbenchmarks).
// Shared by the plain and the fused kernel, so the two cannot drift apart.

// the constants of one AdamW step, derived once per call (the scalar twin of AdamWVec below)
typedef struct { float lr, decay, b1, b2, one_minus_b1, one_minus_b2, eps, inv_bc1, inv_bc2; } AdamWConsts;

static inline AdamWConsts adamw_consts(const AdamWStep *h) {
    AdamWConsts k = { h->lr, 1.0f - h->lr * h->weight_decay, h->beta1, h->beta2, 1.0f - h->beta1, 1.0f - h->beta2,
                      h->eps, 1.0f / h->bias_correction1, 1.0f / h->bias_correction2 };
    return k;
}

static inline void adamw_one(float *param, float *m, float *v, float g, const AdamWConsts *k) {
    float p = *param * k->decay;
    float mi = k->b1 * *m + k->one_minus_b1 * g;
    float vi = k->b2 * *v + k->one_minus_b2 * (g * g);
    float m_hat = mi * k->inv_bc1;
    float v_hat = vi * k->inv_bc2;
    *param = p - k->lr * (m_hat / (sqrtf(v_hat) + k->eps));
    *m = mi;
    *v = vi;
}

void adamw_update_scalar(float *param, const float *grad, float *m, float *v, int n, const AdamWStep *h) {
    AdamWConsts k = adamw_consts(h);
    for (int i = 0; i < n; i++) adamw_one(param + i, m + i, v + i, grad[i], &k);
}

void moments_flush_scalar(float *m, float *v, size_t n) {
    // m (n), v (n): |m| < 2^-100 and v < 2^-120 (v is never negative) become +0; NaN fails the
    // comparisons and stays
    for (size_t i = 0; i < n; i++) {
        if (fabsf(m[i]) < M_FLUSH_BELOW) m[i] = 0.0f;
        if (v[i] < V_FLUSH_BELOW) v[i] = 0.0f;
    }
}

void adamw_update_outer_scalar(float *param, float *m, float *v, const float *dout, int ldd, const float *inp,
                               int ldx, int B, int C, long lo, long hi, const AdamWStep *h,
                               const float *next_inp, float *next_out) {
    // param, m, v (OC,C), elements [lo, hi) in row-major order; dout (B,OC) rows ldd apart,
    // inp (B,C) rows ldx apart; next_inp (C), next_out (OC)
    AdamWConsts k = adamw_consts(h);
    // row by row (no division per element): row o holds elements [o C, (o + 1) C)
    for (long i = lo; i < hi;) {
        long o = i / C, row_end = (o + 1) * C < hi ? (o + 1) * C : hi;
        float d0 = dout[o];  // sample 0's factor for the whole row (all there is at batch 1)
        for (long c = i - o * C; i < row_end; i++, c++) {
            // exactly what matmul_backward leaves in a zeroed dW: 0 + each sample's product, in order
            float g = 0.0f + d0 * inp[c];
            for (int b = 1; b < B; b++) g += dout[(size_t)b * ldd + o] * inp[(size_t)b * ldx + c];
            adamw_one(param + i, m + i, v + i, g, &k);
        }
    }
    // the dots of the whole rows, afterwards: the same sums (the SIMD version forms them in
    // registers as it goes; here that only slowed the loop above)
    if (next_inp && B == 1)  // batch 1 only, as the SIMD version
        for (long o = (lo + C - 1) / C; (o + 1) * C <= hi; o++)
            matmul_dots_scalar(next_out + o, 1, next_inp, param + o * C, 1, C, 1);
}

// ---------------------------------------------------------------------------
// SIMD versions

#ifdef DDPM_SIMD

static inline float hsum(v128_t a) {
    // (l0 + l1) + (l2 + l3), the order the scalar twins use
    return (wasm_f32x4_extract_lane(a, 0) + wasm_f32x4_extract_lane(a, 1)) +
           (wasm_f32x4_extract_lane(a, 2) + wasm_f32x4_extract_lane(a, 3));
}

// one step of a polynomial in Horner form, p x + c, rounded after the multiply and after the add
// (no fused multiply-add): the same two operations as the scalar twins' p * x + c
static inline v128_t horner_step(v128_t p, v128_t x, float c) {
    return wasm_f32x4_add(wasm_f32x4_mul(p, x), wasm_f32x4_splat(c));
}

static inline v128_t exp_simd(v128_t x) {
    x = wasm_f32x4_min(x, wasm_f32x4_splat(EXP_HI));
    x = wasm_f32x4_max(x, wasm_f32x4_splat(EXP_LO));
    v128_t n = wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(LOG2E)), wasm_f32x4_splat(0.5f)));
    v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(LN2_HI)));
    r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(LN2_LO)));
    v128_t p = wasm_f32x4_splat(EXP_P0);
    p = horner_step(p, r, EXP_P1);
    p = horner_step(p, r, EXP_P2);
    p = horner_step(p, r, EXP_P3);
    p = horner_step(p, r, EXP_P4);
    p = horner_step(p, r, EXP_P5);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, wasm_f32x4_mul(r, r)), r);
    p = wasm_f32x4_add(p, wasm_f32x4_splat(1.0f));
    v128_t bits = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
    return wasm_f32x4_mul(p, bits);
}

// Each (b, o) dot product below keeps its own 4-lane accumulator and sums it with hsum, as the
// scalar twin does; what changes between the loops is only how many of them run side by side
// (register blocking), so the bits never depend on B or on the blocking.

// Scratch for the batched kernels' packed copies (1 MB, static: the kernels allocate nothing).
// A kernel packs into it, uses it and is done with it before returning. On a cache line, as the
// model's buffers are (c/ddpm.c): no vector load from it straddles two lines.
#define PACK_FLOATS (1 << 18)
static _Alignas(64) float pack_buf[PACK_FLOATS];

// xp (C/4, 4, 4) = inp rows b..b+3 (4, C), interleaved by 4-float groups: xp[16k + 4s + l] =
// inp[b + s, 4k + l]. The tile below then finds its 4 samples' next vectors side by side, at
// fixed offsets from one pointer: wasm addresses one base pointer plus a constant for free, and
// every further pointer costs an add per load (measured: the 4 separate rows ran ~15% slower).
static void pack_4samples(float *xp, const float *inp, int b, int C) {
    for (int s = 0; s < 4; s++) {
        const float *x = inp + (size_t)(b + s) * C;
        for (int c = 0; c < C; c += 4) wasm_v128_store(xp + 4 * c + 4 * s, wasm_v128_load(x + c));
    }
}

// out[b..b+3, o..o+1] from the packed 4 samples xp: 8 independent dot products, each loaded
// vector used twice or four times. The widest tile that fits wasm's 16 vector registers without
// spilling (V8 keeps one as scratch; 3x3 and 5x2 tiles spilled and ran slower). The loop runs
// its pointers up to an end, with no count beside them: V8's code for the counted loop spent
// instructions on the count and its bound each iteration (the batch-64 forward 6% faster without,
// scripts/ab.mjs and a kernel-by-kernel A/B).
static inline void dots_4x2(float *out, int ldo, const float *xp, const float *W, int b, int o, int C) {
    const float *w0 = W + (size_t)o * C, *w1 = w0 + C, *w0_end = w0 + C;
    v128_t s00 = wasm_f32x4_splat(0.0f), s01 = s00, s10 = s00, s11 = s00;
    v128_t s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    for (; w0 != w0_end; w0 += 4, w1 += 4, xp += 16) {
        v128_t a = wasm_v128_load(w0), d = wasm_v128_load(w1), x;
        x = wasm_v128_load(xp);
        s00 = wasm_f32x4_add(s00, wasm_f32x4_mul(x, a));
        s01 = wasm_f32x4_add(s01, wasm_f32x4_mul(x, d));
        x = wasm_v128_load(xp + 4);
        s10 = wasm_f32x4_add(s10, wasm_f32x4_mul(x, a));
        s11 = wasm_f32x4_add(s11, wasm_f32x4_mul(x, d));
        x = wasm_v128_load(xp + 8);
        s20 = wasm_f32x4_add(s20, wasm_f32x4_mul(x, a));
        s21 = wasm_f32x4_add(s21, wasm_f32x4_mul(x, d));
        x = wasm_v128_load(xp + 12);
        s30 = wasm_f32x4_add(s30, wasm_f32x4_mul(x, a));
        s31 = wasm_f32x4_add(s31, wasm_f32x4_mul(x, d));
    }
    float *y = out + (size_t)b * ldo + o;
    y[0] = hsum(s00);           y[1] = hsum(s01);
    y[ldo] = hsum(s10);         y[ldo + 1] = hsum(s11);
    y[2 * ldo] = hsum(s20);     y[2 * ldo + 1] = hsum(s21);
    y[3 * ldo] = hsum(s30);     y[3 * ldo + 1] = hsum(s31);
}

// out[b, o + k q] for k = 0..5, one sample: 6 rows of W, q rows apart, streamed past one input
// vector, each row adding its vectors in order. At batch 1 each weight is used once, so this is a
// pure stream of W. Sized for V8, which has 15 vector registers: 6 sums, the input vector and 6
// row vectors fit even if LLVM issues every load of an iteration first (a wider tile then spills
// row vectors to the stack, seen with node --print-wasm-code, and runs at half speed).
static inline void dots_1x6(float *out, int ldo, const float *inp, const float *W, int b, int o, int q, int C) {
    const float *x = inp + (size_t)b * C, *w = W + (size_t)o * C;
    size_t Q = (size_t)q * C;
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0;
    for (int c = 0; c < C; c += 4) {
        v128_t xv = wasm_v128_load(x + c);
        const float *p = w + c;
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(xv, wasm_v128_load(p)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(xv, wasm_v128_load(p + Q)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(xv, wasm_v128_load(p + 2 * Q)));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(xv, wasm_v128_load(p + 3 * Q)));
        s4 = wasm_f32x4_add(s4, wasm_f32x4_mul(xv, wasm_v128_load(p + 4 * Q)));
        s5 = wasm_f32x4_add(s5, wasm_f32x4_mul(xv, wasm_v128_load(p + 5 * Q)));
    }
    float *y = out + (size_t)b * ldo + o;
    y[0] = hsum(s0); y[q] = hsum(s1); y[2 * q] = hsum(s2); y[3 * q] = hsum(s3); y[4 * q] = hsum(s4); y[5 * q] = hsum(s5);
}

// out[b, o + k q] for o = 0..q-1, k = 0..5: every dots_1x6 tile of one sample. The shapes of the
// model's fc1 to fc3 get a copy of the loop each, with q and C as constants: the six rows'
// distances are then constants that wasm folds into each load's offset, where distances known only
// at run time cost an integer add per load (8 integer adds an iteration; 3 with constants).
// A/B, a sampling step of 1 image: 0.983 of the time in the machine's fast phase, 0.916 in its
// slow one, where issue slots are short (docs/bench.md).
static void dots_1x6_rows(float *out, int ldo, const float *inp, const float *W, int b, int q, int C) {
    if (q == 170 && C == 1024)      for (int o = 0; o < 170; o++) dots_1x6(out, ldo, inp, W, b, o, 170, 1024);  // fc2 (1024 -> 1024)
    else if (q == 170 && C == 768)  for (int o = 0; o < 170; o++) dots_1x6(out, ldo, inp, W, b, o, 170, 768);   // fc1 (768 -> 1024)
    else if (q == 128 && C == 1024) for (int o = 0; o < 128; o++) dots_1x6(out, ldo, inp, W, b, o, 128, 1024);  // fc3 (1024 -> 768)
    else for (int o = 0; o < q; o++) dots_1x6(out, ldo, inp, W, b, o, q, C);
}

// out[b, o] alone: the edges the tiles leave
static inline void dots_1x1(float *out, int ldo, const float *inp, const float *W, int b, int o, int C) {
    const float *x = inp + (size_t)b * C, *w = W + (size_t)o * C;
    v128_t s = wasm_f32x4_splat(0.0f);
    for (int c = 0; c < C; c += 4)
        s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load(x + c), wasm_v128_load(w + c)));
    out[(size_t)b * ldo + o] = hsum(s);
}

static void matmul_dots_simd(float *out, int ldo, const float *inp, const float *W, int B, int C, int OC) {
    // inp (B,C), W (OC,C), out (B,OC) with rows ldo floats apart
    int B4 = B / 4 * 4;
    // samples in chunks that fit the scratch, packed in blocks of 4 (all 64 of a batch at
    // C = 1024); rows longer than a quarter of it (C > 65536) send every sample to the 1x6 path
    int chunk = PACK_FLOATS / (4 * C) * 4;
    if (chunk == 0) B4 = 0;
    for (int b0 = 0; b0 < B4; b0 += chunk) {
        int nb = B4 - b0 < chunk ? B4 - b0 : chunk;
        for (int j = 0; j < nb; j += 4) pack_4samples(pack_buf + (size_t)j * C, inp, b0 + j, C);
        // two rows of W at a time; the pair (2C floats) stays in L1 while every block of
        // samples passes over it, so W is read from memory once per chunk. A few rows of W at
        // most (256 KB: the blocks the update hands over for the next step's forward, c/optimizer.c,
        // which it has just written into L2) go the other way round: each block of 4 samples
        // (16 KB, in L1) passes over all of them, read from L2 (A/B: batch-16 step 0.977x).
        int o = 0, OC2 = OC / 2 * 2;
        if ((size_t)OC * C <= 65536) {
            for (int j = 0; j < nb; j += 4)
                for (o = 0; o < OC2; o += 2) dots_4x2(out, ldo, pack_buf + (size_t)j * C, W, b0 + j, o, C);
        } else {
            for (; o < OC2; o += 2)
                for (int j = 0; j < nb; j += 4) dots_4x2(out, ldo, pack_buf + (size_t)j * C, W, b0 + j, o, C);
        }
        o = OC2;
        for (; o < OC; o++)
            for (int b = b0; b < b0 + nb; b++) dots_1x1(out, ldo, inp, W, b, o, C);
    }
    // The last B % 4 samples (all of them at batch 1), 6 rows at a time: rows o, o + q, ..., o + 5q
    // with q = OC / 6, so each of the 6 streams runs on through consecutive rows as o goes up. With
    // 6 neighbouring rows (4 KB each) the prefetchers met 6 new short streams every tile: a
    // microbenchmark over the model's weight count read 1.3-1.4x faster this way.
    int q = OC / 6;
    for (int b = B4; b < B; b++) {
        dots_1x6_rows(out, ldo, inp, W, b, q, C);
        for (int o = 6 * q; o < OC; o++) dots_1x1(out, ldo, inp, W, b, o, C);
    }
}

// acc + d0 a0 + d1 a1 + d2 a2 + d3 a3, added in that order (the twin's order, dinp_row)
static inline v128_t add_4products(v128_t acc, v128_t d0, v128_t d1, v128_t d2, v128_t d3,
                                   v128_t a0, v128_t a1, v128_t a2, v128_t a3) {
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d0, a0));
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d1, a1));
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d2, a2));
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d3, a3));
    return acc;
}

// dinp[b..b+1, c..c+3] += the products of rows r, r + q, r + 2q, r + 3q of W (whose column c
// is at w0..w3): each loaded row vector serves two samples, and each dinp vector is loaded and
// stored once per 4 rows (not once per row). The 4 products are added one after another, in the
// twin's order (dinp_row), so the same bits.
static inline void dinp_2x4rows_step(float *dx, float *dy, const float *w0, const float *w1, const float *w2,
                                     const float *w3, v128_t d0, v128_t d1, v128_t d2, v128_t d3,
                                     v128_t e0, v128_t e1, v128_t e2, v128_t e3) {
    v128_t a0 = wasm_v128_load(w0), a1 = wasm_v128_load(w1), a2 = wasm_v128_load(w2), a3 = wasm_v128_load(w3);
    wasm_v128_store(dx, add_4products(wasm_v128_load(dx), d0, d1, d2, d3, a0, a1, a2, a3));
    wasm_v128_store(dy, add_4products(wasm_v128_load(dy), e0, e1, e2, e3, a0, a1, a2, a3));
}

// dinp[b..b+1, :] += the products of rows r, r + q, r + 2q, r + 3q of W, 16 floats per
// iteration: the 4 steps' addresses are constant offsets from the 6 row pointers, free in wasm
// addressing, where one step per iteration paid an add for each pointer (measured 5-10% faster)
static inline void matmul_dinp_2x4rows(float *dinp, const float *dout, const float *W,
                                       int b, int r, int q, int C, int OC) {
    size_t Q = (size_t)q * C;
    const float *w0 = W + (size_t)r * C, *w1 = w0 + Q, *w2 = w1 + Q, *w3 = w2 + Q;
    float *dx = dinp + (size_t)b * C, *dy = dx + C;
    const float *d = dout + (size_t)b * OC + r, *e = d + OC;
    v128_t d0 = wasm_f32x4_splat(d[0]), d1 = wasm_f32x4_splat(d[q]);
    v128_t d2 = wasm_f32x4_splat(d[2 * q]), d3 = wasm_f32x4_splat(d[3 * q]);
    v128_t e0 = wasm_f32x4_splat(e[0]), e1 = wasm_f32x4_splat(e[q]);
    v128_t e2 = wasm_f32x4_splat(e[2 * q]), e3 = wasm_f32x4_splat(e[3 * q]);
    int c = 0;
    for (; c + 16 <= C; c += 16) {
        for (int k = 0; k < 16; k += 4)
            dinp_2x4rows_step(dx + c + k, dy + c + k, w0 + c + k, w1 + c + k, w2 + c + k, w3 + c + k,
                              d0, d1, d2, d3, e0, e1, e2, e3);
    }
    for (; c < C; c += 4)
        dinp_2x4rows_step(dx + c, dy + c, w0 + c, w1 + c, w2 + c, w3 + c, d0, d1, d2, d3, e0, e1, e2, e3);
}

// the same for one sample (batch 1, or the last of an odd batch)
static inline void matmul_dinp_1x4rows(float *dinp, const float *dout, const float *W,
                                       int b, int r, int q, int C, int OC) {
    size_t Q = (size_t)q * C;
    const float *w0 = W + (size_t)r * C, *w1 = w0 + Q, *w2 = w1 + Q, *w3 = w2 + Q;
    float *dx = dinp + (size_t)b * C;
    const float *d = dout + (size_t)b * OC + r;
    v128_t d0 = wasm_f32x4_splat(d[0]), d1 = wasm_f32x4_splat(d[q]);
    v128_t d2 = wasm_f32x4_splat(d[2 * q]), d3 = wasm_f32x4_splat(d[3 * q]);
    for (int c = 0; c < C; c += 4) {
        v128_t acc = wasm_v128_load(dx + c);
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d0, wasm_v128_load(w0 + c)));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d1, wasm_v128_load(w1 + c)));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d2, wasm_v128_load(w2 + c)));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d3, wasm_v128_load(w3 + c)));
        wasm_v128_store(dx + c, acc);
    }
}

// one row of W into one sample's dinp (the OC % 4 rows left over)
static inline void matmul_dinp_1x1row(float *dinp, const float *dout, const float *W,
                                      int b, int o, int C, int OC) {
    const float *w = W + (size_t)o * C;
    float *dx = dinp + (size_t)b * C;
    v128_t d = wasm_f32x4_splat(dout[(size_t)b * OC + o]);
    for (int c = 0; c < C; c += 4)
        wasm_v128_store(dx + c, wasm_f32x4_add(wasm_v128_load(dx + c), wasm_f32x4_mul(d, wasm_v128_load(w + c))));
}

// dinp (B,C) = dout (B,OC) W (OC,C), from zero, rows in the twin's order (dinp_row). Rows of W
// in groups of 4, one from each band (outer), samples in pairs (inner): the 4 rows (16 KB at
// C = 1024) stay in L1 while every sample passes, so W is read from memory once whatever B is.
static void matmul_dinp_simd(float *dinp, const float *dout, const float *W, int B, int C, int OC) {
    memset(dinp, 0, sizeof(float) * (size_t)B * C);
    int B2 = B / 2 * 2, q = OC / 4;
    for (int r = 0; r < q; r++) {
        for (int b = 0; b < B2; b += 2) matmul_dinp_2x4rows(dinp, dout, W, b, r, q, C, OC);
        if (B2 < B) matmul_dinp_1x4rows(dinp, dout, W, B2, r, q, C, OC);
    }
    for (int o = 4 * q; o < OC; o++)
        for (int b = 0; b < B; b++) matmul_dinp_1x1row(dinp, dout, W, b, o, C, OC);
}

// The tile of every outer-product sum here: acc (4,8) += sum_b d[b, 0..3]^T x[b, 0..7], the
// samples in order (as the twin). d is (nb, 4) with row stride dstride, x is (nb, 8) with row
// stride xstride, acc's rows are C floats apart. It forms dW = dout^T inp (matmul_dW_*), dinp =
// dout W with the roles turned (matmul_dinp_packed), and the gradient AdamW consumes
// (adamw_update_outer). 8 accumulators loaded from acc (or, with from_zero, started at 0 whatever
// acc holds: acc = 0 + sum, the same bits as zeroing it first) and stored once. The loop runs to
// an end pointer, as dots_4x2's does: dinp and dW at batch 16 measured 7-9% faster than counted.
static inline void outer_acc_4x8(float *acc, const float *d, int dstride, const float *x, int xstride,
                                 int nb, int C, int from_zero) {
    v128_t s00 = wasm_f32x4_splat(0.0f), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    if (!from_zero) {
        s00 = wasm_v128_load(acc);         s01 = wasm_v128_load(acc + 4);
        s10 = wasm_v128_load(acc + C);     s11 = wasm_v128_load(acc + C + 4);
        s20 = wasm_v128_load(acc + 2 * C); s21 = wasm_v128_load(acc + 2 * C + 4);
        s30 = wasm_v128_load(acc + 3 * C); s31 = wasm_v128_load(acc + 3 * C + 4);
    }
    const float *x_end = x + (size_t)nb * xstride;
    for (; x != x_end; d += dstride, x += xstride) {
        v128_t a = wasm_v128_load(x), e = wasm_v128_load(x + 4), g;
        g = wasm_v128_load32_splat(d);
        s00 = wasm_f32x4_add(s00, wasm_f32x4_mul(g, a));
        s01 = wasm_f32x4_add(s01, wasm_f32x4_mul(g, e));
        g = wasm_v128_load32_splat(d + 1);
        s10 = wasm_f32x4_add(s10, wasm_f32x4_mul(g, a));
        s11 = wasm_f32x4_add(s11, wasm_f32x4_mul(g, e));
        g = wasm_v128_load32_splat(d + 2);
        s20 = wasm_f32x4_add(s20, wasm_f32x4_mul(g, a));
        s21 = wasm_f32x4_add(s21, wasm_f32x4_mul(g, e));
        g = wasm_v128_load32_splat(d + 3);
        s30 = wasm_f32x4_add(s30, wasm_f32x4_mul(g, a));
        s31 = wasm_f32x4_add(s31, wasm_f32x4_mul(g, e));
    }
    wasm_v128_store(acc, s00);         wasm_v128_store(acc + 4, s01);
    wasm_v128_store(acc + C, s10);     wasm_v128_store(acc + C + 4, s11);
    wasm_v128_store(acc + 2 * C, s20); wasm_v128_store(acc + 2 * C + 4, s21);
    wasm_v128_store(acc + 3 * C, s30); wasm_v128_store(acc + 3 * C + 4, s31);
}

// acc (4) += sum_b d[b] x[b, 0..3] (the edges the 4x8 tiles leave)
static inline void outer_acc_1x4(float *acc, const float *d, int dstride, const float *x, int xstride, int nb,
                                 int from_zero) {
    v128_t s = from_zero ? wasm_f32x4_splat(0.0f) : wasm_v128_load(acc);
    for (int b = 0; b < nb; b++, d += dstride, x += xstride)
        s = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_v128_load32_splat(d), wasm_v128_load(x)));
    wasm_v128_store(acc, s);
}

// dW (OC,C) += dout^T (OC,B) inp (B,C), b in order, for a few samples straight from the
// activations: at batch 1 this is one read and one write of dW, nothing to gain from copies.
static void matmul_dW_direct(float *dW, const float *dout, const float *inp, int B, int C, int OC) {
    int C8 = C / 8 * 8, OC4 = OC / 4 * 4;
    for (int o = 0; o < OC; o += (o < OC4 ? 4 : 1)) {
        float *w = dW + (size_t)o * C;
        const float *d = dout + o;
        if (o < OC4) {
            for (int c = 0; c < C8; c += 8) outer_acc_4x8(w + c, d, OC, inp + c, C, B, C, 0);
            for (int c = C8; c < C; c += 4)
                for (int k = 0; k < 4; k++) outer_acc_1x4(w + (size_t)k * C + c, d + k, OC, inp + c, C, B, 0);
        } else {
            for (int c = 0; c < C; c += 4) outer_acc_1x4(w + c, d, OC, inp + c, C, B, 0);
        }
    }
}

// dW (OC,C) += dout^T inp for a batch: the same tiles, fed from small copies. The rows of inp
// and dout are C and OC floats apart (4 KB at 1024), so the 16..64 rows a tile walks all fall in
// the same few L1 sets and evict each other; copied contiguously they stay in L1. inp is copied
// once per chunk of samples as strips of 64 columns, (C/64, nb, 64), and 4 columns of dout per
// row block: rows of dW then go in blocks of 4 (outer) and their columns in order (inner), so dW
// streams through memory row by row, not in 4 KB jumps down a column strip (measured 5-15%
// faster at 1024 x 1024). Samples go in chunks that fit the scratch (all of a batch of 16 or 64
// at C = 1024), in order, dW carrying the sum between chunks: the same bits.
#define DW_CW 64       // columns of inp per strip
#define DW_MAX_NB 256  // samples per chunk at most (the size of the dout copy)

// strips (C/64, n, 64) = n rows of C floats cut into strips of 64 columns (the last may be
// narrower): strip k row i is src[row(i), 64k..64k+63], where row(i) = dinp_row(p0 + i, q), the
// rows of src in the order dinp adds them (q = 0: rows p0.., in order). Each source row is read
// whole (a block of W comes from memory: rows read in pieces measured 1.35-1.5x slower).
static void pack_strips(float *strips, const float *src, int p0, int q, int n, int C) {
    int nstrips = (C + DW_CW - 1) / DW_CW;
    for (int i = 0; i < n; i++) {
        const float *x = src + (size_t)dinp_row(p0 + i, q) * C;
        for (int k = 0; k < nstrips; k++) {
            int c0 = k * DW_CW, cw = C - c0 < DW_CW ? C - c0 : DW_CW;
            float *xs = strips + (size_t)k * DW_CW * n + (size_t)i * DW_CW;
            for (int c = 0; c < cw; c += 4) wasm_v128_store(xs + c, wasm_v128_load(x + c0 + c));
        }
    }
}

static void matmul_dW_packed(float *dW, const float *dout, const float *inp, int B, int C, int OC) {
    _Alignas(64) float dp[DW_MAX_NB * 4];  // (nb, 4) columns o..o+3 of dout
    int OC4 = OC / 4 * 4, nstrips = (C + DW_CW - 1) / DW_CW;
    int chunk = PACK_FLOATS / (nstrips * DW_CW);
    chunk = chunk > DW_MAX_NB ? DW_MAX_NB : chunk;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int nb = B - b0 < chunk ? B - b0 : chunk;
        pack_strips(pack_buf, inp, b0, 0, nb, C);
        for (int o = 0; o < OC4; o += 4) {
            for (int b = 0; b < nb; b++) memcpy(dp + b * 4, dout + (size_t)(b0 + b) * OC + o, sizeof(float) * 4);
            for (int k = 0; k < nstrips; k++) {
                int c0 = k * DW_CW, cw = C - c0 < DW_CW ? C - c0 : DW_CW, cw8 = cw / 8 * 8;
                const float *xs = pack_buf + (size_t)k * DW_CW * nb;
                float *w = dW + (size_t)o * C + c0;
                for (int c = 0; c < cw8; c += 8) outer_acc_4x8(w + c, dp, 4, xs + c, DW_CW, nb, C, 0);
                for (int c = cw8; c < cw; c += 4)
                    for (int r = 0; r < 4; r++) outer_acc_1x4(w + (size_t)r * C + c, dp + r, 4, xs + c, DW_CW, nb, 0);
            }
        }
        for (int o = OC4; o < OC; o++)
            for (int k = 0; k < nstrips; k++) {
                int c0 = k * DW_CW, cw = C - c0 < DW_CW ? C - c0 : DW_CW;
                const float *xs = pack_buf + (size_t)k * DW_CW * nb;
                for (int c = 0; c < cw; c += 4)
                    outer_acc_1x4(dW + (size_t)o * C + c0 + c, dout + (size_t)b0 * OC + o, OC, xs + c, DW_CW, nb, 0);
            }
    }
}

// dinp (B,C) = dout (B,OC) W (OC,C) for a batch (from 16 samples: matmul_backward_simd): the dW
// kernel's own problem with the roles turned (dinp[b, c] += sum_o dout[b, o] W[o, c], an outer
// product per row o of W), so the same 4x8 tiles, whose 8 sums stay in registers along the rows of a block. The row-by-row
// kernel above keeps 2 samples' sums in memory and loads and stores them every 4 rows; it ran at
// 0.34-0.48 of the SIMD peak even with W in cache (this one: 0.95x its time at batch 16, 0.79x
// at batch 64, both builds timed in turn on the model's three shapes). W goes in
// blocks of up to 64 rows (256 KB at C = 1024: in L2), each packed into strips of 64 columns
// (16 KB each: in L1 while every group of 4 samples passes over it), and the needed columns of
// dout as (rows, 4) per group of 4 samples. Blocks are runs of the twin's order (dinp_row: a block
// of 64 takes 16 consecutive rows from each of the 4 bands), each sum carried in dinp between
// blocks: from zero, in the twin's order (the same bits).
#define DINP_ROWS 64
// rows of W per packed block: as many as fit the scratch with their dout columns, up to DINP_ROWS
static int dinp_block_rows(int B, int C) {
    int rows = PACK_FLOATS / ((C + DW_CW - 1) / DW_CW * DW_CW + B / 4 * 4);
    return rows > DINP_ROWS ? DINP_ROWS : rows;
}
static void matmul_dinp_packed(float *dinp, const float *dout, const float *W, int B, int C, int OC) {
    int B4 = B / 4 * 4, nstrips = (C + DW_CW - 1) / DW_CW, rows = dinp_block_rows(B, C);
    // the first block's tiles start from zero; the samples left to the row-by-row kernel, from memory
    memset(dinp + (size_t)B4 * C, 0, sizeof(float) * (size_t)(B - B4) * C);
    int q = OC / 4;
    for (int o0 = 0; o0 < OC; o0 += rows) {
        int nr = OC - o0 < rows ? OC - o0 : rows;
        pack_strips(pack_buf, W, o0, q, nr, C);
        // dp for the group of samples b..b+3: (nr, 4), dp[4r + i] = dout[b + i, row r of the block]
        float *dps = pack_buf + (size_t)nstrips * DW_CW * nr;
        for (int r = 0; r < nr; r++) {
            int o = dinp_row(o0 + r, q);
            for (int b = 0; b < B4; b += 4)
                for (int i = 0; i < 4; i++) dps[(size_t)b * nr + 4 * r + i] = dout[(size_t)(b + i) * OC + o];
        }
        for (int k = 0; k < nstrips; k++) {
            int c0 = k * DW_CW, cw = C - c0 < DW_CW ? C - c0 : DW_CW, cw8 = cw / 8 * 8;
            const float *xs = pack_buf + (size_t)k * DW_CW * nr;
            for (int b = 0; b < B4; b += 4) {
                const float *dp = dps + (size_t)b * nr;
                float *x = dinp + (size_t)b * C + c0;
                for (int c = 0; c < cw8; c += 8) outer_acc_4x8(x + c, dp, 4, xs + c, DW_CW, nr, C, o0 == 0);
                for (int c = cw8; c < cw; c += 4)
                    for (int i = 0; i < 4; i++) outer_acc_1x4(x + (size_t)i * C + c, dp + i, 4, xs + c, DW_CW, nr, o0 == 0);
            }
        }
    }
    // the last B % 4 samples, row by row
    for (int b = B4; b < B; b++) {
        for (int r = 0; r < q; r++) matmul_dinp_1x4rows(dinp, dout, W, b, r, q, C, OC);
        for (int o = 4 * q; o < OC; o++) matmul_dinp_1x1row(dinp, dout, W, b, o, C, OC);
    }
}

// The ceilings of the batched kernels' two tiles, for the benchmark (scripts/bench.mjs; not model
// code, but here beside the kernels because it runs their static inline tiles in their scratch):
// each tile alone, in the loop shape its kernel gives it, on operands that stay in L1.
//   KERNELS_TILE_OUTER: the 4x8 tile of the input gradients (outer_acc_4x8), as
//     matmul_dinp_packed runs it: a strip of 64 rows and 64 columns of a block of W, 4 of dout's
//     columns beside it, 8 tiles across the strip, sums rows 1024 floats apart (18 KB in all);
//   KERNELS_TILE_DOTS: the 4x2 tile of the batched forward (dots_4x2): 4 packed samples and 2
//     rows of W at C = 1024 (24 KB), twice.
// reps sweeps of KERNELS_TILE_PROBE_FLOPS each, every operand 0.5. The row count and C are read
// through volatiles: as constants, the compiler turned the tile's loop on end pointers into a
// counted one, which costs the kernel 7-9% (see outer_acc_4x8), and the probe would not time the
// kernel's loop. The barrier at each sweep makes the compiler load the operands again, as the
// kernels do, where it could otherwise compute the dot products once for all sweeps. Returns the
// sum of every output over the sweeps (outer: its 256 sums after the last; dots: its 16 dot
// products at each), for a test to check that every sweep ran.
#define TILE_PROBE_ROWS 64
#define TILE_PROBE_C 1024
_Static_assert(KERNELS_TILE_PROBE_FLOPS == (DW_CW / 8) * TILE_PROBE_ROWS * 64, "the 4x8 sweep's flops");
_Static_assert(KERNELS_TILE_PROBE_FLOPS == 2 * (TILE_PROBE_C / 4) * 64, "the 4x2 sweep's flops");
static volatile int tile_probe_rows = TILE_PROBE_ROWS, tile_probe_c = TILE_PROBE_C;
static float tile_probe_simd(int which, int reps) {
    int rows = tile_probe_rows, C = tile_probe_c;
    float *x = pack_buf, *d = pack_buf + TILE_PROBE_ROWS * DW_CW, *acc = d + 2 * TILE_PROBE_C;
    for (float *p = x; p < acc; p++) *p = 0.5f;
    for (int i = 0; i < 4 * C; i++) acc[i] = 0.0f;
    float total = 0.0f;
    if (which == KERNELS_TILE_DOTS) {
        // x: 4 samples packed (C/4, 4, 4), d: 2 rows of W, acc: out (4, 2) with rows 2 apart, twice
        for (int k = 0; k < reps; k++) {
            __asm__ volatile("" ::: "memory");
            dots_4x2(acc, 2, x, d, 0, 0, C);
            dots_4x2(acc + 8, 2, x, d, 0, 0, C);
            for (int i = 0; i < 16; i++) total += acc[i];
        }
        return total;
    }
    for (int k = 0; k < reps; k++) {
        __asm__ volatile("" ::: "memory");
        for (int c = 0; c < DW_CW; c += 8) outer_acc_4x8(acc + c, d, 4, x + c, DW_CW, rows, C, 0);
    }
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < DW_CW; c++) total += acc[(size_t)r * C + c];
    return total;
}

static void matmul_backward_simd(float *dinp, float *dW, float *dbias, const float *dout,
                                 const float *inp, const float *W, int B, int C, int OC) {
    // dout (B,OC), inp (B,C), W (OC,C) -> dinp (B,C) =, dW (OC,C) +=, dbias (OC) +=
    // from 16 samples on, the packed tiles (while a block of at least 4 rows and its dout fit the
    // scratch); below that, packing each block of W costs more than the tiles win (A/B: batch 8
    // 1.0-1.05x, batch 16 0.98x, batch 64 0.94x the row-by-row kernel's step time)
    if (dinp && B >= 16 && dinp_block_rows(B, C) >= 4)
        matmul_dinp_packed(dinp, dout, W, B, C, OC);
    else if (dinp) matmul_dinp_simd(dinp, dout, W, B, C, OC);
    // a few samples (or rows too long for one sample's strips to fit the scratch, C > 2^18)
    // straight from the activations
    if (dW && (B < 4 || C > PACK_FLOATS)) matmul_dW_direct(dW, dout, inp, B, C, OC);
    else if (dW) matmul_dW_packed(dW, dout, inp, B, C, OC);
    for (int o = 0; o < OC; o++) {
        float db = dbias[o];
        for (int b = 0; b < B; b++) db += dout[(size_t)b * OC + o];
        dbias[o] = db;
    }
}

static void act_forward_simd(float *out, const float *inp, int n, int activation) {
    v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f), zero_below = wasm_f32x4_splat(SILU_ZERO_BELOW);
    for (int i = 0; i < n; i += 4) {
        v128_t x = wasm_v128_load(inp + i);
        v128_t y;
        if (activation == ACT_RELU) {
            // NaN-propagating, max(-0, 0) = +0; zero second: SIMDe's x86 max returns the second
            // operand on a tie of signed zeros (c/simd.h), so native gives +0 too, as the twin does
            y = wasm_f32x4_max(x, zero);
        } else {
            y = wasm_f32x4_div(x, wasm_f32x4_add(one, exp_simd(wasm_f32x4_neg(x))));
            y = wasm_v128_andnot(y, wasm_f32x4_lt(x, zero_below));
        }
        wasm_v128_store(out + i, y);
    }
}

static void act_backward_simd(float *dinp, const float *inp, const float *dout, int n, int activation) {
    v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f), zero_below = wasm_f32x4_splat(SILU_ZERO_BELOW);
    for (int i = 0; i < n; i += 4) {
        v128_t x = wasm_v128_load(inp + i), d = wasm_v128_load(dout + i);
        v128_t y;
        if (activation == ACT_RELU) {
            y = wasm_v128_bitselect(d, zero, wasm_f32x4_gt(x, zero));
        } else {
            // the twin's clamp, x < -64 ? -64 : x (a NaN fails the comparison and passes)
            v128_t far_left = wasm_f32x4_lt(x, zero_below);
            v128_t xc = wasm_v128_bitselect(zero_below, x, far_left);
            v128_t s = wasm_f32x4_div(one, wasm_f32x4_add(one, exp_simd(wasm_f32x4_neg(xc))));
            v128_t g = wasm_f32x4_add(s, wasm_f32x4_mul(wasm_f32x4_mul(xc, s), wasm_f32x4_sub(one, s)));
            y = wasm_f32x4_mul(d, wasm_v128_andnot(g, far_left));
        }
        wasm_v128_store(dinp + i, y);
    }
}

// the constants of one AdamW step, splatted once per call
typedef struct { v128_t lr, decay, b1, b2, one_minus_b1, one_minus_b2, eps, inv_bc1, inv_bc2; } AdamWVec;

static inline AdamWVec adamw_vec_consts(const AdamWStep *h) {
    AdamWVec k;
    k.lr = wasm_f32x4_splat(h->lr);
    k.decay = wasm_f32x4_splat(1.0f - h->lr * h->weight_decay);
    k.b1 = wasm_f32x4_splat(h->beta1);
    k.b2 = wasm_f32x4_splat(h->beta2);
    k.one_minus_b1 = wasm_f32x4_splat(1.0f - h->beta1);
    k.one_minus_b2 = wasm_f32x4_splat(1.0f - h->beta2);
    k.eps = wasm_f32x4_splat(h->eps);
    k.inv_bc1 = wasm_f32x4_splat(1.0f / h->bias_correction1);
    k.inv_bc2 = wasm_f32x4_splat(1.0f / h->bias_correction2);
    return k;
}

// adamw_one on 4 parameters: the same operations in the same order, lane by lane; returns the
// updated parameters
static inline v128_t adamw_vec(float *param, float *m, float *v, v128_t g, const AdamWVec *k) {
    v128_t p = wasm_f32x4_mul(wasm_v128_load(param), k->decay);
    v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(k->b1, wasm_v128_load(m)), wasm_f32x4_mul(k->one_minus_b1, g));
    v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(k->b2, wasm_v128_load(v)), wasm_f32x4_mul(k->one_minus_b2, wasm_f32x4_mul(g, g)));
    v128_t m_hat = wasm_f32x4_mul(mi, k->inv_bc1);
    v128_t v_hat = wasm_f32x4_mul(vi, k->inv_bc2);
    v128_t upd = wasm_f32x4_div(m_hat, wasm_f32x4_add(wasm_f32x4_sqrt(v_hat), k->eps));
    v128_t p_new = wasm_f32x4_sub(p, wasm_f32x4_mul(k->lr, upd));
    wasm_v128_store(param, p_new);
    wasm_v128_store(m, mi);
    wasm_v128_store(v, vi);
    return p_new;
}

static void moments_flush_simd(float *m, float *v, size_t n) {
    v128_t m_below = wasm_f32x4_splat(M_FLUSH_BELOW), v_below = wasm_f32x4_splat(V_FLUSH_BELOW);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        // andnot clears a flushed lane's every bit: +0, as the twin stores; NaN fails the compare.
        // Stored only where a lane is flushed, as the twin: a read of m and v, seldom a write
        v128_t x = wasm_v128_load(m + i), y = wasm_v128_load(v + i);
        v128_t m_tiny = wasm_f32x4_lt(wasm_f32x4_abs(x), m_below), v_tiny = wasm_f32x4_lt(y, v_below);
        if (wasm_v128_any_true(m_tiny)) wasm_v128_store(m + i, wasm_v128_andnot(x, m_tiny));
        if (wasm_v128_any_true(v_tiny)) wasm_v128_store(v + i, wasm_v128_andnot(y, v_tiny));
    }
    moments_flush_scalar(m + i, v + i, n - i);  // the last n % 4
}

static void adamw_update_simd(float *param, const float *grad, float *m, float *v, int n, const AdamWStep *h) {
    AdamWVec k = adamw_vec_consts(h);
    for (int i = 0; i < n; i += 4) adamw_vec(param + i, m + i, v + i, wasm_v128_load(grad + i), &k);
}

// AdamW on columns [c0, c1) of row o, each gradient vector summed over the B samples from zero,
// in sample order: ((0 + d[0] x[0]) + d[1] x[1]) + ...; at batch 1, with next_inp, the updated
// row's dot with next_inp too, in registers (to next_out[o], when the row is whole)
static void adamw_outer_row(float *param, float *m, float *v, const float *dout, int ldd, const float *inp,
                            int ldx, int B, int C, long o, long c0, long c1, const AdamWVec *k,
                            const float *next_inp, float *next_out) {
    size_t row = (size_t)o * C;
    if (B == 1) {
        // the batch-1 step (the paper's): one product per element, its factor splatted once per row
        v128_t d = wasm_f32x4_splat(dout[o]), zero = wasm_f32x4_splat(0.0f);
        if (!next_inp) {
            for (long c = c0; c < c1; c += 4)
                adamw_vec(param + row + c, m + row + c, v + row + c, wasm_f32x4_add(zero, wasm_f32x4_mul(d, wasm_v128_load(inp + c))), k);
            return;
        }
        // AdamW streams W, m and v from memory; the dot's load (from L1) and multiply-add hide under that
        v128_t acc = zero;
        for (long c = c0; c < c1; c += 4) {
            v128_t p = adamw_vec(param + row + c, m + row + c, v + row + c, wasm_f32x4_add(zero, wasm_f32x4_mul(d, wasm_v128_load(inp + c))), k);
            acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(next_inp + c), p));
        }
        if (c0 == 0 && c1 == C) next_out[o] = hsum(acc);
        return;
    }
    for (long c = c0; c < c1; c += 4) {
        const float *d = dout + o, *x = inp + c;
        v128_t g = wasm_f32x4_splat(0.0f);
        for (int b = 0; b < B; b++, d += ldd, x += ldx)
            g = wasm_f32x4_add(g, wasm_f32x4_mul(wasm_v128_load32_splat(d), wasm_v128_load(x)));
        adamw_vec(param + row + c, m + row + c, v + row + c, g, k);
    }
}

static void adamw_update_outer_simd(float *param, float *m, float *v, const float *dout, int ldd, const float *inp,
                                    int ldx, int B, int C, long lo, long hi, const AdamWStep *h,
                                    const float *next_inp, float *next_out) {
    AdamWVec k = adamw_vec_consts(h);
    // From 4 samples on, whole rows go 4 at a time: their gradient is formed by the 4x8 tiles of
    // the batched dW kernel into a zeroed 4-row scratch (16 KB at C = 1024: it stays in L1), then
    // AdamW streams over the 4 rows reading it from there. Each phase runs at its own best (the
    // tiles compute-bound, AdamW memory-bound); forming the gradient in registers and updating at
    // once measured 1.8x slower at batch 16 (AdamW's loads wait behind each tile's chains of
    // adds), and neither way writes a gradient to memory. Below 4 samples, or for parts of rows
    // (the ends of a slice), row by row.
    long rows_hi = hi / C;  // rows below this end before hi
    int tiles = B >= 4 && 4 * (size_t)C <= PACK_FLOATS;
    int C8 = C / 8 * 8;
    float *g = pack_buf;
    // lo, hi and C are multiples of 4, so no vector straddles two rows
    for (long i = lo; i < hi;) {
        long o = i / C, c = i - o * C;
        if (tiles && c == 0 && o + 4 <= rows_hi) {
            for (int cc = 0; cc < C8; cc += 8) outer_acc_4x8(g + cc, dout + o, ldd, inp + cc, ldx, B, C, 1);
            for (int cc = C8; cc < C; cc += 4)
                for (int r = 0; r < 4; r++) outer_acc_1x4(g + (size_t)r * C + cc, dout + o + r, ldd, inp + cc, ldx, B, 1);
            size_t at = (size_t)o * C;
            for (size_t j = 0; j < 4 * (size_t)C; j += 4) adamw_vec(param + at + j, m + at + j, v + at + j, wasm_v128_load(g + j), &k);
            i += 4 * (long)C;
            continue;
        }
        // (the rest of) row o, up to hi
        long end = (o + 1) * C < hi ? (o + 1) * C : hi;
        adamw_outer_row(param, m, v, dout, ldd, inp, ldx, B, C, o, c, c + (end - i), &k, next_inp, next_out);
        i = end;
    }
}

// box_muller_pair_scalar on 4 pairs (8 words in, 8 values out), lane by lane the same operations
static inline void box_muller_4pairs(float *out, const uint32_t *bits) {
    v128_t v0 = wasm_v128_load(bits), v1 = wasm_v128_load(bits + 4);
    v128_t w1 = wasm_i32x4_shuffle(v0, v1, 0, 2, 4, 6), w2 = wasm_i32x4_shuffle(v0, v1, 1, 3, 5, 7);
    v128_t one = wasm_f32x4_splat(1.0f);
    // ln u1
    v128_t f = wasm_f32x4_convert_u32x4(wasm_i32x4_add(wasm_u32x4_shr(w1, 8), wasm_i32x4_splat(1)));
    v128_t e = wasm_i32x4_sub(wasm_u32x4_shr(f, 23), wasm_i32x4_splat(126 + 24));
    v128_t mant = wasm_v128_or(wasm_v128_and(f, wasm_i32x4_splat(0x007fffff)), wasm_i32x4_splat(0x3f000000));
    v128_t small = wasm_f32x4_lt(mant, wasm_f32x4_splat(SQRT_HALF));  // all ones (-1) where true
    v128_t x = wasm_f32x4_sub(wasm_f32x4_add(mant, wasm_v128_and(small, mant)), one);
    e = wasm_i32x4_add(e, small);
    v128_t ef = wasm_f32x4_convert_i32x4(e), z = wasm_f32x4_mul(x, x);
    v128_t y = wasm_f32x4_splat(LOG_P0);
    y = horner_step(y, x, LOG_P1);
    y = horner_step(y, x, LOG_P2);
    y = horner_step(y, x, LOG_P3);
    y = horner_step(y, x, LOG_P4);
    y = horner_step(y, x, LOG_P5);
    y = horner_step(y, x, LOG_P6);
    y = horner_step(y, x, LOG_P7);
    y = horner_step(y, x, LOG_P8);
    y = wasm_f32x4_mul(wasm_f32x4_mul(y, x), z);
    y = wasm_f32x4_add(y, wasm_f32x4_mul(ef, wasm_f32x4_splat(LN2_LO)));
    y = wasm_f32x4_sub(y, wasm_f32x4_mul(wasm_f32x4_splat(0.5f), z));
    v128_t ln_u1 = wasm_f32x4_add(wasm_f32x4_add(x, y), wasm_f32x4_mul(ef, wasm_f32x4_splat(LN2_HI)));
    v128_t r = wasm_f32x4_sqrt(wasm_f32x4_sub(wasm_f32x4_splat(0.0f), wasm_f32x4_add(ln_u1, ln_u1)));
    // theta = q pi/2 + psi
    v128_t kk = wasm_v128_and(wasm_i32x4_add(wasm_u32x4_shr(w2, 8), wasm_i32x4_splat(1 << 21)), wasm_i32x4_splat(0x00ffffff));
    v128_t q = wasm_u32x4_shr(kk, 22);
    v128_t j = wasm_i32x4_sub(wasm_v128_and(kk, wasm_i32x4_splat(0x003fffff)), wasm_i32x4_splat(1 << 21));
    v128_t psi = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(j), wasm_f32x4_splat(TWO_PI_OVER_2_24));
    v128_t zz = wasm_f32x4_mul(psi, psi);
    v128_t s = wasm_f32x4_splat(SIN_P0);
    s = horner_step(s, zz, SIN_P1);
    s = horner_step(s, zz, SIN_P2);
    s = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(s, zz), psi), psi);
    v128_t c = wasm_f32x4_splat(COS_P0);
    c = horner_step(c, zz, COS_P1);
    c = horner_step(c, zz, COS_P2);
    c = wasm_f32x4_add(wasm_f32x4_sub(wasm_f32x4_mul(wasm_f32x4_mul(c, zz), zz),
                                      wasm_f32x4_mul(wasm_f32x4_splat(0.5f), zz)), one);
    v128_t odd = wasm_i32x4_eq(wasm_v128_and(q, wasm_i32x4_splat(1)), wasm_i32x4_splat(1));
    v128_t cos_t = wasm_v128_bitselect(s, c, odd), sin_t = wasm_v128_bitselect(c, s, odd);
    cos_t = wasm_v128_xor(cos_t, wasm_i32x4_shl(wasm_v128_and(wasm_i32x4_add(q, wasm_i32x4_splat(1)), wasm_i32x4_splat(2)), 30));
    sin_t = wasm_v128_xor(sin_t, wasm_i32x4_shl(wasm_v128_and(q, wasm_i32x4_splat(2)), 30));
    v128_t z0 = wasm_f32x4_mul(r, cos_t), z1 = wasm_f32x4_mul(r, sin_t);
    wasm_v128_store(out, wasm_i32x4_shuffle(z0, z1, 0, 4, 1, 5));
    wasm_v128_store(out + 4, wasm_i32x4_shuffle(z0, z1, 2, 6, 3, 7));
}

static void normals_from_bits_simd(float *out, const uint32_t *bits, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) box_muller_4pairs(out + i, bits + i);
    normals_from_bits_scalar(out + i, bits + i, n - i);  // the last n % 8 values (the same bits)
}
#endif

// ---------------------------------------------------------------------------
// dispatchers: the rest of the code calls these, never the SIMD or scalar versions directly.
// Each calls the SIMD version in the SIMD build (unless kernels_force_scalar(1) asked for the
// twin) and the scalar twin otherwise: the scalar build has no SIMD versions at all.

void matmul_dots(float *out, int ldo, const float *inp, const float *W, int B, int C, int OC) {
#ifdef DDPM_SIMD
    if (!force_scalar) { matmul_dots_simd(out, ldo, inp, W, B, C, OC); return; }
#endif
    matmul_dots_scalar(out, ldo, inp, W, B, C, OC);
}
// the bias is added to each finished sum, as a separate pass: the same float additions (each
// dot product is a float before its bias is added either way), so the dots can be computed
// rows at a time, and the bias added once the rows are all there (c/optimizer.c)
void add_bias(float *out, const float *bias, int B, int OC) {
    for (int b = 0; b < B; b++)
        for (int o = 0; o < OC; o++) out[(size_t)b * OC + o] += bias[o];
}
float max_abs(const float *x, size_t n) {
    float mx = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        mx = (a > mx || a != a) ? a : mx;  // once NaN, stays NaN
    }
    return mx;
}
void matmul_forward(float *out, const float *inp, const float *W, const float *bias, int B, int C, int OC) {
    matmul_dots(out, OC, inp, W, B, C, OC);
    add_bias(out, bias, B, OC);
}
void matmul_backward(float *dinp, float *dW, float *dbias, const float *dout, const float *inp,
                     const float *W, int B, int C, int OC) {
#ifdef DDPM_SIMD
    if (!force_scalar) { matmul_backward_simd(dinp, dW, dbias, dout, inp, W, B, C, OC); return; }
#endif
    matmul_backward_scalar(dinp, dW, dbias, dout, inp, W, B, C, OC);
}
void act_forward(float *out, const float *inp, int n, int activation) {
#ifdef DDPM_SIMD
    if (!force_scalar) { act_forward_simd(out, inp, n, activation); return; }
#endif
    act_forward_scalar(out, inp, n, activation);
}
void act_backward(float *dinp, const float *inp, const float *dout, int n, int activation) {
#ifdef DDPM_SIMD
    if (!force_scalar) { act_backward_simd(dinp, inp, dout, n, activation); return; }
#endif
    act_backward_scalar(dinp, inp, dout, n, activation);
}
void adamw_update(float *param, const float *grad, float *m, float *v, int n, const AdamWStep *h) {
#ifdef DDPM_SIMD
    if (!force_scalar) { adamw_update_simd(param, grad, m, v, n, h); return; }
#endif
    adamw_update_scalar(param, grad, m, v, n, h);
}

void moments_flush(float *m, float *v, size_t n) {
#ifdef DDPM_SIMD
    if (!force_scalar) { moments_flush_simd(m, v, n); return; }
#endif
    moments_flush_scalar(m, v, n);
}

void adamw_update_outer(float *param, float *m, float *v, const float *dout, int ldd, const float *inp, int ldx,
                        int B, int C, long lo, long hi, const AdamWStep *h, const float *next_inp, float *next_out) {
#ifdef DDPM_SIMD
    if (!force_scalar) { adamw_update_outer_simd(param, m, v, dout, ldd, inp, ldx, B, C, lo, hi, h, next_inp, next_out); return; }
#endif
    adamw_update_outer_scalar(param, m, v, dout, ldd, inp, ldx, B, C, lo, hi, h, next_inp, next_out);
}

float kernels_tile_probe(int which, int reps) {
#ifdef DDPM_SIMD
    return tile_probe_simd(which, reps);
#else
    (void)which, (void)reps;
    return 0.0f;  // the scalar build has no tile
#endif
}

void normals_from_bits(float *out, const uint32_t *bits, int n) {
#ifdef DDPM_SIMD
    if (!force_scalar) { normals_from_bits_simd(out, bits, n); return; }
#endif
    normals_from_bits_scalar(out, bits, n);
}
