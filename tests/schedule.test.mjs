// The noise schedules, the timestep embedding, the normal sampler and the forward process.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, SMALL } from './lib/engine.mjs';
import { embedding } from './lib/reference.mjs';

// float64 schedules straight from their definitions
function referenceBetas(schedule, T) {
  const betas = [0];
  for (let t = 1; t <= T; t++) {
    if (schedule === 'cosine') {
      const f = (u) => Math.cos(((u / T + 0.008) / 1.008) * Math.PI / 2) ** 2;
      betas.push(Math.min(1 - f(t) / f(t - 1), 0.999));
    } else {
      const scale = schedule === 'linear-scaled' ? 1000 / T : 1;
      betas.push((1e-4 + ((t - 1) * (0.02 - 1e-4)) / (T - 1)) * scale);
    }
  }
  return betas;
}

function close(actual, expected, rel, what) {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-12,
    `${what}: ${actual} vs expected ${expected}`);
}

for (const schedule of ['linear', 'linear-scaled', 'cosine']) {
  for (const T of [100, 1000, 7]) {
    if (schedule === 'linear-scaled' && T === 7) continue; // betas x 1000/7 leave (0, 1): refused below
    test(`${schedule} schedule, T=${T}: every coefficient matches its definition`, async () => {
      const engine = await simdEngine();
      const s = engine.schedule({ preset: 'paper', schedule, T });
      const beta = referenceBetas(schedule, T);
      let alphaBar = 1;
      assert.equal(s.alpha_bar[0], 1);
      for (let t = 1; t <= T; t++) {
        const alphaBarPrev = alphaBar;
        alphaBar *= 1 - beta[t];
        close(s.beta[t], beta[t], 1e-6, `beta_${t}`);
        close(s.alpha[t], 1 - beta[t], 1e-6, `alpha_${t}`);
        close(s.inv_sqrt_alpha[t], 1 / Math.sqrt(1 - beta[t]), 1e-6, `inv_sqrt_alpha_${t}`);
        close(s.alpha_bar[t], alphaBar, 1e-5, `alpha_bar_${t}`);
        close(s.sqrt_alpha_bar[t], Math.sqrt(alphaBar), 1e-5, `sqrt_alpha_bar_${t}`);
        close(s.sqrt_one_minus_alpha_bar[t], Math.sqrt(1 - alphaBar), 1e-5, `sqrt_one_minus_alpha_bar_${t}`);
        close(s.posterior_variance[t], ((1 - alphaBarPrev) / (1 - alphaBar)) * beta[t], 1e-5, `beta_tilde_${t}`);
        close(s.posterior_coef_x0[t], (beta[t] * Math.sqrt(alphaBarPrev)) / (1 - alphaBar), 1e-5, `coef_x0_${t}`);
        close(s.posterior_coef_xt[t], ((1 - alphaBarPrev) * Math.sqrt(1 - beta[t])) / (1 - alphaBar), 1e-5, `coef_xt_${t}`);
        close(s.eps_coef[t], beta[t] / Math.sqrt(1 - alphaBar), 1e-5, `eps_coef_${t}`);
        assert.ok(Math.abs(s.log_snr[t] - Math.log(alphaBar / (1 - alphaBar))) < 1e-4, `log_snr_${t}`);
      }
      // the last state is near pure noise for the scaled and cosine schedules
      if (schedule !== 'linear') assert.ok(s.alpha_bar[T] < 1e-3, `alpha_bar_T = ${s.alpha_bar[T]}`);
    });
  }
}

test("the wrapper names every array of C's schedule, and no more", async () => {
  const engine = await simdEngine();
  const model = engine.createModel(SMALL);
  try {
    const names = Object.keys(model.schedule());
    // C hands out SCHEDULE_ARRAYS arrays by index and refuses the index past them (NULL)
    assert.notEqual(model.mod._w_schedule_array(model.ptr, names.length - 1), 0, 'C has fewer arrays than the wrapper names');
    assert.equal(model.mod._w_schedule_array(model.ptr, names.length), 0, 'C has arrays the wrapper does not name');
  } finally { model.free(); }
});

