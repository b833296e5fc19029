// Subnormal floats kept out of the hot loops (c/kernels.c, "Subnormal floats"): wasm cannot flush
// them to zero, and Intel cores handle them with a microcode assist, many times a plain operation. The SiLU is 0
// far left (and so is its slope), and every 16th AdamW update stores moments below 2^-100 (m) and
// 2^-120 (v) as 0. The first and the last test failed on the code before that change; the rest
// guard what it must not do (hide a NaN, touch a normal value, split the twins).
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, scalarEngine, sameBits, simdAndScalar as both } from './lib/engine.mjs';

const FLT_MIN = 2 ** -126;
const isSubnormal = (x) => x !== 0 && Math.abs(x) < FLT_MIN;
const subnormals = (a) => a.reduce((n, x) => n + (isSubnormal(x) ? 1 : 0), 0);
const SILU_ZERO_BELOW = -64;

test('SiLU far left: 0 below x = -64, its slope 0 there too, no subnormal out of either, a NaN passes (SIMD == scalar twin)', async () => {
  const engine = await simdEngine();
  // a sweep over the far left, with the clamp's and the exp approximation's edges
  const xs = [-1e4, -1000, -200, -100, -88, -87.5, -87.33, -87, -80, -70, -64.001, SILU_ZERO_BELOW, -63.999, -60, -40, -20, -1, 0, 1, 50];
  for (let x = -130; x < -50; x += 0.25) xs.push(x);
  while (xs.length % 4) xs.push(0);
  const x = Float32Array.from(xs), n = x.length;
  const f = both(engine, 'act_forward', [new Float32Array(n), x], [n, 0], [0]);
  const g = both(engine, 'act_backward', [new Float32Array(n), x, new Float32Array(n).fill(1)], [n, 0], [0]);
  assert.ok(sameBits(f.simd[0], f.scalar[0]), 'forward: SIMD and scalar differ');
  assert.ok(sameBits(g.simd[0], g.scalar[0]), 'backward: SIMD and scalar differ');
  for (let i = 0; i < n; i++) {
    const y = f.simd[0][i], slope = g.simd[0][i];
    assert.ok(!isSubnormal(y), `silu(${x[i]}) = ${y} is subnormal`);
    assert.ok(!isSubnormal(slope), `silu'(${x[i]}) = ${slope} is subnormal`);
    if (x[i] < SILU_ZERO_BELOW) {
      assert.ok(Object.is(y, 0) && Object.is(slope, 0), `silu(${x[i]}) = ${y}, slope ${slope}: want +0 and +0`);
    } else {
      // the true values, which the zero region leaves out, are below 1.1e-26 in magnitude
      const s = 1 / (1 + Math.exp(-x[i]));
      assert.ok(Math.abs(y - x[i] * s) <= 1e-6 * Math.abs(x[i] * s) + 1e-30, `silu(${x[i]}) = ${y} vs ${x[i] * s}`);
      if (x[i] <= -20) assert.ok(y < 0 && slope < 0, `silu(${x[i]}) = ${y}, slope ${slope}: not yet 0`);
    }
  }
  const far = Math.abs(SILU_ZERO_BELOW) * Math.exp(SILU_ZERO_BELOW);
  assert.ok(far < 1.1e-26, `|silu(-64)| = ${far}`);
  // divergence stays visible: a NaN input gives NaN both ways, and a NaN gradient passes the zero region
  const nanIn = Float32Array.from([NaN, -100, NaN, -100]), nanOut = Float32Array.from([1, NaN, 1, 1]);
  const fn = both(engine, 'act_forward', [new Float32Array(4), nanIn], [4, 0], [0]);
  const gn = both(engine, 'act_backward', [new Float32Array(4), nanIn, nanOut], [4, 0], [0]);
  for (const r of [fn.simd[0], fn.scalar[0], gn.simd[0], gn.scalar[0]]) assert.ok(Number.isNaN(r[0]) && Number.isNaN(r[2]), `NaN lost: ${r}`);
  assert.ok(Number.isNaN(gn.simd[0][1]) && Number.isNaN(gn.scalar[0][1]), 'a NaN gradient in the zero region was lost');
});

