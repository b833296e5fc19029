// The register- and cache-blocked SIMD kernels (c/kernels.c) against their scalar twins, bit for
// bit, on shapes that reach every edge of the blocking: batches around the 4-sample tiles and the
// 64-sample chunks of the weight gradient, widths around the 8-float tiles and the 64-float
// strips, and row counts that leave 1..3 rows over. The twins themselves are checked against
// float64 maths in kernels.test.mjs; here only "same bits" matters.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine as simd, sameBits, simdAndScalar as both } from './lib/engine.mjs';
import { lcg, randomArray } from './lib/reference.mjs';

const random = (n, seed) => randomArray(n, lcg(seed));

// matmul_forward at [B, C, OC], SIMD against the scalar twin, bit for bit (inputs from seeds k..)
function forwardSameBits(e, [B, C, OC], k) {
  const inp = random(B * C, k), W = random(OC * C, k + 1000), bias = random(OC, k + 2000);
  const fwd = both(e, 'matmul_forward', [new Float32Array(B * OC), inp, W, bias], [B, C, OC], [0]);
  assert.ok(sameBits(fwd.simd[0], fwd.scalar[0]), `forward B=${B} C=${C} OC=${OC}`);
}

// matmul_backward at [B, C, OC]: dinp, dW and dbias, SIMD against the twin, bit for bit. dinp
// starts as garbage (the kernels must overwrite it), dW and dbias as values to add to.
function backwardSameBits(e, [B, C, OC], k) {
  const inp = random(B * C, k), W = random(OC * C, k + 1000), dout = random(B * OC, k + 3000);
  const dinp = random(B * C, k + 6000), dW = random(OC * C, k + 4000), dbias = random(OC, k + 5000);
  const r = both(e, 'matmul_backward', [dinp, dW, dbias, dout, inp, W], [B, C, OC], [0, 1, 2]);
  ['dinp', 'dW', 'dbias'].forEach((name, i) =>
    assert.ok(sameBits(r.simd[i], r.scalar[i]), `backward ${name} B=${B} C=${C} OC=${OC}`));
}

const SHAPES = [];
for (const B of [1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 130]) {
  for (const [C, OC] of [[4, 1], [8, 3], [12, 5], [60, 6], [64, 8], [68, 9], [136, 10]]) SHAPES.push([B, C, OC]);
}

test('blocked matmul kernels == scalar twins, bit for bit, at every edge of the blocking', async () => {
  const e = await simd();
  assert.equal(e.simd, true);
  SHAPES.forEach((shape, i) => {
    forwardSameBits(e, shape, i + 1);
    backwardSameBits(e, shape, i + 1);
  });
});

test('the 64-sample chunks of the weight gradient carry the sum exactly (B = 64 vs 65 vs 130)', async () => {
  // the twin sums all 130 in one loop (at this C the kernel's chunks hold up to 256 samples; the
  // next test reaches the chunk edges)
  const e = await simd();
  const B = 130, C = 72, OC = 12;
  const inp = random(B * C, 7), W = random(OC * C, 8), dout = random(B * OC, 9);
  const r = both(e, 'matmul_backward', [new Float32Array(B * C), new Float32Array(OC * C), new Float32Array(OC), dout, inp, W],
    [B, C, OC], [1]);
  assert.ok(sameBits(r.simd[0], r.scalar[0]));
});

test('the batched forward packs samples in chunks that fit its scratch: chunk edges, and rows too long to pack', async () => {
  // the scratch holds 2^18 floats, so a chunk is floor(2^16 / C) blocks of 4 samples: at C = 16384
  // 16 samples (B = 20 spans two chunks), at C = 8196 28 samples (B = 36: 28 + 8); at C = 65540 not
  // one block of 4 fits and every sample takes the batch-1 path. Up to 65536 weights the blocks of
  // samples go outer, beyond it the pairs of rows (C = 1024: OC = 63 and 65 on either side)
  const e = await simd();
  [[20, 16384, 3], [36, 8196, 2], [5, 65540, 9], [9, 1024, 65], [9, 1024, 63]].forEach((shape, i) => forwardSameBits(e, shape, 101 + i));
});

test('the weight gradient packs inp in chunks of samples that fit its scratch: chunk edges, and rows too long to pack', async () => {
  // a chunk holds floor(2^18 / (64 * strips)) samples: 64 at C = 4096 (B = 130: 64 + 64 + 2), 63 at
  // C = 4100 (65 strips, the last 4 wide: 63 + 63 + 4); at C = 262148 one sample's strips do not
  // fit and the kernel works straight from the activations. OC = 6 leaves 2 rows over the 4-row blocks.
  const e = await simd();
  [[130, 4096, 6], [130, 4100, 6], [4, 262148, 1]].forEach((shape, i) => backwardSameBits(e, shape, 201 + i));
});

test('the input gradient from 16 samples on: blocks of W rows, blocks cut short by the scratch, and the rows too long to pack', async () => {
  // blocks of 64 rows (OC = 130: 64 + 64 + 2, with C = 68 leaving a 4-wide column tile), samples
  // left over the groups of 4 (B = 19), just below the packed path (B = 15); at C = 16384 a block
  // holds floor(2^18 / (16384 + 16)) = 15 rows (OC = 40: 15 + 15 + 10); at C = 65540 not 4 rows
  // fit and the row-by-row kernel takes over
  const e = await simd();
  [[16, 68, 130], [19, 136, 65], [15, 68, 130], [64, 64, 64], [16, 16384, 40], [17, 65540, 5]]
    .forEach((shape, i) => backwardSameBits(e, shape, 301 + i));
});

test('the single-sample forward streams rows o, o + q, ..., o + 5q (q = OC / 6), and the OC % 6 rows left over', async () => {
  // q = 2 with one row over (OC = 13), q = 21 with 4 over (130), q = 10 with 5 over (65); B = 5
  // and 7 leave 1 and 3 samples to this path after the 4-sample tiles. The model's fc1 to fc3
  // (C x OC = 768 x 1024, 1024 x 1024, 1024 x 768) run copies of the loop with q and C constant
  // (dots_1x6_rows), and 1000 x 1024 (q = 170 too) the general one beside them
  const e = await simd();
  [[1, 64, 13], [1, 68, 130], [5, 36, 65], [7, 1024, 768], [1, 768, 1024], [1, 1024, 1024], [3, 1000, 1024]]
    .forEach((shape, i) => forwardSameBits(e, shape, 401 + i));
});
