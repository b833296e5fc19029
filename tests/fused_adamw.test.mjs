// A batch that fits one micro-batch fuses each weight gradient (dout^T inp over its samples; an
// outer product at batch 1) into AdamW instead of writing it to a gradient buffer (c/optimizer.c,
// adamw_update_outer in c/kernels.c). It must give the bits of the plain path: checked kernel by
// kernel, over whole training runs (SIMD and scalar), over any split of a step into slices, and
// with sampling run between the two phases of a step.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine as simd, scalarEngine as scalar, sameBits, trainRun, assertSameRun } from './lib/engine.mjs';
import { lcg, randomArray } from './lib/reference.mjs';

const SMALL = { preset: 'paper', image_size: 4, hidden: 16, temb_dim: 8, T: 20, max_batch: 4 };
const random = (n, seed, scale = 1) => randomArray(n, lcg(seed), scale);

// (B, n) rows copied ld floats apart, the gaps filled with garbage the kernel must not read
function padded(a, B, n, ld) {
  const out = new Float32Array(B * ld).fill(NaN);
  for (let b = 0; b < B; b++) out.set(a.subarray(b * n, (b + 1) * n), b * ld);
  return out;
}

// B samples, C x OC weights, and the slices [lo, hi) to update in: cuts inside rows, whole
// 4-row blocks, the C % 8 = 4 columns the 4x8 tiles leave, and fewer than 4 rows left at the end
const OUTER_CASES = [
  [1, 36, 7, [[0, 20], [20, 104], [104, 252]]],
  [2, 16, 5, [[0, 80]]],
  [3, 12, 9, [[0, 4], [4, 108]]],
  [4, 36, 9, [[0, 324]]],
  [5, 40, 11, [[0, 36], [36, 200], [200, 440]]],
  [16, 64, 10, [[0, 640]]],
  [16, 68, 13, [[0, 68], [68, 340], [340, 344], [344, 884]]],
  [7, 128, 6, [[0, 256], [256, 768]]],
];

test('adamw_update_outer == matmul_backward into a zeroed dW, then adamw_update (SIMD and scalar twin)', async () => {
  const e = await simd();
  for (const force of [false, true]) {
    e.forceScalar(force);
    try {
      for (const [B, C, OC, slices] of OUTER_CASES) {
        const n = C * OC, what = `${force ? 'scalar' : 'SIMD'} B=${B} C=${C} OC=${OC}`;
        assert.equal(slices.at(-1)[1], n);
        const p = random(n, 1), m = random(n, 2, 1e-3), v = Float32Array.from(random(n, 3, 1e-4), Math.abs);
        const dout = random(B * OC, 4 + B, 1e-2), inp = random(B * C, 5 + B);
        // include the awkward values: a zero and a negative zero in the gradient's factors
        dout[2] = 0; inp[5] = -0;
        const hyper = [1e-3, 0.9, 0.999, 1e-8, 0.01, 0.271, 0.0095];
        // plain: dW = 0 + sum_b dout_b inp_b^T through matmul_backward, then AdamW over all of it
        const [dW] = e.kernel('matmul_backward', [new Float32Array(B * C), new Float32Array(n), new Float32Array(OC), dout, inp,
          new Float32Array(n)], [B, C, OC], [1]);
        const plain = e.kernel('adamw_update', [p, dW, m, v], [n, ...hyper], [0, 2, 3]);
        // fused, from rows padded as c/optimizer.c pads them (wgrad_layer), in slices
        const ldd = OC + 16, ldx = C + 16, dp = padded(dout, B, OC, ldd), xp = padded(inp, B, C, ldx);
        const fused = [p, m, v].map((a) => a.slice());
        for (const [lo, hi] of slices) {
          const out = e.kernel('adamw_update_outer', [fused[0], fused[1], fused[2], dp, xp], [ldd, ldx, B, C, lo, hi, ...hyper], [0, 1, 2]);
          out.forEach((a, i) => fused[i].set(a));
        }
        plain.forEach((a, i) => assert.ok(sameBits(a, fused[i]), `${what}: output ${i} differs`));
      }
    } finally { e.forceScalar(false); }
  }
});

test('batch-1 training: fused == unfused, bit for bit, in the SIMD and the scalar module', async () => {
  for (const engine of [await simd(), await scalar()]) {
    for (const config of [{ ...SMALL, steps: 8, seed: 3 }, { ...SMALL, steps: 8, seed: 4, ema_decay: 0.9, activation: 'relu' },
      { ...SMALL, steps: 6, seed: 5, lr_schedule: 'cosine', predict: 'x0' }]) {
      const train = (model) => model.train(config.steps);
      assertSameRun(trainRun(engine, config, train), trainRun(engine, config, train, { plain: true }), `seed ${config.seed}`);
    }
  }
});

