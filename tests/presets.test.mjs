// The presets, measured: the paper's settings do not converge; the recommended ones do.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine } from './lib/engine.mjs';
import { runExperiment } from '../scripts/lib/run.mjs';
import { PRESETS } from '../web/ddpm.mjs';

test("paper preset: the table's settings, 2,723,328 parameters, alpha_bar_T = 0.3636, and no convergence", async () => {
  const engine = await simdEngine();
  const c = PRESETS.paper.config;
  assert.deepEqual([c.T, c.schedule, c.beta_start, c.beta_end, c.batch, c.steps, c.lr, c.predict, c.sigma, c.hidden, c.temb_dim],
    [100, 'linear', 1e-4, 0.02, 1, 200, 1e-3, 'eps', 'beta', 1024, 128]);
  // the paper names only AdamW's learning rate; the rest are PyTorch's defaults (README "Presets")
  assert.deepEqual([c.beta1, c.beta2, c.adam_eps, c.weight_decay, c.clip_x0, c.lr_schedule, c.ema_decay],
    [0.9, 0.999, 1e-8, 0.01, 0, 'constant', 0]);
  const { summary, model, losses } = await runExperiment(engine, { preset: 'paper', seed: 0 });
  model.free();
  // loss_final is the mean of the last 10% of the curve, steps 181 to 200 (README's 1.008)
  assert.equal(losses.length, 200);
  let tail = 0;
  for (let i = 180; i < 200; i++) tail += losses[i];
  assert.equal(summary.loss_final, tail / 20);
  assert.equal(summary.params, 2723328);
  assert.equal(summary.alpha_bar_T.toFixed(4), '0.3636');
  // the noise-prediction loss stays near 1 (predicting zero noise scores 1.0) ...
  assert.ok(summary.loss_final > 0.9, `loss_final ${summary.loss_final}`);
  // ... and the samples are far from the training image (the paper claims MSE < 0.01)
  assert.ok(summary.mse > 1, `mse ${summary.mse}`);
});

test('recommended preset, seeds 0..9: all 10 samples are the red square (MSE < 0.01)', async () => {
  const engine = await simdEngine();
  const results = [];
  for (let seed = 0; seed < 10; seed++) {
    const { summary, model, sample, image } = await runExperiment(engine, { preset: 'recommended', seed });
    model.free();
    assert.equal(summary.params, 2723328);
    assert.ok(summary.loss_final < summary.loss_first / 10, `seed ${seed}: loss ${summary.loss_first} -> ${summary.loss_final}`);
    // recognisable: (almost) every value on the right side of the midpoint between red and black
    let agree = 0;
    for (let i = 0; i < image.length; i++) if (Math.sign(sample.final[i]) === Math.sign(image[i])) agree++;
    results.push({ seed, mse: summary.mse, agree: agree / image.length });
  }
  const passed = results.filter((r) => r.mse < 0.01 && r.agree > 0.99);
  // the runs are bit for bit reproducible, and the README says 10 of 10
  assert.equal(passed.length, 10, `${passed.length} of 10 seeds: ${JSON.stringify(results)}`);
});

test('the scaled schedule with eps-prediction: the predicted noise turns against x_t, so the chain runs away (README, Presets)', async () => {
  const engine = await simdEngine();
  const { summary, model, sample } = await runExperiment(engine, { preset: 'paper', schedule: 'linear-scaled', seed: 0 });
  try {
    const D = model.D, { x, epsPred } = sample;
    const dot = (a, b, t) => { let s = 0; for (let i = t * D; i < (t + 1) * D; i++) s += a[i] * b[i]; return s; };
    const cosine = (t) => dot(x, epsPred, t) / Math.sqrt(dot(x, x, t) * dot(epsPred, epsPred, t));
    const rms = (t) => Math.sqrt(dot(x, x, t) / D);
    // 1/sqrt(alpha_t) over the chain is 1/sqrt(alpha_bar_T): 221x. A noise prediction that tracks
    // x_t would cancel it; this one points against x_t once x_t is out of the range training saw
    assert.equal(Math.round(1 / Math.sqrt(summary.alpha_bar_T)), 221);
    assert.ok(cosine(80) < -0.7, `cos(eps_pred, x_t) at t = 80: ${cosine(80)}`);
    // from t = 50 on (down to t = 1, the last step that uses eps_pred) it points straight against x_t
    let largest = -Infinity;
    for (let t = 1; t <= 50; t++) largest = Math.max(largest, cosine(t));
    assert.ok(largest < -0.999, `cos(eps_pred, x_t) for t = 1..50 at most ${largest}`);
    const length = Math.sqrt(dot(epsPred, epsPred, 50) / dot(x, x, 50));
    // the README quotes these three
    console.log(`seed 0: cos(eps_pred, x_t) at t = 80 is ${cosine(80).toFixed(2)}, for t = 1..50 at most ${largest.toFixed(5)}; ` +
      `|eps_pred| / |x_t| at t = 50 is ${length.toFixed(2)}`);
    assert.ok(length > 1.8 && length < 1.9, `|eps_pred| / |x_t| at t = 50: ${length}`);
    // each step then pushes x_t further out: far more than 221x over the chain
    assert.ok(rms(1) / rms(100) > 1e6, `x_t's RMS grew ${rms(1) / rms(100)}x`);
    assert.ok(summary.sample_range[1] > 1e8 && summary.sample_range[0] < -1e8, `${summary.sample_range}`);
  } finally { model.free(); }
});
