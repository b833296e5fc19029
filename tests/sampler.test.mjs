// The reverse process. For one training image the exact noise prediction has a closed form;
// with that oracle in place of the network, the sampler must return the image.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, sameBits, maxAbsDiff, SMALL } from './lib/engine.mjs';
import { oracleEps, pcg32, boxMuller } from './lib/reference.mjs';
import { mse, alongImage, PRESETS, xtFarBound, NOISE_FAR, reverseStepCoefficients, extent, OUTPUT_BLOWN_UP, outputBlownUp } from '../web/ddpm.mjs';

for (const schedule of ['linear', 'linear-scaled', 'cosine']) {
  for (const sigma of ['beta', 'beta-tilde']) {
    for (const clip of [false, true]) {
      test(`oracle denoiser, ${schedule} schedule, sigma^2 = ${sigma}, clip ${clip}: the chain returns the training image`, async () => {
        const engine = await simdEngine();
        const model = engine.createModel({ preset: 'paper', schedule, steps: 0 });
        try {
          const s = model.schedule(), x0 = model.image(), T = model.T, D = model.D;
          let x = engine.normals(D, 5);
          for (let t = T; t >= 1; t--) {
            const eps = oracleEps(x, x0, s.alpha_bar[t]);
            const { xPrev, x0Pred } = model.reverseStep(x, eps, engine.normals(D, 100 + t), t, { sigma, clip });
            // the oracle's implied x0 is the image at every step
            assert.ok(maxAbsDiff(x0Pred, x0) < 2e-3, `t=${t}: predicted x0 off by ${maxAbsDiff(x0Pred, x0)}`);
            x = xPrev;
          }
          assert.ok(mse(x, x0) < 1e-8, `final MSE ${mse(x, x0)}`);
        } finally { model.free(); }
      });
    }
  }
}

test("the paper's mean formula equals the posterior mean of q(x_{t-1} | x_t, x0)", async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ preset: 'paper', steps: 0 });
  try {
    const D = model.D, zero = new Float32Array(D);
    for (const t of [2, 10, 50, 100]) {
      const xt = engine.normals(D, t), eps = engine.normals(D, 1000 + t).map((v) => v * 0.1);
      // with no noise (z = 0), the unclipped step is the paper's mu; the clipped step is the
      // posterior mean from x0; where x0 stays inside [-1, 1] the two must agree
      const paper = model.reverseStep(xt, eps, zero, t, { clip: false });
      const posterior = model.reverseStep(xt, eps, zero, t, { clip: true });
      for (let i = 0; i < D; i++) {
        if (Math.abs(paper.x0Pred[i]) < 1) {
          assert.ok(Math.abs(paper.xPrev[i] - posterior.xPrev[i]) < 1e-4, `t=${t} i=${i}: ${paper.xPrev[i]} vs ${posterior.xPrev[i]}`);
        }
      }
    }
  } finally { model.free(); }
});

// The page writes each reverse step out with its numbers (reverseStepCoefficients): those numbers,
// used in float in C's order, must give the module's step bit for bit, or the page shows a step
// other than the one taken.
test('the reverse step the page writes out is the step the module takes, bit for bit', async () => {
  const engine = await simdEngine();
  const f = Math.fround;
  for (const schedule of ['linear', 'linear-scaled']) {
    const model = engine.createModel({ preset: 'paper', schedule, steps: 0 });
    try {
      const s = model.schedule(), D = model.D;
      for (const t of [1, 2, 37, model.T]) {
        const xt = engine.normals(D, t), eps = engine.normals(D, 500 + t), z = engine.normals(D, 900 + t);
        for (const sigma of ['beta', 'beta-tilde']) {
          for (const clip of [false, true]) {
            const { xPrev, x0Pred } = model.reverseStep(xt, eps, z, t, { sigma, clip });
            const k = reverseStepCoefficients(s, t, { sigma, clip });
            assert.equal(k.form, clip ? 'posterior' : 'eps');
            if (t === 1) assert.equal(k.noise, 0, 'the last step adds no noise');
            const mine = new Float32Array(D);
            for (let i = 0; i < D; i++) {
              const mean = clip ? f(f(k.x0 * x0Pred[i]) + f(k.xt * xt[i])) : f(k.scale * f(xt[i] - f(k.eps * eps[i])));
              mine[i] = t > 1 ? f(mean + f(k.noise * z[i])) : mean;
            }
            assert.ok(sameBits(mine, xPrev), `${schedule} t=${t} ${sigma} clip ${clip}: off by ${maxAbsDiff(mine, xPrev)}`);
          }
        }
      }
    } finally { model.free(); }
  }
});

