// Checkpoints: round trip, exact resumption, and refusal of bad files with the model untouched.
import test from 'node:test';
import assert from 'node:assert/strict';
import { simdEngine, sameBits, SMALL } from './lib/engine.mjs';
import { checkpointHeader, DEFAULTS } from '../web/ddpm.mjs';
import { crc32, reseal, pcg32 } from './lib/reference.mjs';

// the bytes before the arrays in the files this build writes (version 2: version 1's 80, then
// the run settings)
const HEADER = 160;

test('save then load restores weights, AdamW state and step; a resumed run matches an uninterrupted one', async () => {
  const engine = await simdEngine();
  const options = { ...SMALL, steps: 6, batch: 2, ema_decay: 0.9, seed: 8 };
  const straight = engine.createModel(options), first = engine.createModel(options), resumed = engine.createModel(options);
  try {
    straight.train(6);
    first.train(3);
    const bytes = first.saveCheckpoint();
    const header = checkpointHeader(bytes);
    assert.equal(header.step, 3);
    assert.equal(header.hidden, 16);
    assert.equal(header.flags, 7); // AdamW state, EMA and the training history present
    assert.deepEqual([header.hasAdam, header.hasEma, header.hasHistory], [true, true, true]);
    // the layout of README "Checkpoint format": 160-byte header (version 2), 4 arrays, the history (AdamW
    // updates, then 3 losses), 4-byte CRC
    assert.equal(bytes.length, HEADER + 4 * first.numParams * 4 + 4 + 3 * 4 + 4);
    const stored = new DataView(bytes.buffer).getUint32(bytes.length - 4, true);
    assert.equal(stored, crc32(bytes.subarray(0, bytes.length - 4)));
    resumed.loadCheckpoint(bytes);
    assert.equal(resumed.step, 3);
    assert.ok(sameBits(resumed.params(), first.params()));
    assert.ok(sameBits(resumed.emaParams(), first.emaParams()));
    resumed.train(3);
    assert.ok(sameBits(resumed.params(), straight.params()), 'resumed weights differ from the uninterrupted run');
    // the whole loss curve, the 3 steps before the file included
    assert.ok(sameBits(resumed.lossHistory(), straight.lossHistory()));
    // weights only: loads, with fresh AdamW moments
    const light = first.saveCheckpoint({ optimizer: false });
    assert.equal(light.length, HEADER + 2 * first.numParams * 4 + 4 + 3 * 4 + 4);
    resumed.loadCheckpoint(light);
    assert.ok(sameBits(resumed.params(), first.params()));
    assert.ok(resumed.adamState().m.every((x) => x === 0));
    // the page's Save: the same files as a Blob, made from wasm memory, whose buffer is freed and
    // written again (by the second, then by a model trained on) before the Blobs are read
    const blobs = [true, false].map((optimizer) => first.saveCheckpointBlob({ optimizer }));
    first.train(1);
    first.saveCheckpoint();
    assert.ok(Buffer.from(await blobs[0].arrayBuffer()).equals(Buffer.from(bytes)), 'with the AdamW state');
    assert.ok(Buffer.from(await blobs[1].arrayBuffer()).equals(Buffer.from(light)), 'the weights alone');
  } finally { straight.free(); first.free(); resumed.free(); }
});

