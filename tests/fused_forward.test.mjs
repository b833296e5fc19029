// A training step's update also computes the next step's forward pass, row by row as it writes
// the weights (c/train.c, "The next step's forward"; at batch 1 inside adamw_update_outer). The
// next step then starts at its loss. It must give the bits of the plain order (forward at the
// start of each step) however the update is sliced, and it must be dropped whenever something
// it was computed from changes: a sample overwriting the activations (between steps or between
// slices of an update), new weights, a new training image, a loaded checkpoint.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine as simd, scalarEngine as scalar, sameBits, trainRun, assertSameRun } from './lib/engine.mjs';
import { lcg, randomArray } from './lib/reference.mjs';

const SMALL = { preset: 'paper', image_size: 4, hidden: 16, temb_dim: 8, T: 20, max_batch: 4 };

const random = (n, seed, scale = 1) => randomArray(n, lcg(seed), scale);

test('AdamW at batch 1 with the next input: each whole row\'s dot, as matmul_forward sums it (SIMD and scalar)', async () => {
  const e = await simd();
  const hyper = [1e-3, 0.9, 0.999, 1e-8, 0.01, 0.271, 0.0095];
  for (const force of [false, true]) {
    e.forceScalar(force);
    try {
      // slices that cut rows, whole rows, and one call over everything
      for (const [C, OC, slices] of [[36, 7, [[0, 20], [20, 104], [104, 252]]], [16, 9, [[0, 4], [4, 36], [36, 144]]], [128, 5, [[0, 640]]]]) {
        const n = C * OC, what = `${force ? 'scalar' : 'SIMD'} C=${C} OC=${OC}`;
        const p = random(n, 1), m = random(n, 2, 1e-3), v = Float32Array.from(random(n, 3, 1e-4), Math.abs);
        const dout = random(OC, 4, 1e-2), inp = random(C, 5), next = random(C, 6);
        const plain = e.kernel('adamw_update_outer', [p, m, v, dout, inp], [1, C, 1, C, 0, n, ...hyper], [0, 1, 2]);
        const state = [p, m, v].map((a) => a.slice());
        const dots = new Float32Array(OC).fill(NaN);  // rows no slice holds whole must stay untouched
        for (const [lo, hi] of slices) {
          const out = e.kernel('adamw_update_outer_next', [...state, dout, inp, next, dots], [C, lo, hi, ...hyper], [0, 1, 2, 6]);
          out.slice(0, 3).forEach((a, i) => state[i].set(a));
          dots.set(out[3]);
        }
        plain.forEach((a, i) => assert.ok(sameBits(a, state[i]), `${what}: the update itself differs (output ${i})`));
        // the updated rows times next through the forward kernel (bias 0: no dot here is exactly 0)
        const [want] = e.kernel('matmul_forward', [new Float32Array(OC), next, plain[0], new Float32Array(OC)], [1, C, OC], [0]);
        for (let o = 0; o < OC; o++) {
          const whole = slices.some(([lo, hi]) => lo <= o * C && (o + 1) * C <= hi);
          if (whole) assert.ok(sameBits(dots.subarray(o, o + 1), want.subarray(o, o + 1)), `${what}: row ${o}`);
          else assert.ok(Number.isNaN(dots[o]), `${what}: row ${o} is cut by a slice and must be left alone`);
        }
      }
    } finally { e.forceScalar(false); }
  }
});

// one step: the batch in one call, then the update in slices of `slice` parameters, with
// `between` called after each slice
function step(model, batch, slice, between = () => {}) {
  const start = model.step;
  model.trainWork(batch, slice);
  while (model.step === start) { model.trainWork(1, slice); between(); }
}

test('the forward computed during the update is used, and dropped by whatever changes its inputs', async () => {
  const e = await simd();
  const model = e.createModel({ ...SMALL, steps: 10, seed: 1 });
  try {
    assert.equal(model.nextForwardReady, false, 'nothing computed before the first step');
    model.train(1);
    assert.equal(model.nextForwardReady, true, 'after a step');
    model.sample({ n: 1, seed: 1, trajectory: false });
    assert.equal(model.nextForwardReady, false, 'a sample overwrote the activations');
    model.train(1);
    assert.equal(model.nextForwardReady, true);
    model.setParams(model.params());
    assert.equal(model.nextForwardReady, false, 'weights written from outside');
    model.train(1);
    model.setImage(model.image());
    assert.equal(model.nextForwardReady, false, 'a new training image');
    model.train(1);
    model.loadCheckpoint(model.saveCheckpoint());
    assert.equal(model.nextForwardReady, false, 'a loaded checkpoint');
    model.train(5);
    assert.equal(model.step, 9);
    assert.equal(model.nextForwardReady, true);
    model.train(1);
    assert.equal(model.nextForwardReady, false, 'no step after the last');
  } finally {
    model.free();
  }
  e.forceUnfused(true);
  const plain = e.createModel({ ...SMALL, steps: 10, seed: 1 });
  try {
    plain.train(1);
    assert.equal(plain.nextForwardReady, false, 'the plain order computes nothing ahead');
  } finally {
    plain.free();
    e.forceUnfused(false);
  }
  const four = e.createModel({ ...SMALL, steps: 10, seed: 1, batch: 4 });
  try {
    four.train(1);
    assert.equal(four.nextForwardReady, true, 'batch 4 in one call');
    e.forceUnfused(true);
    assert.equal(four.nextForwardReady, false, 'the plain order asked for after the update: recomputed');
    e.forceUnfused(false);
    // a batch fed in pieces (as the page feeds one that does not fit a frame): nothing computed
    // ahead for a first piece to throw away
    while (four.step < 2) four.trainWork(2, four.numParams);
    assert.equal(four.nextForwardReady, false, 'a step fed 2 samples at a time');
  } finally {
    four.free();
    e.forceUnfused(false);
  }
});