// The step itself, from the schedule's own definition in float64 (not C's arrays): for given x_t,
// eps and z, x_{t-1} = mu + sigma z with mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) /
// sqrt(alpha_t) (Ho et al., Algorithm 2) or, clipped, the posterior mean of q(x_{t-1} | x_t, x0)
// from the clipped x0. The oracle test above cannot see the mean at t >= 2 (its last step maps
// any x_1 to the image), so this one is what would catch a wrong coefficient there.
test('a reverse step equals its float64 formula at every kind of t, for both sigmas, clipped or not', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ preset: 'paper', steps: 0 });
  try {
    const { T, beta_start: b1, beta_end: bT } = PRESETS.paper.config, D = model.D;
    const beta = [0], alphaBar = [1];
    for (let t = 1; t <= T; t++) {
      beta.push(b1 + (bT - b1) * (t - 1) / (T - 1));
      alphaBar.push(alphaBar[t - 1] * (1 - beta[t]));
    }
    for (const t of [1, 2, 3, 37, 99, 100]) {
      // x_t as training makes it, eps near the truth but not it: x0 from eps lands inside and
      // outside [-1, 1], so clipping acts on some pixels
      const x0 = model.image(), noise = engine.normals(D, 7 + t), z = engine.normals(D, 900 + t);
      const xt = x0.map((v, i) => Math.sqrt(alphaBar[t]) * v + Math.sqrt(1 - alphaBar[t]) * noise[i]);
      const error = engine.normals(D, 50 + t), eps = noise.map((v, i) => v + 0.3 * error[i]);
      for (const sigma of ['beta', 'beta-tilde']) {
        for (const clip of [false, true]) {
          const { xPrev } = model.reverseStep(xt, eps, z, t, { sigma, clip });
          const ab = alphaBar[t], abPrev = alphaBar[t - 1], b = beta[t];
          const variance = sigma === 'beta' ? b : (1 - abPrev) / (1 - ab) * b;
          let worst = 0, clipped = 0;
          for (let i = 0; i < D; i++) {
            let mu;
            if (clip) {
              const x0Raw = (xt[i] - Math.sqrt(1 - ab) * eps[i]) / Math.sqrt(ab), x0Hat = Math.max(-1, Math.min(1, x0Raw));
              if (x0Hat !== x0Raw) clipped++;
              mu = (b * Math.sqrt(abPrev) / (1 - ab)) * x0Hat + ((1 - abPrev) * Math.sqrt(1 - b) / (1 - ab)) * xt[i];
            } else {
              mu = (xt[i] - b / Math.sqrt(1 - ab) * eps[i]) / Math.sqrt(1 - b);
            }
            const want = mu + (t > 1 ? Math.sqrt(variance) * z[i] : 0);
            worst = Math.max(worst, Math.abs(xPrev[i] - want) / (1 + Math.abs(want)));
          }
          if (clip) assert.ok(clipped > 0, `t=${t}: no pixel was clipped, so the clipped path went untested`);
          assert.ok(worst < 2e-5, `t=${t} sigma ${sigma} clip ${clip}: x_{t-1} off its formula by ${worst}`);
        }
      }
    }
  } finally { model.free(); }
});

test('the noise of a reverse step: sigma = sqrt(beta_t) or sqrt(beta_tilde_t), none at t = 1', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ preset: 'paper', steps: 0 });
  try {
    const s = model.schedule(), D = model.D, zero = new Float32Array(D), one = new Float32Array(D).fill(1);
    const xt = engine.normals(D, 3), eps = engine.normals(D, 4);
    for (const t of [1, 2, 60]) {
      for (const [sigma, variance] of [['beta', s.beta[t]], ['beta-tilde', s.posterior_variance[t]]]) {
        const a = model.reverseStep(xt, eps, zero, t, { sigma }).xPrev, b = model.reverseStep(xt, eps, one, t, { sigma }).xPrev;
        const want = t === 1 ? 0 : Math.sqrt(variance);
        for (let i = 0; i < D; i++) assert.ok(Math.abs(b[i] - a[i] - want) < 1e-5, `t=${t} ${sigma}: ${b[i] - a[i]} vs ${want}`);
      }
    }
  } finally { model.free(); }
});

