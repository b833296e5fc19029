// Bad input is refused by name and loses nothing; divergence is stopped and reported.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, sameBits, SMALL } from './lib/engine.mjs';
import { PRESETS } from '../web/ddpm.mjs';

const refused = (fn, code, pattern) => assert.throws(fn, (e) => e.code === code && pattern.test(e.message),
  `expected ${code} matching ${pattern}`);

test('values written in any decimal form are taken, and the wrapper keeps what C read', async () => {
  const engine = await simdEngine();
  const m = engine.createModel({ preset: 'paper', T: '1E2', steps: '+2', lr: '.5e-3', beta_end: '2.e-2', seed: '7' });
  try {
    assert.equal(m.T, 100);
    assert.equal(m.config.steps, 2);
    assert.equal(m.config.lr, 0.0005);
    m.train(2);
    assert.ok(m.done, 'planned 2 steps, and done after 2');
    assert.equal(m.schedule().alpha_bar.length, 101);
  } finally { m.free(); }
});

test('every invalid configuration is refused with its name in the message', async () => {
  const engine = await simdEngine();
  const create = (over) => () => engine.createModel({ preset: 'paper', ...over }).free();
  const cases = [
    [{ T: 0 }, 'CONFIG', /T must be in 2\.\.1000 \(got 0\)/],
    [{ T: 1 }, 'CONFIG', /T must be/],
    [{ T: 1001 }, 'CONFIG', /T must be/],
    [{ T: 2.5 }, 'CONFIG', /T must be an integer/],
    [{ beta_end: 1 }, 'SCHEDULE', /beta_100 = 1 leaves \(0, 1\)/],
    [{ beta_end: 1.5 }, 'SCHEDULE', /leaves \(0, 1\)/],
    [{ beta_start: 0 }, 'SCHEDULE', /beta_1 = 0 leaves/],
    [{ beta_start: -0.1 }, 'SCHEDULE', /beta_1 = -0.1 leaves/],
    [{ schedule: 'linear-scaled', T: 10 }, 'SCHEDULE', /leaves \(0, 1\)/], // betas x 100 reach 2
    [{ schedule: 'quadratic' }, 'CONFIG', /schedule must be one of linear, linear-scaled, cosine \(got 'quadratic'\)/],
    [{ lr: 0 }, 'CONFIG', /lr must be a finite number > 0/],
    [{ lr: -1e-3 }, 'CONFIG', /lr must be/],
    [{ lr: NaN }, 'CONFIG', /lr must be a finite number \(got 'NaN'\)/],
    [{ lr: Infinity }, 'CONFIG', /lr must be a finite number/],
    [{ lr: 'fast' }, 'CONFIG', /lr must be a number \(got 'fast'\)/],
    // decimal only: C's strtod reads hexadecimal ('0x1.4p3' = 10), which the wrapper's Number()
    // reads as NaN and kept (T NaN, an empty schedule, a model never done: a review)
    [{ T: '0x1.4p3' }, 'CONFIG', /T must be a plain decimal number, no spaces \(got '0x1\.4p3'\)/],
    [{ lr: '0x1p-10' }, 'CONFIG', /lr must be a plain decimal number, no spaces \(got '0x1p-10'\)/],
    [{ steps: ' 7' }, 'CONFIG', /steps must be a plain decimal number, no spaces \(got ' 7'\)/],
    [{ beta_end: '.02e' }, 'CONFIG', /beta_end must be a number/],
    [{ beta1: 1 }, 'CONFIG', /beta1 must be in \[0, 1\)/],
    [{ beta2: NaN }, 'CONFIG', /beta2 must be a finite number/],
    // below 1 in double, 1 in float, where AdamW and the EMA use them: m, v or the EMA would never move
    [{ beta1: 0.99999999999 }, 'CONFIG', /beta1 = 0\.99999999999 rounds to 1 as a float, where AdamW uses it \(at most 0\.99999994\)/],
    [{ beta2: 0.99999999999 }, 'CONFIG', /beta2 = 0\.99999999999 rounds to 1 as a float/],
    // m / sqrt(v) unbounded: with beta2 = 0 and a tiny adam_eps, a fuzzer's config wrote Inf weights
    // while the step reported success (a dead ReLU unit: g = 0, so v = 0 beside its old m)
    [{ beta1: 0.9, beta2: 0 }, 'CONFIG', /config: AdamW needs beta1\^2 < beta2 \(got beta1 = 0\.9, beta2 = 0\): otherwise m \/ sqrt\(v\) has no bound/],
    [{ beta1: 0.9, beta2: 0.8 }, 'CONFIG', /AdamW needs beta1\^2 < beta2/],
    // every value refused is written in the digits that tell it apart (%g wrote both as 1 here)
    [{ beta1: 0.9999999, beta2: 0.99999979 }, 'CONFIG', /AdamW needs beta1\^2 < beta2 \(got beta1 = 0\.9999999, beta2 = 0\.99999979\)/],
    [{ lr_min_frac: 1.0000001 }, 'CONFIG', /lr_min_frac must be in \[0, 1\] \(got 1\.0000001\)/],
    [{ beta2: 1.0000001 }, 'CONFIG', /beta2 must be in \[0, 1\) \(got 1\.0000001\)/],
    [{ ema_decay: 0.99999999999 }, 'CONFIG', /ema_decay = 0\.99999999999 rounds to 1 as a float, where the EMA uses it/],
    // betas in (0, 1) whose schedule still breaks in float, which every sample would then blame
    // on the weights: 1 - alpha_bar_1 = 0 (t = 1 adds no noise), or alpha_bar_T below a float
    [{ beta_start: 1e-17 }, 'SCHEDULE', /schedule: at t = 1 \(beta_t = 1e-17, alpha_bar_t = 1\), 1 - alpha_bar_t is too small for a float: that step adds no noise \(raise beta_start\)/],
    [{ T: 1000, beta_end: 0.9 }, 'SCHEDULE', /schedule: at t = \d+ .*alpha_bar_t is too small for a float: the image is gone before t = T \(lower beta_end or T\)/],
    [{ adam_eps: 0 }, 'CONFIG', /adam_eps/],
    // finite in double but not in float, where AdamW computes: Inf, or 0 (then 0 / 0 for a zero gradient)
    [{ lr: 1e39 }, 'CONFIG', /lr must be a finite number > 0 that a float holds, 1.4e-45 to 3.4e38 \(got 1e\+39\)/],
    [{ adam_eps: 1e-50 }, 'CONFIG', /adam_eps must be a finite number > 0 that a float holds, 1.4e-45 to 3.4e38 \(got 1e-50\)/],
    [{ weight_decay: -1 }, 'CONFIG', /weight_decay/],
    // below 1 in double (0.99999999999999978), but AdamW multiplies in float, where it rounds above 1
    [{ lr: 0.051373, weight_decay: 19.465477974811666 }, 'CONFIG',
      /lr \* weight_decay must be < 1 as a float product, where AdamW computes it: at 1 the decay zeroes the weights, above it flips their sign \(lr = 0\.051373, weight_decay = 19\.465477974811666\)$/],
    // the values as given, in the fewest digits that are exactly them (not 0.01000000000000000021)
    [{ lr: 1e9 }, 'CONFIG', /lr \* weight_decay must be < 1 .* \(lr = 1e\+09, weight_decay = 0\.01\)$/],
    [{ lr: 50, weight_decay: 0.1 }, 'CONFIG', /lr \* weight_decay must be < 1 .* \(lr = 50, weight_decay = 0\.1\)$/],
    [{ lr: 123456.5, weight_decay: 0.01 }, 'CONFIG', /\(lr = 123456\.5, weight_decay = 0\.01\)$/],
    [{ ema_decay: 1 }, 'CONFIG', /ema_decay/],
    [{ batch: 0 }, 'CONFIG', /batch must be in/],
    [{ steps: -1 }, 'CONFIG', /steps must be in/],
    [{ hidden: 1022 }, 'CONFIG', /hidden must be a multiple of 4/],
    // each upper bound, one past it (the bounds themselves are taken: below)
    [{ hidden: 8196 }, 'CONFIG', /hidden must be a multiple of 4 in 4\.\.8192 \(got 8196\)/],
    [{ temb_dim: 1032 }, 'CONFIG', /temb_dim must be a multiple of 8 in 8\.\.1024 \(got 1032\)/],
    [{ image_size: 66 }, 'CONFIG', /image_size must be even, in 2\.\.64 \(got 66\)/],
    [{ max_batch: 1025 }, 'CONFIG', /max_batch must be in 1\.\.1024 \(got 1025\)/],
    [{ batch: 65537 }, 'CONFIG', /batch must be in 1\.\.65536 \(got 65537\)/],
    [{ steps: 1000001 }, 'CONFIG', /steps must be in 0\.\.1000000 \(got 1000001\)/],
    // lr * weight_decay = 1 exactly: a decay of 0 would zero every weight before each update
    [{ lr: 0.5, weight_decay: 2 }, 'CONFIG', /lr \* weight_decay must be < 1/],
    [{ image_size: 15 }, 'CONFIG', /image_size must be even/],
    [{ sigma: 'big' }, 'CONFIG', /sigma must be one of beta, beta-tilde/],
    [{ predict: 'v' }, 'CONFIG', /predict must be one of eps, x0/],
    [{ activation: 'gelu' }, 'CONFIG', /activation must be one of silu, relu/],
    [{ seed: -1 }, 'CONFIG', /seed must be an integer/],
    // a whole number past int, and a number below a double's range, named as written (a fuzzer:
    // the first was called no integer, the second reached validation as "got 0")
    [{ T: '-2147483648' }, 'CONFIG', /config: T must be an integer from -2147483647 to 2147483647 \(got '-2147483648'\)/],
    [{ lr: '1e-400' }, 'CONFIG', /config: lr = '1e-400' is too small for a double: it reads as 0/],
    [{ nonsense: 1 }, 'CONFIG', /unknown setting 'nonsense'/],
  ];
  for (const [over, code, pattern] of cases) refused(create(over), code, pattern);
  for (const key of ['beta_start', 'beta_end', 'lr', 'beta1', 'beta2', 'adam_eps', 'weight_decay', 'lr_min_frac',
    'ema_decay', 'T', 'batch', 'steps', 'hidden', 'seed']) {
    refused(create({ [key]: NaN }), 'CONFIG', new RegExp(`${key} must be a finite number`));
  }
  refused(() => engine.createModel({ preset: 'best' }), 'CONFIG', /unknown preset 'best'/);
  // the names every object has are no presets either (they passed, and made a model of nothing)
  for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty'])
    refused(() => engine.createModel({ preset: name, steps: 1 }), 'CONFIG', new RegExp(`unknown preset '${name}'`));
  // the upper bounds themselves pass validation (validated only: such a model would take GBs)
  for (const over of [{ hidden: 8192 }, { temb_dim: 1024 }, { image_size: 64 }, { max_batch: 1024 }, { batch: 65536 },
    { steps: 1000000 }, { lr: 0.49999997, weight_decay: 2 }]) {
    engine.mod._w_config_free(engine.makeConfig({ ...PRESETS.paper.config, ...over }));
  }
  // beta1 = 0 keeps m = g, which any beta2 bounds; 0.9 with 0.82 is just inside
  for (const betas of [{ beta1: 0, beta2: 0 }, { beta1: 0.9, beta2: 0.82 }]) create(betas)();
});

