// The SIMD kernels against their scalar twins (same bits), and both against float64 maths.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, scalarEngine, sameBits, simdAndScalar as both, SMALL } from './lib/engine.mjs';
import { lcg, randomArray } from './lib/reference.mjs';

test('the SIMD build really uses SIMD, the scalar build does not', async () => {
  assert.equal((await simdEngine()).simd, true);
  assert.equal((await scalarEngine()).simd, false);
});

for (const [B, C, OC] of [[1, 768, 1024], [1, 8, 12], [3, 16, 20], [4, 128, 36], [5, 12, 7], [17, 64, 9]]) {
  test(`matmul forward and backward, B=${B} C=${C} OC=${OC}: SIMD == scalar twin, both == float64`, async () => {
    const engine = await simdEngine(), rand = lcg(B * 1000 + C + OC);
    const inp = randomArray(B * C, rand), W = randomArray(OC * C, rand), bias = randomArray(OC, rand);
    const out = new Float32Array(B * OC);
    const fwd = both(engine, 'matmul_forward', [out, inp, W, bias], [B, C, OC], [0]);
    assert.ok(sameBits(fwd.simd[0], fwd.scalar[0]), 'forward: SIMD and scalar differ');
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < OC; o++) {
        let s = bias[o];
        for (let c = 0; c < C; c++) s += inp[b * C + c] * W[o * C + c];
        assert.ok(Math.abs(fwd.simd[0][b * OC + o] - s) < 1e-5 * Math.sqrt(C), `out[${b},${o}]`);
      }
    }
    const dout = randomArray(B * OC, rand), dinp = new Float32Array(B * C);
    const dW = randomArray(OC * C, rand), dbias = randomArray(OC, rand); // accumulated into
    const bwd = both(engine, 'matmul_backward', [dinp, dW, dbias, dout, inp, W], [B, C, OC], [0, 1, 2]);
    for (let k = 0; k < 3; k++) assert.ok(sameBits(bwd.simd[k], bwd.scalar[k]), `backward output ${k}: SIMD and scalar differ`);
    for (let c = 0; c < C; c += Math.max(1, C >> 4)) {
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let o = 0; o < OC; o++) s += dout[b * OC + o] * W[o * C + c];
        assert.ok(Math.abs(bwd.simd[0][b * C + c] - s) < 1e-5 * Math.sqrt(OC), `dinp[${b},${c}]`);
      }
      for (let o = 0; o < OC; o++) {
        let s = dW[o * C + c];
        for (let b = 0; b < B; b++) s += dout[b * OC + o] * inp[b * C + c];
        assert.ok(Math.abs(bwd.simd[1][o * C + c] - s) < 1e-5, `dW[${o},${c}]`);
      }
    }
    for (let o = 0; o < OC; o++) {
      let s = dbias[o];
      for (let b = 0; b < B; b++) s += dout[b * OC + o];
      assert.ok(Math.abs(bwd.simd[2][o] - s) < 1e-5, `dbias[${o}]`);
    }
  });
}

for (const [activation, id] of [['silu', 0], ['relu', 1]]) {
  test(`${activation} forward and backward: SIMD == scalar twin, both == float64`, async () => {
    const engine = await simdEngine(), rand = lcg(id + 5);
    const n = 4096;
    // wide range, plus the edges of the exp approximation and special values
    const x = randomArray(n, rand, 30);
    x.set([0, -0, 1e-30, -1e-30, 87, -87, 88, -88, 100, -100, 1e4, -1e4], 0);
    const f = both(engine, 'act_forward', [new Float32Array(n), x], [n, id], [0]);
    assert.ok(sameBits(f.simd[0], f.scalar[0]), 'forward differs');
    const dout = randomArray(n, rand);
    const g = both(engine, 'act_backward', [new Float32Array(n), x, dout], [n, id], [0]);
    assert.ok(sameBits(g.simd[0], g.scalar[0]), 'backward differs');
    for (let i = 0; i < n; i++) {
      const s = 1 / (1 + Math.exp(-x[i]));
      const want = activation === 'silu' ? x[i] * s : Math.max(0, x[i]);
      const dwant = dout[i] * (activation === 'silu' ? s + x[i] * s * (1 - s) : (x[i] > 0 ? 1 : 0));
      assert.ok(Math.abs(f.simd[0][i] - want) <= 1e-6 * Math.abs(want) + 1e-7, `act(${x[i]}) = ${f.simd[0][i]} vs ${want}`);
      assert.ok(Math.abs(g.simd[0][i] - dwant) <= 1e-6 * Math.abs(dout[i]) + 1e-7, `act'(${x[i]})`);
    }
    // NaN propagates through both
    const nan = both(engine, 'act_forward', [new Float32Array(4), Float32Array.from([NaN, 1, 2, 3])], [4, id], [0]);
    assert.ok(Number.isNaN(nan.simd[0][0]) && Number.isNaN(nan.scalar[0][0]));
  });
}