// Each image draws from a stream of its own (3 + its place), and a sample's forward pass gives
// the same bits whatever the batch (the kernels' summation order is fixed per sample): so an
// image depends on its seed and its place alone. A seed shown as one chain on the page gives
// that image again as image 0 of a batch from the command line.
test('image b of a batch is the same bits whatever the batch size: image 0 is the single image of its seed', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 5 });
  try {
    model.train(5);
    const D = model.D, seed = 11;
    const one = model.sample({ n: 1, seed, trajectory: false }).final;
    const four = model.sample({ n: 4, seed, trajectory: false }).final;
    const seven = model.sample({ n: 7, seed, trajectory: false }).final;
    assert.ok(sameBits(one, four.subarray(0, D)), 'image 0 of 4 differs from the single image of its seed');
    assert.ok(sameBits(four, seven.subarray(0, 4 * D)), 'images 0-3 of 7 differ from the 4 of a batch of 4');
    // and the images are not one image repeated: each place has its own noise
    assert.ok(!sameBits(seven.subarray(0, D), seven.subarray(D, 2 * D)), 'images 0 and 1 are the same');
    // the trajectory kept (image 0's) is the single image's too
    const t1 = model.sample({ n: 1, seed }).x, t7 = model.sample({ n: 7, seed }).x;
    assert.ok(sameBits(t1, t7), "the kept trajectory (image 0's) depends on the batch size");
  } finally { model.free(); }
});

test('sample(): the trajectory holds every state, ends at the sample, and starts from N(0, I)', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, T: 30, steps: 2, seed: 3 });
  try {
    model.train(2);
    const D = model.D, T = model.T;
    const r = model.sample({ seed: 6 });
    assert.equal(r.x.length, (T + 1) * D);
    assert.ok(sameBits(r.x.subarray(0, D), r.final), 'x_0 is the sample');
    assert.ok(sameBits(r.x0Pred.subarray(0, D), r.final), 'at t = 0 the prediction is the sample');
    // each stored state follows from the one before through the same reverse step
    const xT = r.x.subarray(T * D, (T + 1) * D);
    const eps = model.denoise(xT, [T]);
    assert.ok(sameBits(eps, r.epsPred.subarray(T * D, (T + 1) * D)), 'eps_pred at t = T is the network at x_T');
    for (let t = 1; t <= T; t++) {
      assert.ok(r.x.subarray(t * D, (t + 1) * D).some((v, i) => v !== r.x[(t - 1) * D + i]), `x_${t} equals x_${t - 1}`);
    }
    // x_T: 768 draws of a standard normal (0.15 is 4.2 standard errors of the mean, 2.9 of the variance)
    const big = engine.createModel({ preset: 'paper', steps: 0, max_batch: 1 });
    const xs = big.sample({ seed: 9 }).x.subarray(100 * 768);
    big.free();
    const m = xs.reduce((a, b) => a + b) / xs.length, v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
    assert.ok(Math.abs(m) < 0.15 && Math.abs(v - 1) < 0.15, `x_T mean ${m} variance ${v}`);
    // and they are the normals of stream 3 of the sampling seed (README "Randomness"; image b of a
    // batch draws from stream 3 + b): Box-Muller of PCG32's words, which C computes in float to
    // within 2^-22 of the radius
    model.sampleBegin({ n: 3, seed: 6 });   // x_T of each image, before any step
    const xTs = model.sampleImages();
    for (const [b, stream] of [[0, 3], [2, 5]]) {
      const words = pcg32(6, stream).words(D), drawn = xTs.subarray(b * D, (b + 1) * D);
      for (let i = 0; i < D; i += 2) {
        const { r, z0, z1 } = boxMuller(words[i], words[i + 1]);
        assert.ok(Math.abs(drawn[i] - z0) <= 2 ** -22 * r && Math.abs(drawn[i + 1] - z1) <= 2 ** -22 * r,
          `image ${b}, x_T[${i}]: ${drawn[i]}, ${drawn[i + 1]} against stream ${stream}'s ${z0}, ${z1}`);
      }
    }
    // several images at once; different seeds, different samples
    const many = model.sample({ n: 3, seed: 6, trajectory: false });
    assert.equal(many.final.length, 3 * D);
    assert.ok(!sameBits(model.sample({ seed: 7 }).final, r.final));
  } finally { model.free(); }
});

// The CLI's --clip and --sigma set the model's config and sample with sample({ seed }): the
// config's choices must be sample()'s defaults, or --clip would sample unclipped, unseen
test("sample() without sigma or clip takes the model's config: clip_x0 and sigma", async () => {
  const engine = await simdEngine();
  for (const [over, want] of [[{ clip_x0: 1 }, { clip: true }], [{ sigma: 'beta-tilde' }, { sigma: 'beta-tilde' }]]) {
    const model = engine.createModel({ ...SMALL, T: 20, steps: 3, seed: 4, ...over });
    try {
      model.train(3);
      const byDefault = model.sample({ seed: 2 }).final;
      assert.ok(sameBits(byDefault, model.sample({ seed: 2, ...want }).final), `${JSON.stringify(over)}: the default is ${JSON.stringify(want)}`);
      const other = want.clip ? { clip: false } : { sigma: 'beta' };
      assert.ok(!sameBits(byDefault, model.sample({ seed: 2, ...other }).final), `and not ${JSON.stringify(other)}`);
    } finally { model.free(); }
  }
});