test('an odd training image is refused by name and the old image kept', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL });
  try {
    const before = model.image();
    refused(() => model.setImage(new Float32Array(47)), 'IMAGE', /expected 48 floats \(4x4x3\), got 47/);
    refused(() => model.setImage(null), 'IMAGE', /expected 48 floats \(4x4x3\), got null$/);
    refused(() => model.setImage('red square'), 'IMAGE', /expected 48 floats \(4x4x3\), got string$/);
    const bad = before.slice(); bad[5] = 1.5;
    refused(() => model.setImage(bad), 'IMAGE', /value 5 is 1\.5; every value must be in \[-1, 1\]/);
    bad[5] = NaN;
    refused(() => model.setImage(bad), 'IMAGE', /value 5 is nan/);
    assert.ok(sameBits(model.image(), before));
    const good = before.map((v) => -v);
    model.setImage(good);
    assert.ok(sameBits(model.image(), good));
  } finally { model.free(); }
  // between steps only: a batch half gathered drew its samples from the image (one step would
  // have trained on two: a review), and an update under way computes the next step's x_t from it
  const halfway = engine.createModel({ ...SMALL, batch: 4, max_batch: 4, steps: 3 });
  try {
    halfway.trainWork(2);
    assert.ok(halfway.batchFilled > 0);
    const image = halfway.image();
    refused(() => halfway.setImage(image.map((v) => -v)), 'ARGUMENT', /image: a training step is half done; set the image between steps/);
    halfway.trainWork(2);
    halfway.trainWork(1, 100);
    assert.ok(halfway.updating);
    refused(() => halfway.setImage(image.map((v) => -v)), 'ARGUMENT', /half done/);
    assert.ok(sameBits(halfway.image(), image), 'the image kept');
    halfway.trainWork(1, halfway.numParams);
    assert.ok(!halfway.midStep);
    halfway.setImage(image.map((v) => -v));
  } finally { halfway.free(); }
});

