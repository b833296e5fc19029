// rng.c -- PCG32 (O'Neill, "PCG: a family of simple fast space-efficient statistically good
// algorithms for random number generation", 2014): 64-bit LCG state, xorshift-rotate output.
// The state is explicit (an Rng struct), so two generators never interfere and a run is
// reproduced exactly from its seed, in native code, in Node and in the browser.
#include "ddpm.h"

// splitmix64's output function (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", 2014): a bijection of 64-bit words in which nearby inputs give unrelated outputs
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// PCG's own seeding adds the seed to a state that depends only on the stream. At seed 0 that
// makes every stream's state the same sequence times its increment, so the streams of one
// seed (initialisation, training draws, sampling) came out measurably correlated. The seed and
// the stream are hashed together into the starting state instead; the increment still keeps
// the streams apart.
void rng_seed(Rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->inc = (stream << 1u) | 1u;  // the increment must be odd
    rng_u32(rng);
    rng->state += mix64(seed + 0x9E3779B97F4A7C15ULL * (stream + 1));  // the golden-ratio step of splitmix64
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

// n normal values: the words are drawn here, two per pair of values (so an odd n draws one
// more word than it uses, and the words of n values begin the words of any larger n); the Box-Muller transform
// of them is a kernel (normals_from_bits, kernels.c). In blocks, so the words fit on the stack.
#define NORMAL_BLOCK 512  // values per block; even, so no pair is split between blocks
void rng_normal(Rng *rng, float *out, int n) {
    uint32_t bits[NORMAL_BLOCK];
    for (int i = 0; i < n; i += NORMAL_BLOCK) {
        int len = n - i < NORMAL_BLOCK ? n - i : NORMAL_BLOCK, words = (len + 1) / 2 * 2;
        for (int k = 0; k < words; k++) bits[k] = rng_u32(rng);
        normals_from_bits(out + i, bits, len);
    }
}