test('x0-prediction: the network output is the x0 the sampler uses', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, predict: 'x0', steps: 1, T: 10 });
  try {
    const r = model.sample({ seed: 2, clip: false });
    const D = model.D, T = model.T;
    const out = model.denoise(r.x.subarray(T * D, (T + 1) * D), [T]);
    assert.ok(maxAbsDiff(out, r.x0Pred.subarray(T * D, (T + 1) * D)) < 1e-4);
  } finally { model.free(); }
});

// the largest |x| over rows t = 1 .. T of a (T+1, D) trajectory, and the t it is at
function trajectoryPeak(a, T, D) {
  let peak = 0, at = 0;
  for (let t = 1; t <= T; t++) for (let i = 0; i < D; i++) if (Math.abs(a[t * D + i]) > peak) { peak = Math.abs(a[t * D + i]); at = t; }
  return { peak, at };
}

test("the chain's output peak: the largest |network output| over its steps and images, its t, and that input's largest |x_t|", async () => {
  const engine = await simdEngine();
  for (const predict of ['eps', 'x0']) {
    const model = engine.createModel({ ...SMALL, predict, steps: 3 });
    try {
      model.train(3);
      const T = model.T, D = model.D;
      model.sampleBegin({ seed: 4, clip: false });
      assert.deepEqual(model.sampleOutputPeak(), { peak: 0, t: 0, input: 0, inRange: { peak: 0, t: 0, input: 0 } });
      // in pieces: the peak of the steps taken so far
      model.sampleContinue(5);
      const early = model.sampleOutputPeak();
      model.sampleContinue(T);
      const r = { ...model.sampleTrajectory(), outputPeak: model.sampleOutputPeak() };
      // the network's own output at every step, from the x_t the chain fed it (row 0 unused)
      const outputs = new Float32Array((T + 1) * D);
      for (let t = 1; t <= T; t++) outputs.set(model.denoise(r.x.subarray(t * D, (t + 1) * D), [t]), t * D);
      const out = trajectoryPeak(outputs, T, D);
      assert.equal(r.outputPeak.peak, out.peak, predict);
      assert.equal(r.outputPeak.t, out.at, predict);
      assert.equal(r.outputPeak.input, Math.max(...extent(r.x, out.at * D, D).map(Math.abs)), predict);
      // the same over the steps whose input was within the badge's bound (one image: its x_t)
      const sched = model.schedule(), inputAt = (t) => Math.max(...extent(r.x, t * D, D).map(Math.abs));
      const inRange = trajectoryPeak(outputs.map((v, i) => (inputAt(Math.floor(i / D)) <= xtFarBound(sched, Math.floor(i / D)) ? v : 0)), T, D);
      assert.deepEqual(r.outputPeak.inRange, { peak: inRange.peak, t: inRange.at, input: inRange.at ? inputAt(inRange.at) : 0 }, predict);
      const firstFive = trajectoryPeak(outputs.map((v, i) => (i >= (T - 4) * D ? v : 0)), T, D);
      assert.equal(early.peak, firstFive.peak, `${predict}: after 5 steps`);
      assert.ok(early.t >= T - 4, `${predict}: ${early.t}`);
      // over a batch: image 0 is the same chain, and the others can only raise the peak
      const three = model.sample({ n: 3, seed: 4, clip: false, trajectory: false });
      assert.ok(three.outputPeak.peak >= r.outputPeak.peak, predict);
      assert.equal(model.sample({ seed: 4, clip: false, trajectory: false }).outputPeak.peak, r.outputPeak.peak);
    } finally { model.free(); }
  }
});