test('bad calls are refused: t out of range, too many samples, training past the plan', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 1 });
  try {
    refused(() => model.denoise(new Float32Array(48), [0]), 'ARGUMENT', /denoise: t must be an integer in 1\.\.20 \(got 0\)/);
    refused(() => model.denoise(new Float32Array(48), [21]), 'ARGUMENT', /t must be an integer in/);
    // the module checks t itself too, for callers other than this wrapper
    const e = model.engine;
    for (const t of [0, 21]) {
      e.withBuffers([48 * 4, 4, 48 * 4], (pxt, pts, pout) => {
        e.writeI32(pts, [t]);
        refused(() => e.check(model.mod._w_denoise(model.ptr, pxt, pts, 1, pout, 0)), 'ARGUMENT', new RegExp(`t must be in 1\\.\\.T=20 \\(got ${t}\\)`));
      });
    }
    refused(() => model.sample({ n: 9 }), 'ARGUMENT', /n must be in 1\.\.max_batch=8/);
    model.train(1);
    refused(() => model.train(1), 'ARGUMENT', /all 1 planned steps are done/);
  } finally { model.free(); }
});

test('a loss that becomes NaN/Inf stops training, names the step, and keeps the last good weights', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, lr: 1e30, weight_decay: 0, steps: 100 });
  try {
    let good = model.params(), error;
    for (let k = 0; k < 100 && !error; k++) {
      try { model.train(1); good = model.params(); } catch (e) { error = e; }
    }
    assert.ok(error, 'training with lr = 1e30 should diverge');
    assert.equal(error.code, 'DIVERGED');
    const step = model.step;
    assert.match(error.message, new RegExp(`diverged at step ${step + 1}: the loss is (NaN|Inf); the weights of step ${step} are kept`));
    assert.ok(sameBits(model.params(), good), 'the weights changed after the failed step');
    assert.ok(good.every(Number.isFinite), 'the kept weights are finite');
    assert.equal(model.lossHistory().length, step);
    assert.ok(model.lossHistory().every(Number.isFinite));
    // the refused step's draws are undone: the training RNG (header bytes 64..79 of a file) is
    // where `step` good steps leave it, whatever their learning rate, so a file saved now resumes
    // as that step would (it used to be one step's draws further on)
    const rngOf = (m) => Buffer.from(m.saveCheckpoint({ optimizer: false }).subarray(64, 80)).toString('hex');
    const clean = engine.createModel({ ...SMALL, weight_decay: 0, steps: 100 });
    try {
      clean.train(step);
      assert.equal(rngOf(model), rngOf(clean));
    } finally { clean.free(); }
  } finally { model.free(); }
});