test('corrupt, truncated, foreign, mismatched and NaN-holding files are refused by name; the model is untouched', async () => {
  const engine = await simdEngine();
  const source = engine.createModel({ ...SMALL, steps: 2, seed: 1 });
  const target = engine.createModel({ ...SMALL, steps: 2, seed: 2 });
  const other = engine.createModel({ ...SMALL, hidden: 20, steps: 2 });
  try {
    source.train(1);
    const good = source.saveCheckpoint();
    const flipped = good.slice(); flipped[200] ^= 0x10;
    // one damaged header byte (temb_dim) is damage, not a file for another model
    const headerFlipped = good.slice(); headerFlipped[20] ^= 0x01;
    const badMagic = good.slice(); badMagic[0] = 0x58;
    const badVersion = reseal((() => { const b = good.slice(); b[8] = 9; return b; })());
    const nanWeights = reseal((() => { const b = good.slice(); new DataView(b.buffer).setFloat32(HEADER + 4 * 10, NaN, true); return b; })());
    // a damaged step or flags field makes the header imply another length: both are named, as
    // the length alone would blame a cut (step 1 -> 0: 4 bytes of history fewer; the EMA bit:
    // one array more); a damaged unknown flag is damage, and only a sealed one is unknown
    const stepFlipped = good.slice(); stepFlipped[60] ^= 0x01;
    const emaFlipped = good.slice(); emaFlipped[56] ^= 0x02;
    const unknownFlipped = good.slice(); unknownFlipped[56] ^= 0x08;
    const unknownSealed = reseal(unknownFlipped.slice());
    const withStep = (step) => reseal((() => { const b = good.slice(); new DataView(b.buffer).setUint32(60, step, true); return b; })());
    const tooManySteps = withStep(99);
    // a NaN at either end of the arrays (the check's bounds): the first weight, the last value of v
    const P = source.numParams, nanAt = (i) => reseal((() => { const b = good.slice(); new DataView(b.buffer).setFloat32(HEADER + 4 * i, NaN, true); return b; })());
    const evenIncrement = reseal((() => { const b = good.slice(); new DataView(b.buffer).setBigUint64(72, 6n, true); return b; })());
    const cases = [
      [flipped, /corrupt: checksum/],
      [headerFlipped, /corrupt: checksum/],
      [good.subarray(0, good.length - 100), /truncated/],
      [good.subarray(0, 40), /truncated/],
      [new Uint8Array([...good, 0]), /trailing data/],
      [stepFlipped, /trailing data: \d+ bytes where its header implies \d+, and the checksum does not match \(the file was extended, or its header is damaged\)/],
      [emaFlipped, /truncated: \d+ bytes where its header implies \d+, and the checksum does not match \(the file was cut short, or its header is damaged\)/],
      [unknownFlipped, /corrupt: checksum/],
      [unknownSealed, /unknown flags 0xd/],
      [badMagic, /not a DDPM checkpoint \(its first 8 bytes are not the marker DDPMCKPT\)/],
      [badVersion, /unsupported version 9 \(this build reads versions 1 and 2\)/],
      // the same byte damaged (not sealed): damage, not a newer format
      [(() => { const b = good.slice(); b[8] = 9; return b; })(), /corrupt: checksum 0x[0-9a-f]{8} does not match the data \(0x[0-9a-f]{8}\), and its version field reads 9: the file changed after it was saved/],
      [nanWeights, /NaN or Inf/],
      [tooManySteps, /more than this model's planned \d+ \(raise steps\)/],
      // more than any plan: not told to raise steps, which cannot go there
      [withStep(1000001), /corrupt: it has taken 1000001 steps, more than any model plans \(1000000\)$/],
      [evenIncrement, /the RNG increment must be odd/],
      // named by array and index, not as "value 100", which read as if the value were 100
      [nanAt(0), /checkpoint: weights\[0\] is NaN or Inf/],
      [nanAt(P + 7), /checkpoint: AdamW m\[7\] is NaN or Inf/],
      [nanAt(3 * P - 1), new RegExp(`checkpoint: AdamW v\\[${P - 1}\\] is NaN or Inf`)],
      [other.saveCheckpoint(), /mismatched hidden: the file has 20, this model has 16/],
    ];
    const before = target.params(), stepBefore = target.step;
    for (const [bytes, message] of cases) {
      assert.throws(() => target.loadCheckpoint(bytes), (e) => e.code === 'CHECKPOINT' && message.test(e.message), `${message}`);
      assert.ok(sameBits(target.params(), before), `model changed by a refused file (${message})`);
      assert.equal(target.step, stepBefore);
    }
  } finally { source.free(); target.free(); other.free(); }
});

test('a short file is named for what it is: empty, too few bytes, not a checkpoint, or a checkpoint cut inside its header', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 1, seed: 2 });
  try {
    const good = model.saveCheckpoint();
    const cases = [
      [new Uint8Array(0), 'checkpoint: not a DDPM checkpoint (0 bytes: an empty file)'],
      [good.subarray(0, 5), 'checkpoint: not a DDPM checkpoint (5 bytes: too few to be one)'],
      [new TextEncoder().encode('these are not the weights you are looking for'), 'checkpoint: not a DDPM checkpoint (its first 8 bytes are not the marker DDPMCKPT)'],
      [good.subarray(0, 50), 'checkpoint: truncated: 50 bytes is shorter than the 84-byte header'],
      [good.subarray(0, 120), 'checkpoint: truncated: 120 bytes is shorter than the 164-byte header of version 2'],
    ];
    // the header reader (the page and the command line call it first) and C's loader say the same
    for (const [bytes, message] of cases) {
      assert.throws(() => checkpointHeader(bytes), (e) => e.message === message, `header: ${message}`);
      assert.throws(() => model.loadCheckpoint(bytes), (e) => e.code === 'CHECKPOINT' && e.message === message, `load: ${message}`);
    }
  } finally { model.free(); }
});