test('moments_flush stores |m| < 2^-100 and v < 2^-120 as +0 and leaves every other value, NaN included, as it was (SIMD == scalar twin)', async () => {
  const engine = await simdEngine();
  const M_BELOW = 2 ** -100, V_BELOW = 2 ** -120;
  const mIn = [FLT_MIN / 4, FLT_MIN, 1e-35, M_BELOW / 2, Math.fround(M_BELOW * 0.999), M_BELOW, 2 * M_BELOW, 1e-20, 0.5,
    -FLT_MIN / 2, -1e-35, -Math.fround(M_BELOW * 0.999), -M_BELOW, -1e-20, 0, -0, NaN, Infinity, -Infinity, 3e-3, 7e-31, -7e-31];
  const vIn = [FLT_MIN / 4, FLT_MIN, 1e-37, V_BELOW / 2, Math.fround(V_BELOW * 0.999), V_BELOW, 2 * V_BELOW, 1e-30, 0.5,
    0, 0, 0, 0, 0, 0, 0, NaN, Infinity, 1e-36, 3e-3, 7e-37, 8e-37];
  // an odd length: the SIMD loop's last n % 4 go through the twin
  const n = mIn.length + 1, m = Float32Array.from([...mIn, 1e-38]), v = Float32Array.from([...vIn, 1e-38]);
  const r = both(engine, 'moments_flush', [m, v], [n], [0, 1]);
  for (let k = 0; k < 2; k++) assert.ok(sameBits(r.simd[k], r.scalar[k]), `output ${k}: SIMD and scalar differ`);
  let flushed = 0, kept = 0;
  for (const [name, before, after, below] of [['m', m, r.simd[0], M_BELOW], ['v', v, r.simd[1], V_BELOW]]) {
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(before[i])) { assert.ok(Number.isNaN(after[i]), `${name}[${i}]: a NaN became ${after[i]}`); continue; }
      if (Math.abs(before[i]) < below) { assert.ok(Object.is(after[i], 0), `${name}[${i}] = ${before[i]} became ${after[i]}, want +0`); flushed++; }
      else { assert.ok(Object.is(after[i], before[i]), `${name}[${i}] = ${before[i]} changed to ${after[i]}`); kept++; }
    }
  }
  assert.ok(flushed >= 15 && kept >= 15, `flushed ${flushed}, kept ${kept}: the sweep must hold both`);
});

// A ReLU unit off for a whole batch gets a gradient of exactly 0, and its moment m decays by 0.9
// a step. Before the flush, this run held 1,128 subnormal moments at step 1007 (and a ReLU run
// of the full-size model slowed from 160 to 10 steps a second from about step 800).
test('a ReLU run whose units go quiet keeps no subnormal in AdamW\'s moments, and the SIMD and scalar modules agree bit for bit', async () => {
  const config = { preset: 'recommended', activation: 'relu', image_size: 8, hidden: 64, temb_dim: 8, max_batch: 1, steps: 1007, seed: 1 };
  const runs = [];
  for (const engine of [await simdEngine(), await scalarEngine()]) {
    const model = engine.createModel(config);
    try {
      model.train(500);
      const mid = model.adamState().m;
      // to update 1007: 15 updates after the last flush (every 16th), the most a moment decays unflushed
      model.train(507);
      const { m, v } = model.adamState();
      assert.equal(subnormals(m), 0, `${engine.simd ? 'SIMD' : 'scalar'}: subnormal values in m`);
      assert.equal(subnormals(v), 0, `${engine.simd ? 'SIMD' : 'scalar'}: subnormal values in v`);
      // the run did go through the decay: moments alive at step 500 are 0 at step 1007
      const decayed = m.reduce((k, x, i) => k + (x === 0 && mid[i] !== 0 ? 1 : 0), 0);
      assert.ok(decayed >= 100, `only ${decayed} moments decayed to 0 between steps 500 and 1007`);
      runs.push({ params: model.params(), m, v, loss: model.lossHistory() });
    } finally { model.free(); }
  }
  assert.ok(runs[1].loss.every((l) => Number.isFinite(l)), 'the run diverged');
  for (const k of ['params', 'm', 'v']) assert.ok(sameBits(runs[0][k], runs[1][k]), `${k}: SIMD and scalar modules differ`);
});