test('weights that are no longer finite are named as such when the loss turns NaN, not called "kept"', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 3 });
  try {
    const p = model.params();
    p[100] = Infinity;  // what an update with an overflowing lr would leave
    // the wrapper refuses such weights from a caller; written into the module's memory directly
    // (as an overflowing update would), C finds them at the next step
    refused(() => model.setParams(p), 'ARGUMENT', /setParams: values\[100\] is Infinity; the values must be finite/);
    model.engine.writeF32(model.mod._w_params(model.ptr), p);
    model.mod._w_params_changed(model.ptr);
    refused(() => model.train(1), 'DIVERGED', /diverged at step 1: the weights hold NaN or Inf, so the loss is (NaN|Inf)$/);
    assert.equal(model.step, 0);
  } finally { model.free(); }
});

test('a sampler that leaves the finite numbers says so instead of drawing garbage', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 0 });
  try {
    const p = model.params().map((v) => v * 1e30); // absurd but finite weights
    model.setParams(p);
    // the network's output overflows first, and is what the message names (not the x_{t-1} it spoils)
    refused(() => model.sample({ seed: 1 }), 'DIVERGED', /sampling diverged at t=\d+: the predicted noise holds NaN or Inf/);
  } finally { model.free(); }
  // with x0-prediction the network's output is x0 (the noise is derived from it): named as x0
  const x0model = engine.createModel({ ...SMALL, steps: 0, predict: 'x0' });
  try {
    x0model.setParams(x0model.params().map((v) => v * 1e30));
    refused(() => x0model.sample({ seed: 1 }), 'DIVERGED', /sampling diverged at t=\d+: the predicted x0 holds NaN or Inf/);
  } finally { x0model.free(); }
  // a finite x0 of 3e38 everywhere (fc3 gives its bias alone): the noise derived from it,
  // (x_t - sqrt(alpha_bar) x0) / sqrt(1 - alpha_bar), is what overflows, and is named so
  const huge = engine.createModel({ ...SMALL, steps: 0, predict: 'x0' });
  try {
    const p = huge.params(), t = huge.tensors(p);
    t.fc3_w.fill(0);
    t.fc3_b.fill(3e38);
    huge.setParams(p);
    refused(() => huge.sample({ seed: 1 }), 'DIVERGED', new RegExp('sampling diverged at t=\\d+: the noise derived from the predicted x0 holds NaN or Inf, ' +
      "while the predicted x0 \\(up to 3e\\+38\\) and x_\\d+ \\(up to \\d\\.?\\d*\\) are finite: the network's output is far too large"));
  } finally { huge.free(); }
  // the paper's betas with x0-prediction, unclipped: the chain itself runs away (a trial's run
  // was told its weights were far too large, after a training that went well). The t and size
  // are this deterministic run's, which README "Presets" quotes (t = 23, x_23 at 3.5e36): a
  // change of the kernels' order of summation would move them, and the README with them
  const runaway = engine.createModel({ preset: 'recommended', schedule: 'linear', steps: 200 });
  try {
    runaway.train(200);
    refused(() => runaway.sample({ seed: 0 }), 'DIVERGED', new RegExp('^sampling diverged at t=23: the noise derived from the predicted x0 holds NaN ' +
      'or Inf, and x_23 had reached 3\\.46e\\+36: the chain ran away, .* or its predictions, fed back unclipped, drove it \\(clipping the ' +
      'predicted x0 to \\[-1, 1\\] keeps such a chain in range\\)$'));
  } finally { runaway.free(); }
  // the same when the network's x0 itself overflows on the way (one step at lr 0.5), and
  // clipped, the chain stays in range
  for (const clip_x0 of [0, 1]) {
    const wild = engine.createModel({ preset: 'recommended', steps: 1, lr: 0.5, clip_x0 });
    try {
      wild.train(1);
      if (clip_x0) assert.doesNotThrow(() => wild.sample({ seed: 0 }));
      else refused(() => wild.sample({ seed: 0 }), 'DIVERGED', /^sampling diverged at t=\d+: the predicted x0 holds NaN or Inf, and x_\d+ had reached \d\.\d+e\+3\d: the chain ran away/);
    } finally { wild.free(); }
  }
});