test('fused forward == plain order, bit for bit, with the update in any slices (SIMD and scalar)', async () => {
  for (const engine of [await simd(), await scalar()]) {
    // batch 1 (dots in the AdamW kernel; slices of 4 and 12 cut rows of 8, 16 and 48 floats),
    // batch 3 and 4 (dots by blocks of rows)
    for (const config of [{ ...SMALL, steps: 5, seed: 2 }, { ...SMALL, steps: 4, seed: 3, batch: 3, activation: 'relu' },
      { ...SMALL, steps: 4, seed: 4, batch: 4, predict: 'x0', ema_decay: 0.9 }]) {
      const batch = config.batch ?? 1;
      const plain = trainRun(engine, config, (m) => m.train(config.steps), { plain: true });
      for (const slice of [4, 12, 100, 1 << 30]) {
        const fused = trainRun(engine, config, (m) => { while (!m.done) step(m, batch, slice); });
        assertSameRun(fused, plain, `${engine.simd ? 'SIMD' : 'scalar'} batch ${batch}, slices of ${slice}`);
      }
    }
  }
});

test('sampling between steps: the forward is recomputed, same bits; inside an update it is refused, and changes nothing', async () => {
  const e = await simd();
  for (const config of [{ ...SMALL, steps: 4, seed: 5 }, { ...SMALL, steps: 4, seed: 6, batch: 4 }]) {
    const batch = config.batch ?? 1;
    const plain = trainRun(e, config, (m) => m.train(config.steps), { plain: true });
    let k = 0, sampled = 0, refused = 0;
    const midUpdate = trainRun(e, config, (m) => {
      // a sample tried every 5th slice of each update, refused while the weights are half
      // updated, and after its last slice, drawn (it overwrites every activation)
      while (!m.done) {
        step(m, batch, 12, () => {
          if (++k % 5 !== 0 && m.updating) return;
          if (m.weightsHalfUpdated) {
            assert.throws(() => m.sample({ n: 2, seed: k, trajectory: false }), /sample: the weight update of step \d+ is half done/);
            refused++;
          } else {
            m.sample({ n: 2, seed: k, trajectory: false });
            sampled++;
          }
        });
      }
    });
    assert.ok(refused > 0 && sampled > 0, `${refused} refused, ${sampled} drawn`);
    assertSameRun(midUpdate, plain, `batch ${batch}, samples tried inside updates`);
    const betweenSteps = trainRun(e, config, (m) => {
      while (!m.done) { m.train(1); m.denoise(new Float32Array(m.D), [3]); }
    });
    assertSameRun(betweenSteps, plain, `batch ${batch}, a denoiser call between steps`);
  }
});

test('new weights, a new image or a loaded checkpoint between steps: the same bits as the plain order', async () => {
  const e = await simd();
  const config = { ...SMALL, steps: 6, seed: 7 };
  const other = randomArray(48, lcg(8), 0.9);
  // the same script on both paths, the weights and losses kept after every step (a checkpoint
  // loaded at the end rewinds the model): the fused path must drop its forward at each change
  const script = (m) => {
    const after = [];
    const train = (n) => { m.train(n); after.push(m.params(), m.lossHistory()); };
    train(1);
    const saved = m.saveCheckpoint();
    train(1);
    m.setParams(m.params().map((x) => x * 0.5));
    train(1);
    m.setImage(other);
    train(1);
    m.loadCheckpoint(saved);  // back to step 1
    train(2);
    return after;
  };
  const fused = [], plain = [];
  trainRun(e, config, (m) => fused.push(...script(m)));
  trainRun(e, config, (m) => plain.push(...script(m)), { plain: true });
  assert.equal(fused.length, plain.length);
  fused.forEach((a, i) => assert.ok(sameBits(a, plain[i]), `snapshot ${i >> 1} (${i % 2 ? 'losses' : 'weights'}) differs`));
});
