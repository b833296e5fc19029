// AdamW: one and two steps against a hand computation, and the learning-rate schedule.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, SMALL } from './lib/engine.mjs';
import { lcg, gaussian } from './lib/reference.mjs';

// float64 AdamW, as PyTorch defines it: decay, then the bias-corrected Adam step. The
// hyperparameters are taken as the float32 values the kernel receives (0.99 is not a float).
function adamw(p, g, m, v, step, { lr, beta1, beta2, eps, wd }) {
  const out = { p: new Float64Array(p.length), m: new Float64Array(p.length), v: new Float64Array(p.length) };
  const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
  const b1 = Math.fround(beta1), b2 = Math.fround(beta2);
  const omb1 = Math.fround(1 - b1), omb2 = Math.fround(1 - b2);
  for (let i = 0; i < p.length; i++) {
    out.m[i] = b1 * m[i] + omb1 * g[i];
    out.v[i] = b2 * v[i] + omb2 * g[i] * g[i];
    out.p[i] = p[i] * (1 - lr * wd) - (lr * (out.m[i] / bc1)) / (Math.sqrt(out.v[i] / bc2) + eps);
  }
  return out;
}

test('two AdamW steps match the hand-computed update (lr, betas, eps, decoupled weight decay)', async () => {
  const engine = await simdEngine();
  const hyper = { lr: 3e-3, beta1: 0.8, beta2: 0.99, eps: 1e-6, wd: 0.1 };
  const model = engine.createModel({ ...SMALL, lr: hyper.lr, beta1: hyper.beta1, beta2: hyper.beta2,
    adam_eps: hyper.eps, weight_decay: hyper.wd, seed: 1 });
  try {
    let p = Float64Array.from(model.params());
    let m = new Float64Array(p.length), v = new Float64Array(p.length);
    const rand = lcg(21);
    for (let step = 1; step <= 2; step++) {
      const ts = [3, 17], eps = gaussian(2 * model.D, rand);
      // the gradient the step will use: same x_t and target, evaluated without updating
      const xt = new Float32Array(2 * model.D);
      ts.forEach((t, b) => xt.set(model.qSample(model.image(), eps.subarray(b * model.D, (b + 1) * model.D), t), b * model.D));
      const { grads } = model.lossAndGrad(xt, ts, eps);
      model.trainStepExplicit(ts, eps);
      const want = adamw(p, grads, m, v, step, hyper);
      const got = model.params(), state = model.adamState();
      for (let i = 0; i < p.length; i++) {
        assert.ok(Math.abs(got[i] - want.p[i]) <= 1e-6 * Math.abs(want.p[i]) + 1e-7, `step ${step} param ${i}: ${got[i]} vs ${want.p[i]}`);
        // float32 rounding, relative to the size of the terms summed (they may cancel)
        const mScale = hyper.beta1 * Math.abs(m[i]) + (1 - hyper.beta1) * Math.abs(grads[i]);
        const vScale = hyper.beta2 * v[i] + (1 - hyper.beta2) * grads[i] * grads[i];
        assert.ok(Math.abs(state.m[i] - want.m[i]) <= 1e-6 * mScale + 1e-30, `m ${i}: ${state.m[i]} vs ${want.m[i]}`);
        assert.ok(Math.abs(state.v[i] - want.v[i]) <= 1e-6 * vScale + 1e-30, `v ${i}: ${state.v[i]} vs ${want.v[i]}`);
      }
      p = Float64Array.from(got); m = Float64Array.from(state.m); v = Float64Array.from(state.v);
    }
    assert.equal(model.step, 2);
  } finally { model.free(); }
});

test('cosine learning-rate decay runs from lr towards lr * lr_min_frac, reached one step after the last (every update moves), and the update uses it', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 11, lr: 1e-3, lr_schedule: 'cosine', lr_min_frac: 0.1 });
  try {
    const lrAt = (k) => 1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * k) / 11)));
    const seen = [];
    for (let k = 0; k < 11; k++) {
      seen.push(model.currentLr);
      if (k !== 6) {
        model.train(1);
        continue;
      }
      // the update itself moves by the decayed rate, not only the number reported: step 7 by hand
      const c = model.config, hyper = { lr: Math.fround(lrAt(6)), beta1: c.beta1, beta2: c.beta2, eps: c.adam_eps, wd: c.weight_decay };
      const p = Float64Array.from(model.params()), state = model.adamState();
      const ts = [5, 16], eps = gaussian(2 * model.D, lcg(7));
      const xt = new Float32Array(2 * model.D);
      ts.forEach((t, b) => xt.set(model.qSample(model.image(), eps.subarray(b * model.D, (b + 1) * model.D), t), b * model.D));
      const { grads } = model.lossAndGrad(xt, ts, eps);
      model.trainStepExplicit(ts, eps);
      const want = adamw(p, grads, Float64Array.from(state.m), Float64Array.from(state.v), 7, hyper).p, got = model.params();
      for (let i = 0; i < p.length; i++) {
        assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 * Math.abs(want[i]) + 1e-7, `step 7 param ${i}: ${got[i]} vs ${want[i]}`);
      }
    }
    for (let k = 0; k < 11; k++) assert.ok(Math.abs(seen[k] - lrAt(k)) < 1e-9, `step ${k}: ${seen[k]} vs ${lrAt(k)}`);
  } finally { model.free(); }
});

test('EMA of the weights: ema = decay * ema + (1 - decay) * param after each step', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, ema_decay: 0.9, steps: 2 });
  try {
    const p0 = model.params();
    assert.deepEqual(model.emaParams(), p0);
    model.train(1);
    const p1 = model.params(), ema = model.emaParams();
    for (let i = 0; i < p0.length; i++) assert.ok(Math.abs(ema[i] - (0.9 * p0[i] + 0.1 * p1[i])) < 1e-6);
  } finally { model.free(); }
});