// A trial: the paper preset at lr 0.1 trained 50 steps to a loss of 8e8 (the last 10%), and sampled with x0
// clipped gave a finite chain, MSE 2.15, and a run that read 'done': nothing named the blow-up
test('a blown-up network is named by its output peak; healthy chains, trained or not, and a chain that ran away are not', async (t) => {
  const engine = await simdEngine();
  const blown = engine.createModel({ preset: 'paper', lr: 0.1, steps: 50 });
  try {
    blown.train(50);
    const r = blown.sample({ seed: 0, clip: true, trajectory: false });
    assert.ok(r.final.every(Number.isFinite));
    assert.ok(r.outputPeak.peak > OUTPUT_BLOWN_UP, `${r.outputPeak.peak}`);
    assert.ok(outputBlownUp(r.outputPeak), JSON.stringify(r.outputPeak));
    // unclipped, its chain runs away; C names the blow-up from the steps before, when x_t was
    // still in range (it said "either the weights ... or predictions fed back unclipped")
    assert.throws(() => blown.sample({ seed: 0, clip: false, trajectory: false }), (e) => e.code === 'DIVERGED' &&
      /the chain ran away, .* from a network whose weights are far too large, as training that blew up leaves them: at t=\d+, from an x_t within \+-\d\.\d+, still in range, its output reached \d\.\d+e\+0[3-9], where it was trained to give noise from N\(0, 1\)$/.test(e.message) &&
      !/either/.test(e.message), 'the blow-up named');
  } finally { blown.free(); }
  let lowest = Infinity, highest = 0;
  for (const preset of ['paper', 'recommended']) {
    for (const steps of [0, PRESETS[preset].config.steps]) {
      const model = engine.createModel({ preset, steps: Math.max(steps, 1) });
      try {
        model.train(steps);
        for (const clip of [false, true]) {
          for (let seed = 0; seed < 10; seed++) {
            const { outputPeak } = model.sample({ seed, clip, trajectory: false });
            // (0.2 to 35 measured, the diagnostic below: a tenth of the bound leaves room)
            assert.ok(outputPeak.peak < OUTPUT_BLOWN_UP / 10, `${preset}, ${steps} steps, clip ${clip}, seed ${seed}: ${JSON.stringify(outputPeak)}`);
            assert.ok(!outputBlownUp(outputPeak));
            lowest = Math.min(lowest, outputPeak.peak); highest = Math.max(highest, outputPeak.peak);
          }
        }
      } finally { model.free(); }
    }
  }
  t.diagnostic(`healthy chains' output peaks: ${lowest.toFixed(2)} to ${highest.toFixed(2)} (80 chains)`);
  // the recommended preset's schedule with eps-prediction, unclipped: x_t runs away to 3e8, and
  // the output with it, from weights that are sound; the sample's range names that
  const ran = engine.createModel({ preset: 'recommended', predict: 'eps' });
  try {
    ran.train(ran.config.steps);
    const r = ran.sample({ seed: 0, clip: false, trajectory: false });
    assert.ok(r.outputPeak.peak > OUTPUT_BLOWN_UP && r.outputPeak.input > xtFarBound(ran.schedule(), r.outputPeak.t), JSON.stringify(r.outputPeak));
    assert.ok(!outputBlownUp(r.outputPeak), JSON.stringify(r.outputPeak.inRange));
    assert.ok(Math.max(...extent(r.final).map(Math.abs)) > 1e3);
  } finally { ran.free(); }
});

// The sampler judges a blow-up in C by the bounds the page's badge and verdict use in JS
test("C's bounds are the page's: x_t's far bound at every t of both presets, and the blown-up output", async () => {
  const engine = await simdEngine();
  assert.equal(engine.mod._w_output_blown_up(), OUTPUT_BLOWN_UP);
  for (const preset of ['paper', 'recommended']) {
    const model = engine.createModel({ preset, steps: 1 });
    try {
      const sched = model.schedule();
      for (let t = 0; t <= model.T; t++) {
        const c = engine.mod._w_xt_far_bound(model.ptr, t), js = xtFarBound(sched, t);
        assert.ok(Math.abs(c - js) <= 1e-6 * js, `${preset}, t = ${t}: ${c} in C, ${js} in JS`);
      }
    } finally { model.free(); }
  }
});

test('the chain taken in pieces (begin, then a few steps at a time) gives the bits of one call', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, T: 25, steps: 2, seed: 5 });
  try {
    model.train(2);
    const whole = model.sample({ n: 2, seed: 8, sigma: 'beta-tilde' });
    model.sampleBegin({ n: 2, seed: 8, sigma: 'beta-tilde' });
    const seen = [];
    let t;
    while ((t = model.sampleContinue(4)) > 0) seen.push(t);
    assert.deepEqual(seen, [21, 17, 13, 9, 5, 1]);
    const pieces = { final: model.sampleImages(), ...model.sampleTrajectory() };
    for (const k of ['final', 'x', 'epsPred', 'x0Pred']) assert.ok(sameBits(pieces[k], whole[k]), k);
    assert.throws(() => model.sampleContinue(1), /no chain in progress/);
  } finally { model.free(); }
});