test('batches of 2..4 (one micro-batch): fused == unfused, whether a batch comes in one call or in pieces', async () => {
  for (const engine of [await simd(), await scalar()]) {
    for (const config of [{ ...SMALL, steps: 6, seed: 7, batch: 4 }, { ...SMALL, steps: 6, seed: 8, batch: 3, ema_decay: 0.9 },
      { ...SMALL, steps: 5, seed: 9, batch: 2, activation: 'relu', predict: 'x0' }]) {
      const train = (model) => model.train(config.steps);
      const fused = trainRun(engine, config, train);
      assertSameRun(fused, trainRun(engine, config, train, { plain: true }), `batch ${config.batch}`);
      // the same batch fed one sample per call (as the page feeds a batch that does not fit a
      // frame), each piece's vectors kept for AdamW, then in the plain order: the same bits again
      const perSample = (model) => { while (!model.done) model.trainWork(1, 1 << 30); };
      assertSameRun(fused, trainRun(engine, config, perSample), `batch ${config.batch}, one sample per call`);
      assertSameRun(fused, trainRun(engine, config, perSample, { plain: true }), `batch ${config.batch}, one sample per call, plain`);
    }
  }
});

test('a batch fed in pieces is fused too: no weight gradient is written, and sampling between pieces changes nothing', async () => {
  const e = await simd();
  const config = { ...SMALL, steps: 4, seed: 11, batch: 4 };
  // the weight tensors' part of the gradient buffer (tensors 0, 2, 4, 6; biases between them)
  const shape = [[8 * 48, 48], [48 * 16, 16], [16 * 16, 16], [16 * 48, 48]];
  const weightGrads = (model) => {
    const g = model.grads(), out = [];
    let at = 0;
    for (const [w, b] of shape) { out.push(...g.subarray(at, at + w)); at += w + b; }
    assert.equal(at, model.numParams);
    return out;
  };
  for (const plain of [false, true]) {
    e.forceUnfused(plain);
    const model = e.createModel(config);
    try {
      while (!model.updating) model.trainWork(1, 1 << 30);
      const nonzero = weightGrads(model).filter((x) => x !== 0).length;
      if (plain) assert.ok(nonzero > 100, `the plain order sums dW in the gradient buffer (${nonzero} nonzero)`);
      else assert.equal(nonzero, 0, 'fused: AdamW forms the weight gradients; the buffer is never written');
    } finally {
      model.free();
      e.forceUnfused(false);
    }
  }
  const whole = trainRun(e, config, (model) => model.train(config.steps));
  const interleaved = trainRun(e, config, (model) => {
    while (!model.done) {
      const step = model.step;
      while (!model.updating) {
        model.trainWork(model.batchFilled ? 1 : 2, 1 << 30);       // pieces of 2, 1, then 1
        model.sample({ n: 3, seed: step, trajectory: false });      // overwrites every activation
      }
      model.trainWork(1, 1 << 30);
    }
  });
  assertSameRun(whole, interleaved, 'batch 4 in pieces with samples between them');
});

test('the paper\'s size, batch 1 and batch 16: fused == unfused', async () => {
  for (const config of [{ preset: 'paper', steps: 3, seed: 1, max_batch: 1 }, { preset: 'paper', steps: 2, seed: 2, batch: 16, max_batch: 16 }]) {
    const train = (model) => model.train(config.steps);
    assertSameRun(trainRun(await simd(), config, train), trainRun(await simd(), config, train, { plain: true }), `paper size, batch ${config.batch ?? 1}`);
  }
});

test('fused steps split into any slices, with sampling between the phases, give the bits of whole steps', async () => {
  const e = await simd();
  for (const config of [{ ...SMALL, steps: 5, seed: 6 }, { ...SMALL, steps: 4, seed: 10, batch: 4 }]) {
    const whole = trainRun(e, config, (model) => model.train(config.steps));
    for (const slice of [4, 12, 100, 1000]) {
      const sliced = trainRun(e, config, (model) => {
        while (!model.done) {
          const step = model.step;
          model.trainWork(config.batch ?? 1, slice);     // the gradient phase, the whole batch
          model.sample({ n: 2, seed: step, trajectory: false }); // overwrites every activation
          while (model.step === step) model.trainWork(1, slice);  // the update, in slices
        }
      });
      assertSameRun(whole, sliced, `batch ${config.batch ?? 1}, slices of ${slice}`);
    }
  }
});