test("the paper's schedule: beta 1e-4..0.02 over T=100 leaves alpha_bar_T = 0.3636, not 0.0001", async () => {
  const s = (await simdEngine()).schedule({ preset: 'paper' });
  assert.equal(s.alpha_bar[100].toFixed(4), '0.3636');
  assert.equal(s.beta[1].toPrecision(6), '0.000100000');
  assert.equal(s.beta[100].toPrecision(6), '0.0200000');
  // the DDPM paper's T=1000 gives the 0.0001 the seed paper quotes
  const s1000 = (await simdEngine()).schedule({ preset: 'paper', T: 1000 });
  assert.ok(s1000.alpha_bar[1000] < 1e-4 && s1000.alpha_bar[1000] > 1e-5, `${s1000.alpha_bar[1000]}`);
});

test('the sinusoidal embedding: sin half, cos half, frequencies 10000^(-i/64)', async () => {
  const engine = await simdEngine();
  for (const t of [1, 2, 17, 50, 100, 1000]) {
    const e = engine.embedding(t, 128), ref = embedding(t, 128);
    for (let i = 0; i < 128; i++) assert.ok(Math.abs(e[i] - ref[i]) < 1e-6, `t=${t} i=${i}`);
  }
  const e = engine.embedding(3, 128);
  assert.equal(e[0], Math.fround(Math.sin(3)));   // frequency 1
  assert.equal(e[64], Math.fround(Math.cos(3)));
});

test('the normal sampler: mean 0, variance 1, Gaussian tails, reproducible', async () => {
  const engine = await simdEngine();
  const n = 200000, z = engine.normals(n, 42);
  let m = 0, v = 0, k = 0, beyond2 = 0;
  for (const x of z) { m += x; }
  m /= n;
  for (const x of z) { const d = x - m; v += d * d; k += d ** 4; if (Math.abs(x) > 2) beyond2++; }
  v /= n; k = k / n / (v * v);
  assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 0.01, `variance ${v}`);
  assert.ok(Math.abs(k - 3) < 0.05, `kurtosis ${k}`);
  assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.003, `P(|z| > 2) = ${beyond2 / n}`);
  assert.deepEqual(engine.normals(10, 42), z.subarray(0, 10));
  assert.notDeepEqual(engine.normals(10, 43), z.subarray(0, 10));
});

test('the forward process: closed form, and its mean and variance over many draws', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ preset: 'paper' });
  try {
    const s = model.schedule(), x0 = model.image(), D = model.D;
    for (const t of [1, 10, 50, 100]) {
      const eps = engine.normals(D, t);
      const xt = model.qSample(x0, eps, t);
      for (let i = 0; i < D; i++) {
        const want = s.sqrt_alpha_bar[t] * x0[i] + s.sqrt_one_minus_alpha_bar[t] * eps[i];
        assert.ok(Math.abs(xt[i] - want) < 1e-6, `t=${t} i=${i}`);
      }
      // statistics over 400 noise draws, pooled over the pixels of the same value
      const draws = 400;
      let sum = 0, sumSq = 0;
      for (let k = 0; k < draws; k++) {
        const xk = model.qSample(x0, engine.normals(D, 1000 + k), t);
        for (let i = 0; i < D; i++) { const r = xk[i] - s.sqrt_alpha_bar[t] * x0[i]; sum += r; sumSq += r * r; }
      }
      const n = draws * D, mean = sum / n, variance = sumSq / n - mean * mean;
      assert.ok(Math.abs(mean) < 0.01, `t=${t}: mean residual ${mean}`);
      assert.ok(Math.abs(variance / (1 - s.alpha_bar[t]) - 1) < 0.02, `t=${t}: variance ${variance} vs ${1 - s.alpha_bar[t]}`);
    }
  } finally { model.free(); }
});

test('the training image: a centred 8x8 red square on black, HWC, in [-1, 1]', async () => {
  const model = (await simdEngine()).createModel({ preset: 'paper', steps: 0 });
  try {
    const x = model.image();
    assert.equal(x.length, 768);
    for (let y = 0; y < 16; y++) {
      for (let xx = 0; xx < 16; xx++) {
        const inside = y >= 4 && y <= 11 && xx >= 4 && xx <= 11, i = (y * 16 + xx) * 3;
        assert.deepEqual([x[i], x[i + 1], x[i + 2]], inside ? [1, -1, -1] : [-1, -1, -1], `pixel ${y},${xx}`);
      }
    }
  } finally { model.free(); }
});

test('the small test model is a real model', async () => {
  const model = (await simdEngine()).createModel(SMALL);
  try { assert.equal(model.D, 48); } finally { model.free(); }
});
