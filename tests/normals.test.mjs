// The noise of every step: PCG32 words, turned into N(0, 1) values by Box-Muller in float
// (normals_from_bits, c/kernels.c): SIMD against its scalar twin, and both against float64.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, scalarEngine, sameBits, simdAndScalar as both } from './lib/engine.mjs';
import { pcg32, boxMuller } from './lib/reference.mjs';

const asFloats = (words) => new Float32Array(words.buffer, words.byteOffset, words.length);
const normalsFromBits = (engine, words, n) => both(engine, 'normals_from_bits', [new Float32Array(n), asFloats(words)], [n], [0]);

// words that reach the ends of both ranges: the largest radius (k1 = 0, u1 = 2^-24), radius 0
// (k1 = 2^24 - 1, u1 = 1), the quadrant edges and their neighbours, and each 8th of a turn
function edgeWords() {
  const k1s = [0, 1, 2, 0x7fffff, 0x800000, 0xb504f3, 0xfffffe, 0xffffff];
  const k2s = [];
  for (let q = 0; q < 8; q++) for (const d of [-1, 0, 1]) k2s.push(((q << 21) + d) & 0xffffff);
  const words = [];
  for (const k1 of k1s) for (const k2 of k2s) words.push((k1 << 8) >>> 0, ((k2 << 8) | 0xa5) >>> 0);
  return Uint32Array.from(words);
}

test('normals from words: SIMD == scalar twin, for every tail length', async () => {
  const engine = await simdEngine(), words = pcg32(9, 4).words(4096);
  for (const n of [1, 2, 3, 7, 8, 9, 15, 16, 17, 1000, 4095, 4096]) {
    const { simd, scalar } = normalsFromBits(engine, words.subarray(0, (n + 1) >> 1 << 1), n);
    assert.ok(sameBits(simd[0], scalar[0]), `n=${n}`);
  }
  const edges = edgeWords(), { simd, scalar } = normalsFromBits(engine, edges, edges.length);
  assert.ok(sameBits(simd[0], scalar[0]), 'edge words');
});

test('normals from words: within 4 float ulps of the radius of float64 Box-Muller, finite at the ends', async () => {
  const engine = await simdEngine();
  // 2^18 random pairs, the edges, and a sweep of the angle through all four quadrants
  const sweep = [];
  for (let k2 = 0; k2 < 1 << 24; k2 += 4099) sweep.push(0x12345600, k2 << 8);
  for (const words of [pcg32(1, 2).words(1 << 19), edgeWords(), Uint32Array.from(sweep)]) {
    const z = normalsFromBits(engine, words, words.length).simd[0];
    for (let i = 0; i < words.length; i += 2) {
      const { r, z0, z1 } = boxMuller(words[i], words[i + 1]);
      const bound = 4 * 2 ** -24 * r;  // a radius r float has ulps of 2^-23 r .. 2^-24 r
      assert.ok(Number.isFinite(z[i]) && Number.isFinite(z[i + 1]), `pair ${i / 2}: not finite`);
      assert.ok(Math.abs(z[i] - z0) <= bound && Math.abs(z[i + 1] - z1) <= bound,
        `pair ${i / 2} (words ${words[i]}, ${words[i + 1]}): ${z[i]}, ${z[i + 1]} vs ${z0}, ${z1}`);
    }
  }
  // the ends of the radius: u1 = 2^-24 gives sqrt(48 ln 2) = 5.768 (the largest |z|), u1 = 1 gives 0
  const ends = normalsFromBits(engine, Uint32Array.from([0, 0, 0xffffff00, 0x40000000]), 4).simd[0];
  assert.ok(Math.abs(ends[0] - Math.sqrt(48 * Math.log(2))) < 1e-6 && ends[1] === 0, `${ends[0]} ${ends[1]}`);
  assert.ok(ends[2] === 0 && ends[3] === 0, `radius 0: ${ends[2]} ${ends[3]}`);
});

test('the generator draws two PCG32 words per pair (one left unused when n is odd), in blocks that change nothing', async () => {
  for (const engine of [await simdEngine(), await scalarEngine()]) {
    for (const [n, seed] of [[1, 3], [7, 11], [1030, 5]]) {
      const words = pcg32(seed, 0).words((n + 1) >> 1 << 1);  // the stream normals() draws from
      const expected = normalsFromBits(engine, words, n).simd[0];
      assert.ok(sameBits(engine.normals(n, seed), expected), `simd=${engine.simd} n=${n} seed=${seed}`);
    }
  }
});