test('a chain is of one model: a step taken, an update half done or weights written since it began end it, refused', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, T: 25, steps: 4, seed: 3 });
  const trainedOn = (step, why) => (e) => e.code === 'ARGUMENT' &&
    e.message === `sample: the model has trained on since this chain began at step ${step} (${why}), so the chain would mix two models; it is ended: begin a new one`;
  try {
    model.train(1);
    model.sampleBegin({ seed: 2 });
    assert.equal(model.sampleContinue(5), 20);
    model.train(1);
    assert.throws(() => model.sampleContinue(5), trainedOn(1, 'a step has been taken'));
    assert.throws(() => model.sampleContinue(5), (e) => e.message ===
      'sample: no chain in progress (the last one ended when the model trained on; call begin first)', 'and it is ended');
    assert.throws(() => model.sampleImages(), /no chain has begun/, 'its half-denoised images are no sample');
    // begun between the phases of a step (the batch in, no parameter updated yet), continued
    // once part of the update is done
    while (!model.updating) model.trainWork(1, 1);
    assert.equal(model.weightsHalfUpdated, false);
    model.sampleBegin({ seed: 2 });
    model.trainWork(1, 100);
    assert.equal(model.weightsHalfUpdated, true);
    assert.throws(() => model.sampleContinue(5), trainedOn(2, "the next step's weight update is half done"));
    // nor can one begin then
    assert.throws(() => model.sampleBegin({ seed: 2 }), (e) => e.code === 'ARGUMENT' &&
      e.message === 'sample: the weight update of step 3 is half done, and a chain now would mix the weights of two steps; finish the step first');
    while (model.updating) model.trainWork(1, model.numParams);
    // weights written by the caller end a chain too
    model.sampleBegin({ seed: 2 });
    model.setParams(model.params());
    assert.throws(() => model.sampleImages(), /no chain has begun/);
    assert.throws(() => model.sampleContinue(5), (e) => e.message ===
      'sample: no chain in progress (the last one ended when the weights were written; call begin first)');
    // between steps a chain runs to its end, the bits of one call
    const whole = model.sample({ seed: 2 });
    model.sampleBegin({ seed: 2 });
    while (model.sampleContinue(7) > 0);
    assert.ok(sameBits(model.sampleImages(), whole.final));
    // a continue past x_0 is refused, and the finished sample stays to read; so do weights
    // written after it
    assert.throws(() => model.sampleContinue(1), (e) => e.message ===
      'sample: no chain in progress (none begun, or the last one reached x_0; call begin first)');
    model.setParams(model.params());
    assert.ok(sameBits(model.sampleImages(), whole.final));
  } finally { model.free(); }
});

test('C refuses what its wrapper never passes: a clip flag not 0 or 1, no steps to take, a trajectory not 0, 1 or 2', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, T: 25, steps: 0 });
  const { mod, ptr } = model;
  try {
    assert.equal(mod._w_sample_begin(ptr, 1, 0, 0, 2, 0), 7);
    assert.equal(engine.lastError(), 'sample: clip must be 0 or 1 (got 2)');
    assert.equal(mod._w_sample_begin(ptr, 1, 0, 0, 1, 0), 0);
    for (const k of [0, -5]) {
      assert.equal(mod._w_sample_continue(ptr, k), -7);
      assert.equal(engine.lastError(), `sample: max_steps must be >= 1 (got ${k})`);
    }
    assert.equal(mod._w_sample_continue(ptr, 1), 24, 'the chain is still there');
    assert.equal(mod._w_traj(ptr, 3), 0);
    assert.equal(engine.lastError(), 'traj: which must be 0, 1 or 2 (got 3)');
  } finally { model.free(); }
});

test('before any chain has begun, the images and the trajectory are refused, not read as zeros', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 0 });
  try {
    for (const what of ['sampleImages', 'sampleTrajectory']) {
      assert.throws(() => model[what](), (e) => e.code === 'ARGUMENT' && e.message === `${what}: no chain has begun (call sampleBegin or sample first)`);
    }
    model.sampleBegin({ seed: 1 });
    assert.equal(model.sampleImages().length, model.D);
  } finally { model.free(); }
});

test('a refused sampleBegin leaves the last chain readable as it was (no read past the images)', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 0 });
  try {
    const { final } = model.sample({ n: 2, seed: 4, trajectory: false });
    assert.throws(() => model.sampleBegin({ n: 99, seed: 1 }), (e) => e.code === 'ARGUMENT');
    assert.ok(sameBits(model.sampleImages(), final));
  } finally { model.free(); }
});