// A file of 2 GB with a sound header was copied into the module before C could refuse it, and
// the module's memory ran out: a refusal of an allocation, naming no file. The wrapper now
// refuses a file longer than any of the model's before copying it; the bound is the longest
// file the format allows the model (every array, and the losses of the most steps a plan holds).
test('a file longer than any checkpoint of the model is refused before it is copied in; the bound is the format\'s longest', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 2, ema_decay: 0.9 });
  try {
    model.train(2);
    const before = model.params(), most = model.maxCheckpointBytes;
    // a file with every array (weights, AdamW's moments, the EMA) at step 2, and 4 bytes for each
    // step more up to the most a plan holds (1000000)
    assert.equal(most, model.saveCheckpoint().length + (1000000 - 2) * 4);
    assert.equal(engine.maxSteps, 1000000);
    // the engine gives it for a config, with no model (the page and the command line check a
    // file's size before they read it): the network alone sets it
    assert.equal(engine.maxCheckpointBytes({ ...SMALL, steps: 5, T: 10 }), most);
    assert.equal(engine.maxCheckpointBytes({ preset: 'paper' }), engine.maxCheckpointBytes({ preset: 'recommended' }));
    const long = new Uint8Array(most + 1);
    long.set(model.saveCheckpoint());
    const inUse = engine.heapInUse();
    assert.throws(() => model.loadCheckpoint(long), (e) => e.code === 'CHECKPOINT' && e.message ===
      `checkpoint: ${most + 1} bytes, more than any checkpoint of this model can be (${most} bytes: its weights, ` +
      "AdamW's two moments, an EMA and the losses of 1000000 steps): not a checkpoint of it, or damaged");
    assert.equal(engine.heapInUse(), inUse, 'nothing was allocated for it');
    assert.ok(sameBits(model.params(), before), 'the model is untouched');
    // at the bound, C reads it (and names the trailing bytes of this one)
    assert.throws(() => model.loadCheckpoint(long.subarray(0, most)), (e) => e.code === 'CHECKPOINT' && /trailing data/.test(e.message));
  } finally { model.free(); }
});

test('a model holding NaN or Inf is not saved: refused by name before a byte is written', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 2, ema_decay: 0.9, seed: 4 });
  try {
    model.train(2);
    const P = model.numParams, F32 = () => model.mod.HEAPF32;
    // (written through the raw pointers, as an overflowed update leaves them: setParams refuses NaN)
    const cases = [['_w_params', 5, 'weight 5', true], ['_w_adam_m', 7, 'AdamW m 7', true], ['_w_adam_v', P - 1, `AdamW v ${P - 1}`, true],
      ['_w_ema', 0, 'EMA weight 0', false]];
    for (const [array, at, name, optimizer] of cases) {
      const i = (model.mod[array](model.ptr) >> 2) + at, kept = F32()[i];
      F32()[i] = at % 2 ? Infinity : NaN;
      const size = model.mod._w_checkpoint_size(model.ptr, optimizer ? 1 : 0);
      engine.withBuffers([size], (p) => {
        model.mod.HEAPU8.fill(0, p, p + size);
        assert.equal(model.mod._w_checkpoint_save(model.ptr, p, size, optimizer ? 1 : 0), 5, name);
        assert.equal(engine.lastError(), `checkpoint: the model holds NaN or Inf (${name}; its training diverged), and a file of it would not load`);
        assert.ok(model.mod.HEAPU8.subarray(p, p + size).every((b) => b === 0), `${name}: nothing written`);
      });
      F32()[i] = kept;
      assert.ok(model.saveCheckpoint({ optimizer }).length === size, `${name}: restored, it saves`);
    }
  } finally { model.free(); }
});