test('a gradient that overflows (finite loss) stops training before it reaches the weights or AdamW state', async () => {
  const engine = await simdEngine();
  // lr = 100: the loss grows (1e22) but stays finite, while the gradient passes 1.8e19, whose
  // square is Inf in AdamW's v (that parameter would never move again); lr = 1e6: the loss is
  // finite in double but not in float, and the next backward pass overflows to Inf/NaN.
  // batches 1 and 3 take the fused path (gradients as vectors), in one call or in pieces; batch 12,
  // more than max_batch = 8, the plain one (the whole gradient, summed over micro-batches)
  for (const [lr, batch, feed] of [[100, 1, 'steps'], [100, 3, 'slices'], [1e6, 1, 'slices'], [1e6, 3, 'steps'],
    [100, 12, 'steps'], [1e6, 12, 'slices']]) {
    {
      const model = engine.createModel({ ...SMALL, lr, weight_decay: 0, steps: 50, batch });
      try {
        let good = model.params(), goodAdam = model.adamState(), error;
        for (let k = 0; k < 50 && !error; k++) {
          try {
            if (feed === 'steps') model.train(1);
            else { const step = model.step; while (model.step === step) model.trainWork(1, 7); }
            good = model.params(); goodAdam = model.adamState();
          } catch (e) { error = e; }
        }
        const what = `lr ${lr}, batch ${batch}, ${feed}`;
        assert.ok(error, `${what}: training should diverge`);
        assert.equal(error.code, 'DIVERGED', what);
        assert.match(error.message, new RegExp(`diverged at step ${model.step + 1}: .*the weights of step ${model.step} are kept`), what);
        // one plain sentence: the loss, then the gradient (no two asides back to back)
        assert.match(error.message, /: the loss is (NaN|Inf|[\d.]+(e[+-]\d+)?)(, and the gradient (may pass 1e19, too large for AdamW|holds NaN or Inf))?; /, what);
        assert.ok(model.params().every(Number.isFinite), `${what}: the kept weights hold NaN/Inf`);
        assert.ok(sameBits(model.params(), good), `${what}: the weights changed after the failed step`);
        const adam = model.adamState();
        assert.ok(sameBits(adam.m, goodAdam.m) && sameBits(adam.v, goodAdam.v), `${what}: AdamW state changed`);
        assert.ok(adam.m.every(Number.isFinite) && adam.v.every(Number.isFinite), `${what}: AdamW state holds NaN/Inf`);
      } finally { model.free(); }
    }
  }
});

test('a model too big for wasm memory is refused with its true size (no 32-bit wrap-around)', async () => {
  const engine = await simdEngine();
  // image_size 64, hidden 8192: 281 M parameters, 1.1 GB per copy; weights, gradients, m, v
  // (and the EMA) are 4.5 GB and more, beyond wasm32's 4 GB address space
  const D = 64 * 64 * 3, H = 8192, E = 128, P = D * E + D + H * D + H + H * H + H + D * H + D;
  for (const ema_decay of [0, 0.9]) {
    let error;
    try { engine.createModel({ preset: 'paper', image_size: 64, hidden: H, ema_decay }).free(); } catch (e) { error = e; }
    assert.ok(error, 'a 4.5 GB model cannot be made in wasm32');
    assert.equal(error.code, 'MEMORY');
    const bytes = Number(/needs (\d+) bytes/.exec(error.message)?.[1]);
    assert.ok(bytes >= (ema_decay ? 5 : 4) * P * 4, `the message names ${bytes} bytes: ${error.message}`);
  }
});