// The page's badge for x_t (xtFarBound) must not mark healthy chains: 300 chains of the trained
// recommended preset, none past the bound. A tighter bound (4 normals' widths, not 5.5) would
// mark most of them somewhere, though one image in 20 passes it: the diagnostics give the counts
// that README.md quotes.
test('the x_t badge bound marks no healthy chain in 300; at 4 normals most would be marked', async (t) => {
  const engine = await simdEngine();
  const model = engine.createModel({ preset: 'recommended', seed: 0 });
  try {
    model.train(model.config.steps);
    const s = model.schedule(), T = model.T, D = model.D, chains = 300;
    const past = (x, t, bound) => { for (let i = t * D; i < (t + 1) * D; i++) if (Math.abs(x[i]) > bound) return true; return false; };
    let marked = 0, markedAt4 = 0, xTAt4 = 0;
    for (let seed = 0; seed < chains; seed++) {
      const { x } = model.sample({ seed });
      let any = false, anyAt4 = false;
      for (let step = 0; step <= T; step++) {
        any ||= past(x, step, xtFarBound(s, step));
        anyAt4 ||= past(x, step, xtFarBound(s, step, 4));
      }
      marked += any;
      markedAt4 += anyAt4;
      xTAt4 += past(x, T, xtFarBound(s, T, 4));
    }
    t.diagnostic(`chains marked at ${NOISE_FAR}: ${marked} of ${chains}; at 4: ${markedAt4} (x_T alone: ${xTAt4})`);
    assert.equal(marked, 0, `${marked} healthy chains marked`);
    assert.ok(markedAt4 > chains / 2, `at 4, ${markedAt4} of ${chains} chains marked`);
    // the bound is the README's, 1.5 sqrt(alpha_bar_t) + 5.5 sqrt(1 - alpha_bar_t), by default
    // (a review set NOISE_FAR to 50, and "none marked" alone still held)
    for (const step of [0, 1, 50, T]) assert.equal(xtFarBound(s, step), 1.5 * s.sqrt_alpha_bar[step] + 5.5 * s.sqrt_one_minus_alpha_bar[step]);
  } finally { model.free(); }
});

// The page's plot of the chain against the forward process (alongImage): the image's coefficient
// in x and the size of the rest, exact on an x built from known parts
test('alongImage splits x into its image coefficient and the rest, exactly on known parts', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ preset: 'recommended', steps: 0 });
  try {
    const img = model.image(), D = model.D;
    // e: normals made orthogonal to the image, scaled to |e|^2 = D - 1 (one unit per dimension left)
    const z = engine.normals(D, 3), zi = z.reduce((a, v, i) => a + v * img[i], 0), ii = img.reduce((a, v) => a + v * v, 0);
    const e = Array.from(z, (v, i) => v - (zi / ii) * img[i]);
    const scale = Math.sqrt((D - 1) / e.reduce((a, v) => a + v * v, 0));
    for (const [a, b] of [[0.6, 0.8], [1, 0], [0, 1], [-0.3, 2.5]]) {
      const x = new Float64Array(2 * D);   // at an offset: the second image of two
      for (let i = 0; i < D; i++) x[D + i] = a * img[i] + b * scale * e[i];
      const got = alongImage(x, img, D);
      assert.ok(Math.abs(got.signal - a) < 1e-12, `signal ${got.signal}, built with ${a}`);
      assert.ok(Math.abs(got.noise - b) < 1e-12, `noise ${got.noise}, built with ${b}`);
    }
    assert.ok(Number.isNaN(alongImage(new Float32Array(D), new Float32Array(D)).noise), 'an image of zeros gives no direction');
    assert.throws(() => alongImage(new Float32Array(D), img, 1), /alongImage: 768 floats from 1 leave an array of 768/);
  } finally { model.free(); }
});

// The claim of the plot's caption: a chain that undoes the forward process follows sqrt(alpha_bar_t)
// and sqrt(1 - alpha_bar_t) back. Exactly so for the oracle denoiser with sigma^2 = beta tilde from
// x_T ~ q(x_T | x0): then every x_t of the chain is distributed as q(x_t | x0) (the posterior
// q(x_{t-1} | x_t, x0) carries q(x_t | x0) to q(x_{t-1} | x0)), so over N chains the mean
// coefficient is sqrt(alpha_bar_t) within its standard error sqrt((1 - alpha_bar_t) / <x0, x0> / N),
// and the mean squared rest is 1 - alpha_bar_t within (1 - alpha_bar_t) sqrt(2 / (D - 1) / N).
test('with the oracle denoiser and sigma^2 = beta tilde, x_t of the chain follows the forward process', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ preset: 'recommended', steps: 0 });
  try {
    const s = model.schedule(), x0 = model.image(), T = model.T, D = model.D, N = 200;
    const ii = x0.reduce((a, v) => a + v * v, 0);
    const signal = new Float64Array(T + 1), rest2 = new Float64Array(T + 1);
    for (let chain = 0; chain < N; chain++) {
      const z = engine.normals(D, 10000 + chain);
      let x = x0.map((v, i) => s.sqrt_alpha_bar[T] * v + s.sqrt_one_minus_alpha_bar[T] * z[i]);
      for (let t = T; ; t--) {
        const a = alongImage(x, x0);
        signal[t] += a.signal / N;
        rest2[t] += a.noise ** 2 / N;
        if (t === 0) break;
        const eps = oracleEps(x, x0, s.alpha_bar[t]);
        x = model.reverseStep(x, eps, engine.normals(D, 1e6 + chain * (T + 1) + t), t, { sigma: 'beta-tilde' }).xPrev;
      }
    }
    for (let t = 1; t <= T; t++) {
      const left = 1 - s.alpha_bar[t];
      const seSignal = Math.sqrt(left / ii / N), seRest = left * Math.sqrt(2 / (D - 1) / N);
      assert.ok(Math.abs(signal[t] - s.sqrt_alpha_bar[t]) < 5 * seSignal + 1e-4, `t=${t}: mean coefficient ${signal[t]}, forward ${s.sqrt_alpha_bar[t]}`);
      assert.ok(Math.abs(rest2[t] - left) < 5 * seRest + 1e-4, `t=${t}: mean squared rest ${rest2[t]}, forward ${left}`);
    }
    assert.ok(Math.abs(signal[0] - 1) < 1e-3 && rest2[0] < 1e-4, `t=0: ${signal[0]}, ${rest2[0]}: the image`);
  } finally { model.free(); }
});