test('a file written from the README layout by an independent writer loads', async () => {
  const engine = await simdEngine();
  const source = engine.createModel({ ...SMALL, seed: 6 }), target = engine.createModel({ ...SMALL, seed: 7 });
  try {
    const params = source.params();
    const bytes = new Uint8Array(80 + params.length * 4 + 4), view = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode('DDPMCKPT'), 0);
    // version, image_size, hidden, temb_dim, activation (silu), predict (eps), T, schedule (linear)
    [1, 4, 16, 8, 0, 0, 20, 0].forEach((v, i) => view.setUint32(8 + 4 * i, v, true));
    view.setFloat64(40, 1e-4, true); view.setFloat64(48, 0.02, true);
    view.setUint32(56, 0, true); view.setUint32(60, 0, true);               // weights only, step 0
    view.setBigUint64(64, 123n, true); view.setBigUint64(72, 7n, true);     // any odd increment
    params.forEach((v, i) => view.setFloat32(80 + 4 * i, v, true));
    target.loadCheckpoint(reseal(bytes));
    assert.ok(sameBits(target.params(), params));
  } finally { source.free(); target.free(); }
});

// Save and load could agree with each other on a layout other than the README's (the two RNG
// words swapped, say) and every round trip would still pass: read the header's words directly
test('the header holds the training RNG at the README offsets: its state at 64, its increment at 72', async () => {
  const engine = await simdEngine();
  const model = engine.createModel({ ...SMALL, steps: 2, seed: 7 });
  try {
    const view = new DataView(model.saveCheckpoint().buffer), want = pcg32(7, 2);   // stream 2: training draws
    assert.equal(view.getBigUint64(64, true), want.state(), 'state');
    assert.equal(view.getBigUint64(72, true), want.inc, 'increment');
    assert.equal(want.inc, 5n);
  } finally { model.free(); }
});

test("a file whose AdamW v holds a negative value is refused (its square root would make the weights NaN)", async () => {
  const engine = await simdEngine();
  const source = engine.createModel({ ...SMALL, steps: 3, seed: 1 }), target = engine.createModel({ ...SMALL, steps: 3, seed: 2 });
  try {
    source.train(1);
    const good = source.saveCheckpoint(), P = source.numParams;
    const bad = good.slice();
    new DataView(bad.buffer).setFloat32(HEADER + 4 * (2 * P + 17), -1e-6, true); // v[17], in the third array
    const before = target.params();
    assert.throws(() => target.loadCheckpoint(reseal(bad)),
      (e) => e.code === 'CHECKPOINT' && /AdamW v\[17\] is -1e-0?6; v must be >= 0/.test(e.message));
    assert.ok(sameBits(target.params(), before));
    // at both ends of v too (the check's bounds): the first and the last of its values
    for (const i of [0, P - 1]) {
      const end = good.slice();
      new DataView(end.buffer).setFloat32(HEADER + 4 * (2 * P + i), -1e-6, true);
      assert.throws(() => target.loadCheckpoint(reseal(end)),
        (e) => e.code === 'CHECKPOINT' && new RegExp(`AdamW v\\[${i}\\] is -1e-0?6; v must be >= 0`).test(e.message), `v[${i}]`);
    }
    assert.ok(sameBits(target.params(), before));
    // a -0 is a zero: accepted (with an m of 0 beside it: an m beside a v of 0 is refused, below)
    new DataView(bad.buffer).setFloat32(HEADER + 4 * (2 * P + 17), -0, true);
    new DataView(bad.buffer).setFloat32(HEADER + 4 * (P + 17), 0, true);
    target.loadCheckpoint(reseal(bad));
    target.train(1);
    assert.ok(target.params().every(Number.isFinite));
  } finally { source.free(); target.free(); }
});