test('a kernel refuses a length its SIMD loops cannot take, instead of running past its buffers', async () => {
  const engine = await simdEngine(), f = (n) => new Float32Array(n);
  const refused = (call, pattern) => assert.throws(call, (e) => e.code === 'ARGUMENT' && pattern.test(e.message));
  refused(() => engine.kernel('act_forward', [f(5), f(5)], [5, 0], [0]), /^act_forward: n must be a multiple of 4, the SIMD loops' width \(got 5\)$/);
  refused(() => engine.kernel('act_backward', [f(6), f(6), f(6)], [6, 1], [0]), /act_backward: n must be a multiple of 4/);
  refused(() => engine.kernel('matmul_forward', [f(3), f(3), f(9), f(3)], [1, 3, 3], [0]), /matmul_forward: C must be a multiple of 4/);
  refused(() => engine.kernel('matmul_backward', [f(6), f(12), f(2), f(4), f(6), f(12)], [2, 6, 2], [0]), /matmul_backward: C must be/);
  const hyper = [1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001];
  refused(() => engine.kernel('adamw_update', [f(7), f(7), f(7), f(7)], [7, ...hyper], [0]), /^adamw_update: n must be a multiple of 4, the SIMD loops' width \(got 7\)$/);
  refused(() => engine.kernel('adamw_update_outer', [f(16), f(16), f(16), f(2), f(8)], [2, 8, 1, 8, 0, 6, ...hyper], [0]),
    /adamw_update_outer: hi must be a multiple of 4/);
  // moments_flush takes any length (its SIMD loop has a tail), but not a negative one
  refused(() => engine.kernel('moments_flush', [f(4), f(4)], [-1], [0]), /^moments_flush: n must be >= 0 \(got -1\)$/);
  // the lengths the model uses pass, OC and B any number
  assert.equal(engine.kernel('act_forward', [f(8), Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])], [8, 1], [0])[0][7], 8);
  engine.kernel('matmul_forward', [f(3), f(4), f(12), f(3)], [1, 4, 3], [0]);
});

test('adamw update: SIMD == scalar twin', async () => {
  const engine = await simdEngine(), rand = lcg(77), n = 4100;
  const p = randomArray(n, rand), g = randomArray(n, rand, 1e-2), m = randomArray(n, rand, 1e-3);
  const v = Float32Array.from(randomArray(n, rand, 1e-4), Math.abs);
  const r = both(engine, 'adamw_update', [p, g, m, v], [n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001], [0, 2, 3]);
  for (let k = 0; k < 3; k++) assert.ok(sameBits(r.simd[k], r.scalar[k]), `output ${k} differs`);
});

test('a whole training run: SIMD module, forced-scalar SIMD module and scalar module agree bit for bit', async () => {
  const runs = [];
  for (const [engine, force] of [[await simdEngine(), false], [await simdEngine(), true], [await scalarEngine(), false]]) {
    engine.forceScalar(force);
    const model = engine.createModel({ ...SMALL, steps: 12, batch: 5, max_batch: 3, ema_decay: 0.5, seed: 9 });
    try {
      model.train(12);
      runs.push({ loss: model.lossHistory(), params: model.params(), sample: model.sample({ seed: 4 }).final });
    } finally { model.free(); engine.forceScalar(false); }
  }
  for (const r of runs.slice(1)) {
    assert.ok(sameBits(r.loss, runs[0].loss), 'loss curves differ');
    assert.ok(sameBits(r.params, runs[0].params), 'weights differ');
    assert.ok(sameBits(r.sample, runs[0].sample), 'samples differ');
  }
});

// The kernels read 16 bytes at a time; from an address not a multiple of 16, one load in four
// straddles two cache lines. malloc promises 8 in wasm32, and the weights landed unaligned after
// an unrelated allocation was added (a forward pass then took 4% longer): C aligns every buffer
// to a cache line (c/ddpm.c), whatever the configuration.
test('the weights, gradients, AdamW moments, EMA and image start on a cache line', async () => {
  for (const engine of [await simdEngine(), await scalarEngine()]) {
    for (const config of [SMALL, { ...SMALL, max_batch: 3, ema_decay: 0.9 }, { preset: 'paper', steps: 7 }]) {
      const model = engine.createModel(config);
      try {
        const M = model.mod;
        const at = { params: M._w_params(model.ptr), grads: M._w_grads(model.ptr), m: M._w_adam_m(model.ptr),
          v: M._w_adam_v(model.ptr), image: M._w_image(model.ptr) };
        if (config.ema_decay) at.ema = M._w_ema(model.ptr);
        for (const [name, address] of Object.entries(at)) assert.equal(address % 64, 0, `${name} at ${address} (${JSON.stringify(config)})`);
      } finally { model.free(); }
    }
  }
});