test('arrays of the wrong length are refused by the wrapper, never read or written past their end', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 2 });
  try {
    const D = model.D, x = new Float32Array(D), x2 = new Float32Array(2 * D);
    const before = model.params();
    // denoise writes B * D floats: an x_t of one image with two timesteps must not overflow
    refused(() => model.denoise(x, [5, 5]), 'ARGUMENT', /denoise: xt must hold 2 x 48 = 96 floats \(got 48\)/);
    refused(() => model.denoise(x2, [5]), 'ARGUMENT', /xt must hold 1 x 48 = 48 floats \(got 96\)/);
    refused(() => model.lossAndGrad(x, [5, 5], x2), 'ARGUMENT', /lossAndGrad: xt must hold 2 x 48/);
    refused(() => model.lossAndGrad(x2, [5, 5], x), 'ARGUMENT', /lossAndGrad: target must hold 2 x 48/);
    refused(() => model.trainStepExplicit([5, 5], x), 'ARGUMENT', /trainStepExplicit: eps must hold 2 x 48/);
    refused(() => model.qSample(x.subarray(1), x, 3), 'ARGUMENT', /qSample: x0 must hold 48 floats \(got 47\)/);
    refused(() => model.qSample(x, x.subarray(1), 3), 'ARGUMENT', /qSample: eps must hold 48/);
    refused(() => model.qSample(x, x, 21), 'ARGUMENT', /qSample: t must be an integer in 0\.\.20 \(got 21\)/);
    refused(() => model.reverseStep(x, x.subarray(1), x, 3), 'ARGUMENT', /reverseStep: epsPred must hold 48/);
    refused(() => model.reverseStep(x, x, x, 21), 'ARGUMENT', /reverseStep: t must be an integer in 1\.\.20 \(got 21\)/);
    // a NaN or Inf input is named, not carried through to an output of NaN
    const nan = x.slice(); nan[7] = NaN;
    refused(() => model.denoise(nan, [5]), 'ARGUMENT', /denoise: xt\[7\] is NaN; the values must be finite/);
    refused(() => model.qSample(x, nan, 3), 'ARGUMENT', /qSample: eps\[7\] is NaN/);
    refused(() => model.reverseStep(x, x, nan, 3), 'ARGUMENT', /reverseStep: z\[7\] is NaN/);
    refused(() => model.lossAndGrad(x, [5], nan), 'ARGUMENT', /lossAndGrad: target\[7\] is NaN/);
    nan[7] = -Infinity;
    refused(() => model.trainStepExplicit([5], nan), 'ARGUMENT', /trainStepExplicit: eps\[7\] is -Infinity/);
    assert.ok(sameBits(model.params(), before));
    assert.equal(model.step, 0);
    // the right lengths still work
    assert.equal(model.denoise(x2, [5, 6]).length, 2 * D);
  } finally { model.free(); }
});

