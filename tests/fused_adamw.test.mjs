// Batch 1 fuses each weight gradient (an outer product dout inp^T) into AdamW instead of writing
// it to a gradient buffer (c/train.c, adamw_update_outer in c/kernels.c). It must give the bits of
// the plain path: checked kernel by kernel, over whole training runs (SIMD and scalar), over any
// split of a step into slices, and with sampling run between the two phases of a step.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine as simd, scalarEngine as scalar, sameBits } from './lib/engine.mjs';
import { lcg, randomArray } from './lib/reference.mjs';

const SMALL = { preset: 'paper', image_size: 4, hidden: 16, temb_dim: 8, T: 20, max_batch: 4 };
const random = (n, seed, scale = 1) => randomArray(n, lcg(seed), scale);

// a training run: its losses, weights and AdamW state
function run(engine, config, { unfused = false, train } = {}) {
  engine.mod._w_force_unfused(unfused ? 1 : 0);
  const model = engine.createModel(config);
  try {
    train(model);
    return { loss: model.lossHistory(), params: model.params(), ...model.adamState() };
  } finally {
    model.free();
    engine.mod._w_force_unfused(0);
  }
}

function assertSameRun(a, b, what) {
  for (const k of ['loss', 'params', 'm', 'v']) assert.ok(sameBits(a[k], b[k]), `${what}: ${k} differs`);
}

test('adamw_update_outer == matmul_backward into a zeroed dW, then adamw_update (SIMD and scalar twin)', async () => {
  const e = await simd();
  for (const force of [false, true]) {
    e.forceScalar(force);
    try {
      const C = 36, OC = 7, n = C * OC;
      const p = random(n, 1), m = random(n, 2, 1e-3), v = Float32Array.from(random(n, 3, 1e-4), Math.abs);
      const dout = random(OC, 4, 1e-2), inp = random(C, 5);
      // include the awkward values: a zero and a negative zero in the gradient's factors
      dout[2] = 0; inp[5] = -0;
      const hyper = [1e-3, 0.9, 0.999, 1e-8, 0.01, 0.271, 0.0095];
      // plain: dW = 0 + dout inp^T through matmul_backward, then AdamW over all of it
      const [dW] = e.kernel('matmul_backward', [new Float32Array(C), new Float32Array(n), new Float32Array(OC), dout, inp,
        new Float32Array(n)], [1, C, OC], [1]);
      const plain = e.kernel('adamw_update', [p, dW, m, v], [n, ...hyper], [0, 2, 3]);
      // fused, in three slices that cut rows in the middle
      const fused = [p, m, v].map((a) => a.slice());
      for (const [lo, hi] of [[0, 20], [20, 104], [104, n]]) {
        const out = e.kernel('adamw_update_outer', [fused[0], fused[1], fused[2], dout, inp], [C, lo, hi, ...hyper], [0, 1, 2]);
        out.forEach((a, i) => fused[i].set(a));
      }
      plain.forEach((a, i) => assert.ok(sameBits(a, fused[i]), `${force ? 'scalar' : 'SIMD'}: output ${i} differs`));
    } finally { e.forceScalar(false); }
  }
});

test('batch-1 training: fused == unfused, bit for bit, in the SIMD and the scalar module', async () => {
  for (const engine of [await simd(), await scalar()]) {
    for (const config of [{ ...SMALL, steps: 8, seed: 3 }, { ...SMALL, steps: 8, seed: 4, ema_decay: 0.9, activation: 'relu' },
      { ...SMALL, steps: 6, seed: 5, lr_schedule: 'cosine', predict: 'x0' }]) {
      const train = (model) => model.train(config.steps);
      assertSameRun(run(engine, config, { train }), run(engine, config, { unfused: true, train }), `seed ${config.seed}`);
    }
  }
});

test('batch-1 training at the paper\'s size: fused == unfused', async () => {
  const config = { preset: 'paper', steps: 3, seed: 1, max_batch: 1 };
  const train = (model) => model.train(3);
  assertSameRun(run(await simd(), config, { train }), run(await simd(), config, { unfused: true, train }), 'paper size');
});

test('fused steps split into any slices, with sampling between the phases, give the bits of whole steps', async () => {
  const e = await simd();
  const config = { ...SMALL, steps: 5, seed: 6 };
  const whole = run(e, config, { train: (model) => model.train(5) });
  for (const slice of [4, 12, 100, 1000]) {
    const sliced = run(e, config, {
      train: (model) => {
        while (!model.done) {
          const step = model.step;
          model.trainWork(1, slice);                     // the gradient phase
          model.sample({ n: 2, seed: step, trajectory: false }); // overwrites every activation
          while (model.step === step) model.trainWork(1, slice);  // the update, in slices
        }
      },
    });
    assertSameRun(whole, sliced, `slices of ${slice}`);
  }
});