// And with the trained networks the plot shows the two presets apart. The recommended preset's
// chains keep to the forward process: the mean coefficient of 40 within a few hundredths, and the
// mean rest within a few hundredths of the forward noise with the network's own error added in
// quadrature (the sample's rest, at t = 0: its x0 is not the image exactly; sigma^2 = beta_t, a
// little more than beta tilde, adds a little more). The paper preset's never take up the image,
// where training saw sqrt(alpha_bar_t) >= 0.6 of it at every t, and their noise grows past 1
// instead of falling to 0.
test("trained: the recommended preset's chains follow the forward process back, the paper preset's do not", async () => {
  const engine = await simdEngine();
  for (const preset of ['recommended', 'paper']) {
    const model = engine.createModel({ preset, seed: 0 });
    try {
      model.train(model.config.steps);
      const s = model.schedule(), x0 = model.image(), T = model.T, D = model.D, N = 40;
      const signal = new Float64Array(T + 1), noise = new Float64Array(T + 1);
      for (let seed = 0; seed < N; seed++) {
        const { x } = model.sample({ seed });
        for (let t = 0; t <= T; t++) {
          const a = alongImage(x, x0, t * D);
          signal[t] += a.signal / N;
          noise[t] += a.noise / N;
        }
      }
      const worst = (f) => Math.max(...Array.from({ length: T }, (_, k) => f(k + 1)));
      const offSignal = worst((t) => Math.abs(signal[t] - s.sqrt_alpha_bar[t]));
      const offNoise = worst((t) => Math.abs(noise[t] - Math.sqrt(1 - s.alpha_bar[t] + noise[0] ** 2)));
      if (preset === 'recommended') {
        assert.ok(offSignal < 0.05, `the mean coefficient is up to ${offSignal} off the forward process`);
        assert.ok(noise[0] < 0.1, `the samples' mean rest is ${noise[0]}`);
        assert.ok(offNoise < 0.05, `the mean rest is up to ${offNoise} off the forward process with the samples' own error`);
      } else {
        assert.ok(worst((t) => Math.abs(signal[t])) < 0.15, 'the paper chain takes up the image');
        assert.ok(Math.min(...s.sqrt_alpha_bar) > 0.6, 'training saw the image at 0.6 of its amplitude or more');
        assert.ok(noise[0] > 1.5, `the paper chain ends with noise ${noise[0]}`);
      }
    } finally { model.free(); }
  }
});

// With an EMA the sampler uses the EMA weights (README: --ema DECAY), and ema: false the raw
// ones: nothing else told the two apart (a review turned the EMA off in the sampler, and every
// test passed)
test('sampling uses the EMA weights when the model keeps them, the raw weights with ema: false', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, ema_decay: 0.9, steps: 5, seed: 2 });
  const copy = engine.createModel({ ...SMALL, steps: 5, seed: 2 });
  try {
    model.train(5);
    const ema = model.emaParams(), raw = model.params();
    assert.ok(!sameBits(ema, raw), 'after 5 steps at decay 0.9 the EMA is not the weights');
    copy.setParams(ema);
    const withEma = model.sample({ seed: 4 }).final, fromCopy = copy.sample({ seed: 4, ema: false }).final;
    assert.ok(sameBits(withEma, fromCopy), "the sample is the EMA weights' sample");
    copy.setParams(raw);
    const rawSample = model.sample({ seed: 4, ema: false }).final;
    assert.ok(sameBits(rawSample, copy.sample({ seed: 4, ema: false }).final), "ema: false gives the raw weights' sample");
    assert.ok(!sameBits(withEma, rawSample));
  } finally { model.free(); copy.free(); }
});