test('the wrapper refuses counts C would misread, keeps the numbers C read, and names a call on a freed model', async () => {
  const engine = await simdEngine();
  // values given as text are the numbers C parsed: T + 1 is 21, not '201'
  const model = engine.createModel({ ...SMALL, T: '20', steps: '2' });
  assert.equal(model.T, 20);
  assert.equal(model.schedule().alpha_bar.length, 21);
  assert.equal(model.config.steps, 2);
  refused(() => model.sampleBegin({ n: 2.7 }), 'ARGUMENT', /sample: n must be a whole number from 1 to 2147483647 \(got 2\.7\)/);
  refused(() => model.sampleBegin({ n: 0 }), 'ARGUMENT', /sample: n must be a whole number from 1 to 2147483647 \(got 0\)/);
  // C takes an int: 2^32 + 1 would reach it as 1, and the wrapper read back 2^32 + 1 images of the heap
  refused(() => model.sampleBegin({ n: 2 ** 32 + 1 }), 'ARGUMENT', /sample: n must be a whole number from 1 to 2147483647 \(got 4294967297\)/);
  refused(() => model.sampleContinue(NaN), 'ARGUMENT', /sampleContinue: maxSteps must be a whole number from 1 to 2147483647 \(got NaN\)/);
  // whole steps: NaN, Infinity, -5 or 1.7 would reach C as 0, 0, -5 or 1 and train a silent
  // nothing (or one step); 2^32 + 2 as 2
  for (const bad of [NaN, Infinity, -5, 1.7, 2 ** 32 + 2, undefined]) {
    refused(() => model.train(bad), 'ARGUMENT', new RegExp(`train: steps must be a whole number from 0 to 2147483647 \\(got ${bad}\\)`));
  }
  assert.equal(model.step, 0, 'no step taken by a refused count');
  // timesteps are ints in C too: 2^32 + 5 would be t = 5, and 1.9 would be t = 1
  const xt = new Float32Array(model.D);
  for (const t of [2 ** 32 + 5, 1.9, 0, 21]) {
    refused(() => model.denoise(xt, [t]), 'ARGUMENT', /denoise: t must be an integer in 1\.\.20/);
    refused(() => model.lossAndGrad(xt, [t], xt), 'ARGUMENT', /lossAndGrad: t must be an integer in 1\.\.20/);
    refused(() => model.trainStepExplicit([t], xt), 'ARGUMENT', /trainStepExplicit: t must be an integer in 1\.\.20/);
  }
  assert.equal(model.step, 0);
  // a file's bytes as an ArrayBuffer (what File.arrayBuffer() gives) are read, not taken as 0 bytes
  const saved = model.saveCheckpoint();
  model.loadCheckpoint(saved.buffer.slice(saved.byteOffset, saved.byteOffset + saved.byteLength));
  refused(() => model.loadCheckpoint('DDPMCKPT'), 'ARGUMENT', /loadCheckpoint: the file's bytes must be a Uint8Array or an ArrayBuffer \(got \[object String\]\)/);
  refused(() => engine.embedding(3, 7), 'ARGUMENT', /embedding: dim must be an even whole number from 2 to 65536 \(got 7\)/);
  // (C takes dim as an int, and its buffer's size wrapped at 2^32: 2^32 + 8 gave 8 floats written
  // and 16 million read back from the heap; a review)
  refused(() => engine.embedding(3, 2 ** 32 + 8), 'ARGUMENT', /dim must be an even whole number from 2 to 65536 \(got 4294967304\)/);
  refused(() => engine.alloc(2 ** 32 + 8), 'MEMORY', /out of wasm memory allocating 4294967304 bytes/);
  refused(() => engine.alloc(1.5), 'ARGUMENT', /alloc: bytes must be a whole number >= 0 \(got 1\.5\)/);
  refused(() => engine.embedding(-1, 8), 'ARGUMENT', /embedding: t must be a whole number from 0 to 2147483647 \(got -1\)/);
  refused(() => engine.embedding(2 ** 32 + 5, 8), 'ARGUMENT', /embedding: t must be a whole number from 0 to 2147483647 \(got 4294967301\)/);
  refused(() => engine.normals(-3), 'ARGUMENT', /normals: n must be a whole number >= 0 \(got -3\)/);
  refused(() => engine.normals(2.5), 'ARGUMENT', /normals: n must be a whole number >= 0 \(got 2\.5\)/);
  const x = model.sample({ n: 2, trajectory: false }).final;
  assert.equal(x.length, 2 * model.D);
  // a buffer that cannot be made frees the ones made before it: the next small one reuses them
  const first = engine.alloc(16);
  engine.free(first);
  refused(() => engine.withBuffers([16, 2 ** 31], () => {}), 'MEMORY', /out of wasm memory allocating 2147483648 bytes/);
  const again = engine.alloc(16);
  engine.free(again);
  assert.equal(again, first, 'the 16-byte buffer was freed');
  model.free();
  assert.ok(model.freed);
  refused(() => model.train(1), 'ARGUMENT', /model: used after free\(\)/);
  refused(() => model.params(), 'ARGUMENT', /model: used after free\(\)/);
  model.free();  // twice: nothing happens
});

test('a network output of Inf is reported even when x0 clipping keeps the chain finite', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 0, activation: 'relu' });
  try {
    // h2 >= 1 (relu of fc2 with biases 1 and weights 0), fc3 with positive weights x 1e37 and
    // biases 3.4e38: every output overflows to +Inf (no NaN: every term is >= 0). Then
    // x0 = (x_t - c Inf) / s = -Inf, which clipping turns into a tidy -1.
    const p = model.params(), t = model.tensors(p);  // the tensors are views into p
    t.fc2_w.fill(0); t.fc2_b.fill(1);
    t.fc3_w.forEach((v, i) => { t.fc3_w[i] = Math.abs(v) * 1e37; });
    t.fc3_b.fill(3.4e38);
    model.setParams(p);
    assert.ok(model.denoise(new Float32Array(model.D), [5]).every((v) => v === Infinity));
    for (const clip of [false, true]) {
      refused(() => model.sample({ seed: 1, clip }), 'DIVERGED', /sampling diverged at t=20: .*NaN or Inf/);
    }
  } finally { model.free(); }
});