// The fuzzing of the loader by a helper found a file every check passed whose next update wrote
// Inf weights with the step reporting success: an m of 1e35 beside a v of 2.6e-11. AdamW's own
// moments keep |m| <= C sqrt(v) (c/checkpoint.c, check_moments); a file far past it is refused.
test('a file whose AdamW m is out of all proportion to its v is refused; the moments of real training load', async () => {
  const engine = await simdEngine();
  const source = engine.createModel({ ...SMALL, steps: 20, seed: 1 }), target = engine.createModel({ ...SMALL, steps: 20, seed: 2 });
  try {
    source.train(12);
    const good = source.saveCheckpoint(), P = source.numParams;
    // the moments of real training, at batch 1 and at its largest ratio, are well inside the bound
    const { m, v } = source.adamState();
    let worst = 0;
    for (let i = 0; i < P; i++) worst = Math.max(worst, Math.abs(m[i]) / (Math.sqrt(v[i]) + 1e-8));
    const c = (1 - 0.9) / Math.sqrt((1 - 0.999) * (1 - 0.81 / 0.999));
    assert.ok(worst <= c, `|m| / sqrt(v) reached ${worst} in training, above AdamW's bound ${c}`);
    target.loadCheckpoint(good);
    const bad = good.slice();
    new DataView(bad.buffer).setFloat32(HEADER + 4 * (P + 5), 1e35, true); // m[5], in the second array
    const before = target.params();
    assert.throws(() => target.loadCheckpoint(reseal(bad)),
      (e) => e.code === 'CHECKPOINT' && /^checkpoint: corrupt: AdamW m\[5\] = 1e\+35 beside v\[5\] = \S+: \|m\| \/ \(sqrt\(v\) \+ eps\) is \S+, not a state AdamW makes \(with the file's betas, 0\.9 and 0\.999, it stays below 7\.27, and files past 1000 times that are refused\)/.test(e.message),
      'the m of 1e35 is named');
    assert.ok(sameBits(target.params(), before), 'the model on the page is kept');
    // a thousand times past the bound is refused, just past it (1% over, far above the float
    // rounding of m, about 6e-8); just below it (room for other betas) loads
    const vAt5 = new DataView(good.buffer).getFloat32(HEADER + 4 * (2 * P + 5), true);
    for (const [factor, loads] of [[100, true], [990, true], [1010, false], [2000, false]]) {
      new DataView(bad.buffer).setFloat32(HEADER + 4 * (P + 5), factor * c * (Math.sqrt(vAt5) + 1e-8), true);
      if (loads) target.loadCheckpoint(reseal(bad));
      else assert.throws(() => target.loadCheckpoint(reseal(bad)), /AdamW m\[5\]/);
    }
  } finally { source.free(); target.free(); }
});

// A review found the bound refusing a file straight from training: at a tiny adam_eps, a gradient
// below 1e-22 squares to 0 in float, so v = 0 beside m = 0.1 g. v counts as at least FLT_MIN.
test('moments whose v underflowed to 0 in float load, at any adam_eps', async () => {
  const engine = await simdEngine();
  const config = { ...SMALL, steps: 3, seed: 1, adam_eps: 1e-30 };
  const source = engine.createModel(config), target = engine.createModel(config);
  try {
    // a hidden unit pushed far below zero: SiLU's gradient there is about 1e-20 and less
    const p = Float32Array.from(source.params()), t = source.tensors(p);
    t.fc1_b[3] = -50;
    source.setParams(p);
    source.train(1);
    const { m, v } = source.adamState();
    assert.ok(Array.from(m).some((x, i) => x !== 0 && v[i] === 0), 'some m beside a v that underflowed to 0');
    target.loadCheckpoint(source.saveCheckpoint());
    assert.ok(sameBits(target.params(), source.params()));
  } finally { source.free(); target.free(); }
});

test('a weights-only checkpoint restarts AdamW: its first update is bias-corrected as a first step', async () => {
  const engine = await simdEngine();
  const options = { ...SMALL, steps: 40, seed: 3 };
  const trained = engine.createModel(options), fresh = engine.createModel(options), loaded = engine.createModel(options);
  try {
    trained.train(30);
    const light = trained.saveCheckpoint({ optimizer: false });
    loaded.loadCheckpoint(light);
    assert.equal(loaded.step, 30);
    // the same weights in a model at step 0: one explicit step on the same (t, eps) must move
    // both by the same amount, since both start from zero moments
    fresh.setParams(trained.params());
    const eps = engine.normals(fresh.D, 77);
    fresh.trainStepExplicit([7], eps);
    loaded.trainStepExplicit([7], eps);
    assert.ok(sameBits(loaded.params(), fresh.params()), 'the first update after a weights-only load is not a first Adam step');
  } finally { trained.free(); fresh.free(); loaded.free(); }
});

// a saved file without its history section, as this format was before it had one (flags bit 2 clear)
function withoutHistory(bytes, steps) {
  const out = bytes.slice(0, bytes.length - 4 - 4 - 4 * steps);
  const view = new DataView(out.buffer);
  view.setUint32(56, view.getUint32(56, true) & ~4, true);
  return reseal(new Uint8Array([...out, 0, 0, 0, 0]));
}

test('the training history: losses and AdamW updates travel; a file without one loads with NaN losses; bad ones are refused', async () => {
  const engine = await simdEngine();
  const options = { ...SMALL, steps: 10, seed: 4 };
  const straight = engine.createModel(options), a = engine.createModel(options), b = engine.createModel(options);
  try {
    straight.train(7);
    // weights only at step 3 (AdamW restarts), 2 more steps, saved with AdamW: the file must say
    // that AdamW has made 2 updates, not 5, or the resumed bias correction is wrong
    a.train(3);
    b.loadCheckpoint(a.saveCheckpoint({ optimizer: false }));
    b.train(2);
    const mid = b.saveCheckpoint();
    const view = new DataView(mid.buffer), P = b.numParams, history = HEADER + 3 * P * 4;
    assert.equal(view.getUint32(history, true), 2, 'AdamW updates since the moments were zero');
    const reference = engine.createModel(options);
    try {
      reference.loadCheckpoint(mid);
      reference.train(2);
      b.train(2);
      assert.ok(sameBits(reference.params(), b.params()), 'a resumed run differs from the one it was saved from');
      // the losses: a's 3 (they travelled in the weights-only file too), then b's own
      assert.ok(sameBits(reference.lossHistory().subarray(0, 3), a.lossHistory().subarray(0, 3)));
      assert.ok(sameBits(reference.lossHistory().subarray(0, 7), b.lossHistory().subarray(0, 7)));
    } finally { reference.free(); }

    // an older file without the history: the losses are unknown (NaN), AdamW counted every step
    const full = a.saveCheckpoint(), old = withoutHistory(full, 3);
    assert.equal(checkpointHeader(old).flags, 1);
    assert.deepEqual([checkpointHeader(old).hasAdam, checkpointHeader(old).hasEma, checkpointHeader(old).hasHistory], [true, false, false]);
    const c = engine.createModel(options);
    try {
      c.loadCheckpoint(old);
      assert.equal(c.step, 3);
      assert.ok(c.lossHistory().subarray(0, 3).every(Number.isNaN));
      c.train(4);
      assert.ok(sameBits(c.params(), straight.params()), 'an old-format file does not resume exactly');
    } finally { c.free(); }

    // refused: a negative or infinite loss, more AdamW updates than steps
    const forge = (offset, set) => { const x = full.slice(); set(new DataView(x.buffer), HEADER + 3 * P * 4 + offset); return reseal(x); };
    const target = engine.createModel(options);
    try {
      for (const [bytes, message] of [
        [forge(4 + 4, (v, o) => v.setFloat32(o, -1, true)), /the loss of step 2 is -1; a loss must be >= 0 and finite/],
        [forge(4, (v, o) => v.setFloat32(o, Infinity, true)), /the loss of step 1 is inf/],
        [forge(0, (v, o) => v.setUint32(o, 4, true)), /corrupt: 4 AdamW updates in 3 steps/],
        // moments with no update counted: the first update would divide m by 1 - 0.9 and jump
        [forge(0, (v, o) => v.setUint32(o, 0, true)), /corrupt: AdamW moments are nonzero but no AdamW update is counted/],
      ]) {
        assert.throws(() => target.loadCheckpoint(bytes), (e) => e.code === 'CHECKPOINT' && message.test(e.message), `${message}`);
        assert.equal(target.step, 0);
      }
      // a NaN loss means "not recorded": accepted
      target.loadCheckpoint(forge(4, (v, o) => v.setFloat32(o, NaN, true)));
      assert.ok(Number.isNaN(target.lossHistory()[0]));
    } finally { target.free(); }
  } finally { straight.free(); a.free(); b.free(); }
});

test('a header code with no name is named by its number; a load ends a reverse chain in progress', async () => {
  const engine = await simdEngine();
  const source = engine.createModel({ ...SMALL, steps: 2 }), target = engine.createModel({ ...SMALL, steps: 2 });
  try {
    source.train(2);
    const bytes = source.saveCheckpoint();
    // (the CLI's hint for a mismatched file listed "predict undefined": a review)
    const damaged = bytes.slice();
    new DataView(damaged.buffer).setUint32(28, 7, true);
    new DataView(damaged.buffer).setUint32(36, 0xffffffff, true);
    const header = checkpointHeader(damaged);
    assert.equal(header.predict, 'unknown (code 7)');
    assert.equal(header.schedule, 'unknown (code 4294967295)');
    assert.equal(checkpointHeader(bytes).predict, 'eps');
    // a chain begun on the old weights does not go on with the file's (it went on, half one model)
    target.sampleBegin({ seed: 1 });
    target.sampleContinue(3);
    target.loadCheckpoint(bytes);
    assert.throws(() => target.sampleContinue(100), (e) => e.code === 'ARGUMENT' && /no chain in progress/.test(e.message));
    assert.throws(() => target.sampleImages(), /no chain has begun/, 'what the old chain left is not read as a sample');
    // a new chain on the file's weights is the file's own
    const own = source.sample({ seed: 1 }).final, loaded = target.sample({ seed: 1 }).final;
    assert.ok(sameBits(own, loaded));
  } finally { source.free(); target.free(); }
});

test('the betas must match for a linear schedule, and are not compared for the cosine one; a mismatched choice is named in words', async () => {
  const engine = await simdEngine();
  const pairs = [
    [{ schedule: 'linear', beta_end: 0.03 }, { schedule: 'linear' }, /mismatched betas: the file has 0\.0001\.\.0\.03, this model has 0\.0001\.\.0\.02/],
    [{ schedule: 'cosine', beta_start: 2e-4, beta_end: 0.03 }, { schedule: 'cosine' }, null],
    // a choice is named as the settings spell it, not by its code
    [{ predict: 'x0' }, { predict: 'eps' }, /mismatched predict: the file has x0, this model has eps/],
    [{ activation: 'relu' }, { activation: 'silu' }, /mismatched activation: the file has relu, this model has silu/],
    [{ schedule: 'cosine' }, { schedule: 'linear' }, /mismatched schedule: the file has cosine, this model has linear/],
  ];
  for (const [from, to, refusal] of pairs) {
    const source = engine.createModel({ ...SMALL, ...from, steps: 1 }), target = engine.createModel({ ...SMALL, ...to, steps: 1 });
    try {
      source.train(1);
      const bytes = source.saveCheckpoint();
      if (refusal) assert.throws(() => target.loadCheckpoint(bytes), (e) => e.code === 'CHECKPOINT' && refusal.test(e.message));
      else {
        target.loadCheckpoint(bytes);
        assert.ok(sameBits(target.params(), source.params()));
        assert.ok(sameBits(target.schedule().alpha_bar, source.schedule().alpha_bar), 'the same cosine schedule');
      }
    } finally { source.free(); target.free(); }
  }
});

// Version 2 carries the settings of the run that wrote it (README "Checkpoint format"): read back
// at their offsets as the run had them, checked on load (the file's own betas judge its AdamW
// moments), and a version 1 file (the same bytes without them) still loads to the same model.
test('version 2 carries the run settings; they are checked on load; a version 1 file still loads', async () => {
  const engine = await simdEngine();
  const run = { ...SMALL, steps: 9, batch: 3, lr: 2e-3, beta1: 0.8, beta2: 0.99, adam_eps: 1e-7, weight_decay: 0.05,
    lr_schedule: 'cosine', lr_min_frac: 0.1, ema_decay: 0.5, sigma: 'beta-tilde', clip_x0: 1, seed: 4000000000 };
  const source = engine.createModel(run), target = engine.createModel({ ...SMALL, steps: 9, ema_decay: 0.5 });
  const plain = engine.createModel({ ...SMALL, steps: 9, ema_decay: 0.5 });
  try {
    source.train(4);
    const bytes = source.saveCheckpoint(), header = checkpointHeader(bytes);
    assert.equal(header.version, 2);
    assert.deepEqual(header.settings, {
      batch: 3, steps: 9, lr: 2e-3, beta1: 0.8, beta2: 0.99, adam_eps: 1e-7, weight_decay: 0.05, lr_min_frac: 0.1,
      ema_decay: 0.5, lr_schedule: 'cosine', sigma: 'beta-tilde', clip_x0: 1, seed: 4000000000,
    });
    // the sampler's defaults, set by the caller (the page's Sample panel), are what a file records
    target.setSampling({ sigma: 'beta-tilde', clip: true });
    const chosen = checkpointHeader(target.saveCheckpoint()).settings;
    assert.deepEqual([chosen.sigma, chosen.clip_x0], ['beta-tilde', 1]);
    target.setSampling({ sigma: 'beta', clip: false });
    assert.deepEqual([checkpointHeader(target.saveCheckpoint()).settings.sigma, target.config.clip_x0], ['beta', 0]);
    assert.throws(() => target.setSampling({ sigma: 'tilde', clip: false }), /setSampling: sigma must be 'beta' or 'beta-tilde'/);
    // the settings are the caller's to use: a model of other settings loads the file and keeps its own
    target.loadCheckpoint(bytes);
    assert.ok(sameBits(target.params(), source.params()));
    assert.equal(target.config.lr, DEFAULTS.lr);
    // settings no run could have are damage, named (sealed, so that the checksum passes)
    const P = source.numParams;
    const forge = (set) => reseal((() => { const b = bytes.slice(); set(new DataView(b.buffer)); return b; })());
    const cases = [
      [forge((v) => v.setFloat64(88, -1, true)), /corrupt: the run settings it holds are not valid \(config: lr must be a finite number > 0/],
      [forge((v) => v.setUint32(148, 7, true)), /corrupt: the run settings it holds are not valid \(config: unknown sigma 7\)/],
      [forge((v) => v.setUint32(84, 3, true)), /corrupt: it has taken 4 steps of a run planned for 3$/],
      // each field at its own offset (C reads them there: the JS reader's round trip cannot tell)
      [forge((v) => v.setUint32(80, 0, true)), /not valid \(config: batch must be in 1\.\.65536 \(got 0\)\)/],
      [forge((v) => v.setFloat64(96, 1, true)), /not valid \(config: beta1 must be in \[0, 1\) \(got 1\)\)/],
      [forge((v) => v.setFloat64(104, 0.5, true)), /not valid \(config: AdamW needs beta1\^2 < beta2 \(got beta1 = 0\.8, beta2 = 0\.5\)/],
      [forge((v) => v.setFloat64(112, 0, true)), /not valid \(config: adam_eps must be a finite number > 0/],
      [forge((v) => v.setFloat64(120, -1, true)), /not valid \(config: weight_decay must be a finite number >= 0 \(got -1\)\)/],
      [forge((v) => v.setFloat64(128, 2, true)), /not valid \(config: lr_min_frac must be in \[0, 1\] \(got 2\)\)/],
      [forge((v) => v.setFloat64(136, 1, true)), /not valid \(config: ema_decay must be in \[0, 1\) \(got 1\)\)/],
      [forge((v) => v.setUint32(144, 2, true)), /not valid \(config: unknown lr_schedule 2\)/],
      [forge((v) => v.setUint32(152, 2, true)), /not valid \(config: clip_x0 must be 0 or 1 \(got 2\)\)/],
      [forge((v) => v.setFloat64(136, 0, true)), /corrupt: its ema_decay 0 and its flags disagree on whether it holds EMA weights/],
      // m at 2x what betas 0.8 / 0.99 allow beside its v (x 1000 slack): these betas refuse it,
      // where the model's own (0.9, 0.999; a bound 2.4x higher) would have let it through
      [forge((v) => {
        const vAt = v.getFloat32(HEADER + 4 * (2 * P + 3), true), bound = 0.2 / Math.sqrt(0.01 * (1 - 0.64 / 0.99));
        v.setFloat32(HEADER + 4 * (P + 3), 2 * 1000 * bound * (Math.sqrt(Math.max(vAt, 1.2e-38)) + 1e-7), true);
      }), /corrupt: AdamW m\[3\] = .*\(with the file's betas, 0\.8 and 0\.99, it stays below 3\.36,/],
    ];
    for (const [file, message] of cases) {
      assert.throws(() => plain.loadCheckpoint(file), (e) => e.code === 'CHECKPOINT' && message.test(e.message), `${message}`);
      assert.equal(plain.step, 0, 'the model is untouched');
    }
    // version 1: the same file without the settings block
    const v1 = new Uint8Array(bytes.length - 80);
    v1.set(bytes.subarray(0, 80));
    v1.set(bytes.subarray(HEADER), 80);
    new DataView(v1.buffer).setUint32(8, 1, true);
    const old = reseal(v1);
    assert.equal(checkpointHeader(old).settings, null);
    plain.loadCheckpoint(old);
    assert.ok(sameBits(plain.params(), source.params()) && sameBits(plain.emaParams(), source.emaParams()));
    assert.ok(sameBits(plain.adamState().v, source.adamState().v));
    assert.ok(sameBits(plain.lossHistory(), source.lossHistory()));
    assert.equal(plain.step, 4);
  } finally { source.free(); target.free(); plain.free(); }
});
