// rng.c -- PCG32 (O'Neill, "PCG: a family of simple fast space-efficient statistically good
// algorithms for random number generation", 2014): 64-bit LCG state, xorshift-rotate output.
// The state is explicit (an Rng struct), so two generators never interfere and a run is
// reproduced exactly from its seed, in native code, in Node and in the browser.
#include <math.h>
#include "ddpm.h"

void rng_seed(Rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->inc = (stream << 1u) | 1u;  // the increment must be odd
    rng_u32(rng);
    rng->state += seed;
    rng_u32(rng);
}

uint32_t rng_u32(Rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ULL + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

// 24 random bits: every float in [0, 1) on a 2^-24 grid is equally likely
float rng_uniform(Rng *rng) {
    return (float)(rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

// uniform integer in [lo, hi] by rejection, so no value is favoured
int rng_int(Rng *rng, int lo, int hi) {
    uint32_t range = (uint32_t)(hi - lo) + 1u;
    uint32_t limit = UINT32_MAX - UINT32_MAX % range;
    uint32_t r;
    do { r = rng_u32(rng); } while (r >= limit);
    return lo + (int)(r % range);
}

// Box-Muller: two uniforms give two independent N(0,1) values,
//   r = sqrt(-2 ln u1), z0 = r cos(2 pi u2), z1 = r sin(2 pi u2).
// u1 is taken in (0, 1] so the log is finite. Computed in double, stored as float.
void rng_normal(Rng *rng, float *out, int n) {
    const double two_pi = 6.283185307179586;
    for (int i = 0; i < n; i += 2) {
        double u1 = ((double)(rng_u32(rng) >> 8) + 1.0) / 16777216.0;
        double u2 = (double)(rng_u32(rng) >> 8) / 16777216.0;
        double r = sqrt(-2.0 * log(u1));
        out[i] = (float)(r * cos(two_pi * u2));
        if (i + 1 < n) out[i + 1] = (float)(r * sin(two_pi * u2));
    }
}