test('a sampling seed outside 0..2^32-1 or not an integer is refused, not wrapped onto another seed', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 0 });
  try {
    for (const seed of [-1, 2 ** 32, 1.5, NaN, '7']) {
      refused(() => model.sample({ seed }), 'ARGUMENT', /sample: seed must be an integer in 0\.\.4294967295/);
    }
    refused(() => engine.normals(4, -1), 'ARGUMENT', /normals: seed must be an integer in 0\.\.2\^53/);
    assert.equal(model.sample({ seed: 2 ** 32 - 1, trajectory: false }).final.length, model.D);
  } finally { model.free(); }
});

test('trainWork refuses counts C would misread (Infinity reached it as 0, 2^32 + 5 as 5)', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 2 });
  try {
    for (const [args, name] of [[[Infinity], 'maxSamples'], [[NaN], 'maxSamples'], [[0], 'maxSamples'], [[2 ** 32 + 5], 'maxSamples'],
      [[1, Infinity], 'maxParams'], [[1, 0.5], 'maxParams'], [[1, -3], 'maxParams']]) {
      refused(() => model.trainWork(...args), 'ARGUMENT', new RegExp(`trainWork: ${name} must be a whole number from 1 to 2147483647`));
    }
    assert.equal(model.step, 0, 'nothing was trained');
    assert.ok(model.trainWork(1, 2 ** 31 - 1) >= 1, 'the largest count works');
  } finally { model.free(); }
});

test('a sampler choice other than the named ones is refused, not read as one of them', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 0 });
  try {
    const x = new Float32Array(model.D), z = engine.normals(model.D, 3);
    // 'beta_tilde' (a typo) used to sample with beta_t and take a reverse step with beta_tilde_t
    for (const sigma of ['beta_tilde', 'BETA', '', 1]) {
      refused(() => model.sample({ sigma }), 'ARGUMENT', /sample: sigma must be 'beta' or 'beta-tilde'/);
      refused(() => model.reverseStep(x, x, z, 5, { sigma }), 'ARGUMENT', /reverseStep: sigma must be 'beta' or 'beta-tilde'/);
    }
    for (const clip of ['false', 1, 'yes']) {
      refused(() => model.sample({ clip }), 'ARGUMENT', /sample: clip must be true or false/);
      refused(() => model.reverseStep(x, x, z, 5, { clip }), 'ARGUMENT', /reverseStep: clip must be true or false/);
    }
    // the named ones: a whole chain and one step agree on what beta-tilde means
    for (const sigma of ['beta', 'beta-tilde']) {
      const a = model.reverseStep(x, x, z, 5, { sigma }).xPrev, b = model.reverseStep(x, x, z, 5, { sigma, clip: false }).xPrev;
      assert.ok(sameBits(a, b));
    }
    assert.ok(!sameBits(model.reverseStep(x, x, z, 5, { sigma: 'beta' }).xPrev, model.reverseStep(x, x, z, 5, { sigma: 'beta-tilde' }).xPrev));
    assert.equal(model.sample({ sigma: 'beta-tilde', clip: true, trajectory: false }).final.length, model.D);
  } finally { model.free(); }
});

test('the module itself refuses a t, sigma, clip or tensor index outside its tables (not only the wrapper)', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 0 });
  try {
    const T = model.T, mod = model.mod;
    // null buffers: a refused call returns before it touches memory
    for (const t of [-1, T + 1]) assert.notEqual(mod._w_q_sample(model.ptr, 0, 0, 0, t), 0, `q_sample t=${t}`);
    for (const t of [0, T + 1]) assert.notEqual(mod._w_reverse_step(model.ptr, 0, 0, 0, 0, 0, t, 0, 0), 0, `reverse_step t=${t}`);
    assert.match(engine.lastError(), new RegExp(`reverse_step: t must be in 1..${T} \\(got ${T + 1}\\)`));
    // any sigma but 0 used to mean beta_tilde, and any clip but 0 to clip
    assert.notEqual(mod._w_reverse_step(model.ptr, 0, 0, 0, 0, 0, 1, 2, 0), 0, 'reverse_step sigma=2');
    assert.match(engine.lastError(), /reverse_step: unknown sigma 2/);
    assert.notEqual(mod._w_reverse_step(model.ptr, 0, 0, 0, 0, 0, 1, 0, 2), 0, 'reverse_step clip=2');
    assert.match(engine.lastError(), /reverse_step: clip must be 0 or 1 \(got 2\)/);
    assert.equal(mod._w_tensor_size(model.ptr, -1), -1);
    assert.equal(mod._w_tensor_size(model.ptr, 99), -1);
  } finally { model.free(); }
});
