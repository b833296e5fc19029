// ddpm.mjs -- the ONE wrapper over the wasm module. The page, the CLI (scripts/ddpm.mjs), the
// benchmark and the tests all import this file, so what is tested is what ships.
//
// Typed arrays in, typed arrays out: every array handed back is a copy, so a later growth of
// wasm memory can never leave the caller with a detached view. The model's maths lives in C.

const IS_NODE = typeof process !== 'undefined' && !!process.versions?.node;

// Error codes of c/ddpm.h, by name.
export const ERROR_NAMES = {
  1: 'CONFIG', 2: 'SCHEDULE', 3: 'MEMORY', 4: 'IMAGE', 5: 'DIVERGED', 6: 'CHECKPOINT', 7: 'ARGUMENT',
};

export class DDPMError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'DDPMError';
    this.code = ERROR_NAMES[code] || String(code);
  }
}

// Index of each array of the C Schedule struct (schedule_array_slots in c/schedule.c; C counts
// them as SCHEDULE_ARRAYS, and a test holds the two lists to the same length).
const SCHEDULE_ARRAYS = ['beta', 'alpha', 'alpha_bar', 'sqrt_alpha_bar', 'sqrt_one_minus_alpha_bar',
  'posterior_variance', 'posterior_coef_x0', 'posterior_coef_xt', 'eps_coef', 'inv_sqrt_alpha', 'log_snr'];

export const PARAM_TENSORS = ['temb_w', 'temb_b', 'fc1_w', 'fc1_b', 'fc2_w', 'fc2_b', 'fc3_w', 'fc3_b'];

// Settings the C side knows (c/config.c, ddpm_config_set), with the paper's values.
export const DEFAULTS = {
  image_size: 16, hidden: 1024, temb_dim: 128, activation: 'silu', predict: 'eps',
  T: 100, schedule: 'linear', beta_start: 1e-4, beta_end: 0.02,
  batch: 1, max_batch: 64, steps: 200,
  lr: 1e-3, beta1: 0.9, beta2: 0.999, adam_eps: 1e-8, weight_decay: 0.01,
  lr_schedule: 'constant', lr_min_frac: 0, ema_decay: 0,
  sigma: 'beta', clip_x0: 0, seed: 0,
};

// The two presets. `paper` is the paper's table exactly; `recommended` is the nearest setting
// that was measured to work (scripts/sweep.mjs; README "Presets"). Their summary and changes are
// the page's text, HTML typeset as index.html typesets its maths (constants: the page inserts
// them as HTML).
export const PRESETS = {
  paper: {
    summary: "The paper's table exactly: noise prediction, linear betas 1e-4 .. 0.02, 200 steps of batch 1, AdamW 1e-3; " +
      'it samples with <var>&sigma;<sub>t</sub></var><sup>2</sup> = <var>&beta;<sub>t</sub></var> (the Sample panel\'s first choice).',
    changes: [],
    config: { ...DEFAULTS },
  },
  recommended: {
    summary: "The paper's network, <var>T</var> = 100, batch 1, 200 steps and AdamW 1e-3, with two changes measured to be needed: " +
      'the network predicts the clean image <var>x</var><sub>0</sub>, and the betas are scaled to <var>T</var>.',
    changes: [
      ['predict', '<var>x</var><sub>0</sub> instead of <var>&epsilon;</var> (the reverse step is unchanged: ' +
        '<var>&epsilon;</var> is derived from the predicted <var>x</var><sub>0</sub>)',
        'for one training image the exact noise is (<var>x<sub>t</sub></var> &minus; &radic;<var>&alpha;&#772;<sub>t</sub></var>&thinsp;<var>x</var><sub>0</sub>) / ' +
        '&radic;(1&minus;<var>&alpha;&#772;<sub>t</sub></var>): an affine map of <var>x<sub>t</sub></var> whose gain runs (with the paper\'s betas) from 1.25 at ' +
        '<var>t</var> = <var>T</var> to 100 at <var>t</var> = 1, each step\'s target a new draw of it. From one draw per step ' +
        'the MLP does not learn it: the loss stays at ~1.0, what predicting zero scores, even after 6,400 steps (a smaller learning ' +
        'rate does not help), and the same draws in batches of 16 bring it only to 0.73 (measured with the command line: the ' +
        'Presets section of the README). The exact <var>x</var><sub>0</sub> is a constant, the same every ' +
        'step, learnt within the 200 steps: easy, and for one image it teaches little about denoising.'],
      ['schedule', 'linear-scaled: betas &times; 1000/<var>T</var>, i.e. 1e-3 .. 0.2',
        "with the paper's betas and <var>T</var> = 100, <var>&alpha;&#772;<sub>T</sub></var> = 0.36: <var>x<sub>T</sub></var> " +
        'still holds the image at 60% of its amplitude, so sampling from <var>x<sub>T</sub></var> ~ N(0, I) starts where training never was. ' +
        "Scaled betas give <var>&alpha;&#772;<sub>T</sub></var> = 2e-5, close to the 4e-5 of the DDPM paper's <var>T</var> = 1000."],
    ],
    config: { ...DEFAULTS, predict: 'x0', schedule: 'linear-scaled' },
  },
};

function configFor(options) {
  const { preset = 'recommended', ...overrides } = options;
  // (own keys only: 'toString' or '__proto__' is no preset, though an object has it)
  if (!Object.hasOwn(PRESETS, preset)) throw new DDPMError(1, `config: unknown preset '${preset}' (paper, recommended)`);
  const config = { ...PRESETS[preset].config };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) config[key] = value;
  }
  return config;
}

// Whether this WebAssembly engine accepts SIMD instructions: it validates a module of one
// function that returns v128.const 0. So a page can tell a browser without SIMD from a SIMD
// build that failed to load (a network error) and say which.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,   // "\0asm", version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,         // types: one, () -> v128
  0x03, 0x02, 0x01, 0x00,                           // functions: one, of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00,                     // code: one body of 20 bytes, no locals
  0xfd, 0x0c, ...new Array(16).fill(0x00), 0x0b,    //   v128.const 0, end
]);
export const wasmSimdSupported = () => WebAssembly.validate(SIMD_PROBE);

// A build's two files, relative to web/: the SIMD build or its scalar twin. Named here once for
// the loader below, the page's check of a server that has none (app.mjs engineFailed), serve.mjs's
// warning and dist.mjs's list.
export const moduleFiles = (simd = true) => {
  const name = simd ? 'ddpm_simd' : 'ddpm_scalar';
  return [`wasm/${name}.mjs`, `wasm/${name}.wasm`];
};

// Load the wasm module: the SIMD build by default, or the scalar twin ({ simd: false }).
export async function loadEngine({ simd = true } = {}) {
  const [glue, binary] = moduleFiles(simd);
  const { default: createModule } = await import(`./${glue}`);
  const moduleArgs = {};
  if (IS_NODE) {
    const { readFileSync } = await import('node:fs');
    moduleArgs.wasmBinary = readFileSync(new URL(`./${binary}`, import.meta.url));
  }
  return new Engine(await createModule(moduleArgs), simd);
}

export class Engine {
  constructor(mod, simd) {
    this.mod = mod;
    this.simd = simd && mod._w_have_simd() === 1;
  }

  // --- memory helpers: small, explicit, and always re-reading the heap views
  alloc(bytes) {
    // (malloc takes a 32-bit size: 2^32 + 8 bytes would be 8, and what is written past them
    // overwrites the heap)
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new DDPMError(7, `alloc: bytes must be a whole number >= 0 (got ${bytes})`);
    if (bytes > 0x7fffffff) throw new DDPMError(3, `out of wasm memory allocating ${bytes} bytes (the module's memory is at most 2 GiB)`);
    const ptr = this.mod._malloc(Math.max(bytes, 4));
    if (!ptr) throw new DDPMError(3, `out of wasm memory allocating ${bytes} bytes`);
    return ptr;
  }
  free(ptr) { this.mod._free(ptr); }
  writeF32(ptr, array) { this.mod.HEAPF32.set(array, ptr >> 2); }
  readF32(ptr, n) { return this.mod.HEAPF32.slice(ptr >> 2, (ptr >> 2) + n); }
  writeI32(ptr, array) { this.mod.HEAP32.set(array, ptr >> 2); }
  string(text) {
    const n = this.mod.lengthBytesUTF8(text) + 1;
    const ptr = this.alloc(n);
    this.mod.stringToUTF8(text, ptr, n);
    return ptr;
  }
  lastError() { return this.mod.UTF8ToString(this.mod._w_last_error()); }
  check(code) {
    if (code !== 0) throw new DDPMError(code, this.lastError());
  }
  // run fn with temporary wasm buffers of the given byte sizes, freed afterwards (also those
  // already made when a later one cannot be)
  withBuffers(sizes, fn) {
    const ptrs = [];
    try {
      for (const s of sizes) ptrs.push(this.alloc(s));
      return fn(...ptrs);
    } finally { ptrs.forEach((p) => this.free(p)); }
  }
  // the size of the wasm heap now (it grows; Model.memoryBytes is what one model plans to use)
  heapBytes() { return this.mod.HEAPU8.length; }
  // the bytes of it malloc has handed out and not had back (a leak shows here at once)
  heapInUse() { return this.mod._w_heap_in_use(); }

  // A C DDPMConfig from a plain object; every key and value is checked by C.
  makeConfig(config) {
    const cfg = this.mod._w_config_new();
    try {
      for (const [key, value] of Object.entries(config)) {
        const k = this.string(key), v = this.string(String(value));
        const code = this.mod._w_config_set(cfg, k, v);
        this.free(k); this.free(v);
        this.check(code);
      }
      this.check(this.mod._w_config_validate(cfg));
      return cfg;
    } catch (e) {
      this.mod._w_config_free(cfg);
      throw e;
    }
  }

  // A model: createModel({ preset: 'paper' }) or createModel({ preset: 'recommended', seed: 3 }).
  createModel(options = {}) { return new Model(this, configFor(options)); }

  // The longest checkpoint a model of these options could load, with no model made (C's
  // ddpm_checkpoint_max_size): for a caller to refuse a longer file before it reads it
  maxCheckpointBytes(options = {}) {
    const cfg = this.makeConfig(configFor(options));
    try { return this.mod._w_checkpoint_max_size(cfg); } finally { this.mod._w_config_free(cfg); }
  }
  // the most steps a config plans, and so a checkpoint holds (C's MAX_STEPS)
  get maxSteps() { return this.mod._w_max_steps(); }

  // The schedule alone (for plots), without allocating a model.
  schedule(options = {}) {
    const m = this.createModel({ ...options, hidden: 4, steps: 0, max_batch: 1 });
    try { return m.schedule(); } finally { m.free(); }
  }

  // n draws of the engine's N(0, 1) sampler (PCG32 + Box-Muller), from a fresh generator
  normals(n, seed = 0) {
    if (!Number.isSafeInteger(n) || n < 0) throw new DDPMError(7, `normals: n must be a whole number >= 0 (got ${n})`);
    // C converts the seed to uint64_t: a negative or fractional one would alias another seed
    if (!Number.isSafeInteger(seed) || seed < 0) throw new DDPMError(7, `normals: seed must be an integer in 0..2^53 (got ${seed})`);
    return this.withBuffers([n * 4], (out) => {
      this.mod._w_rng_normal(out, n, seed);
      return this.readF32(out, n);
    });
  }

  embedding(t, dim = 128) {
    // sin and cos of dim / 2 frequencies: an odd dim would leave its last float unwritten
    if (!Number.isInteger(dim) || dim < 2 || dim > 65536 || dim % 2 !== 0) {
      throw new DDPMError(7, `embedding: dim must be an even whole number from 2 to 65536 (got ${dim})`);
    }
    // (C takes an int: 2^32 + 5 would be the embedding of t = 5)
    if (!Number.isInteger(t) || t < 0 || t > 0x7fffffff) throw new DDPMError(7, `embedding: t must be a whole number from 0 to 2147483647 (got ${t})`);
    return this.withBuffers([dim * 4], (out) => {
      this.mod._w_timestep_embedding(out, t, dim);
      return this.readF32(out, dim);
    });
  }

  // Kernels, for tests that compare the SIMD versions with their scalar twins.
  forceScalar(on) { this.mod._w_force_scalar(on ? 1 : 0); }
  // the plain order of a training step (no fused weight gradient, no forward computed by the
  // update) from the next batch begun: the same bits, for the tests and the benchmark
  forceUnfused(on) { this.mod._w_force_unfused(on ? 1 : 0); }
  kernel(name, arrays, scalars, outputs) {
    // arrays: list of Float32Array inputs (copied in); outputs: indices of arrays to read back
    return this.withBuffers(arrays.map((a) => a.length * 4), (...ptrs) => {
      arrays.forEach((a, i) => this.writeF32(ptrs[i], a));
      // a kernel refuses a length its SIMD loops cannot take (a multiple of 4: c/wasm.c);
      // normals_from_bits takes any and returns nothing
      const code = this.mod[`_w_${name}`](...ptrs, ...scalars);
      if (code !== undefined) this.check(code);
      return outputs.map((i) => this.readF32(ptrs[i], arrays[i].length));
    });
  }
}

export class Model {
  constructor(engine, config) {
    this.engine = engine;
    this.mod = engine.mod;
    const cfg = engine.makeConfig(config);
    // C has parsed and accepted every value; the numbers kept here are the numbers it read, so
    // that { T: '10' } is T = 10 in JS too, not a string that T + 1 makes '101'
    this.config = Object.fromEntries(Object.entries(config).map(([key, value]) =>
      [key, typeof DEFAULTS[key] === 'number' ? Number(value) : value]));
    this.livePtr = this.mod._w_create(cfg);
    this.mod._w_config_free(cfg);
    if (!this.livePtr) throw new DDPMError(3, engine.lastError());
    this.numParams = this.mod._w_num_params(this.ptr);
    this.D = this.mod._w_image_floats(this.ptr);
    this.T = this.config.T;
    this.tensorSizes = PARAM_TENSORS.map((_, i) => this.mod._w_tensor_size(this.ptr, i));
  }

  free() {
    if (this.livePtr) this.mod._w_free(this.livePtr);
    this.livePtr = 0;
  }
  get freed() { return !this.livePtr; }
  // the C model; a call on a freed one is named as such (C would get a null pointer)
  get ptr() {
    if (!this.livePtr) throw new DDPMError(7, 'model: used after free()');
    return this.livePtr;
  }

  // the bytes C allocated for this model (its plan of steps sizes the loss history)
  get memoryBytes() { return this.mod._w_model_memory_bytes(this.ptr); }
  get step() { return this.mod._w_step(this.ptr); }
  get batchFilled() { return this.mod._w_batch_filled(this.ptr); }
  get currentLr() { return this.mod._w_current_lr(this.ptr); }
  get done() { return this.step >= this.config.steps; }

  schedule() {
    const out = {};
    SCHEDULE_ARRAYS.forEach((name, i) => {
      out[name] = this.engine.readF32(this.mod._w_schedule_array(this.ptr, i), this.T + 1);
    });
    return out;
  }

  // C takes pointers, not lengths: every array handed to it is checked here first, so a short
  // one is never read past its end and an output buffer never written past its end
  // (and every value finite: C would carry a NaN through to its output unnamed)
  checkImages(what, name, array, B = 0) {
    const n = (B || 1) * this.D;
    if (array?.length !== n) {
      const size = B ? `${B} x ${this.D} = ${n}` : `${n}`;
      throw new DDPMError(7, `${what}: ${name} must hold ${size} floats (got ${array?.length})`);
    }
    checkFinite(what, name, array);
  }
  // the sampler's two choices as C takes them; anything else is refused, not read as one of them
  samplerCodes(what, sigma, clip) {
    if (sigma !== 'beta' && sigma !== 'beta-tilde')
      throw new DDPMError(7, `${what}: sigma must be 'beta' or 'beta-tilde' (got ${JSON.stringify(sigma)})`);
    if (typeof clip !== 'boolean') throw new DDPMError(7, `${what}: clip must be true or false (got ${JSON.stringify(clip)})`);
    return [sigma === 'beta-tilde' ? 1 : 0, clip ? 1 : 0];
  }
  checkT(what, t, lo) {
    if (!Number.isInteger(t) || t < lo || t > this.T)
      throw new DDPMError(7, `${what}: t must be an integer in ${lo}..${this.T} (got ${t})`);
  }
  // C takes ints: NaN or Infinity would reach it as 0, 2.7 as 2 and 2^32 + 5 as 5, each a valid
  // count of something else, so a count is refused here unless C would read it as given
  checkCount(what, name, v, lo) {
    if (!Number.isInteger(v) || v < lo || v > 0x7fffffff)
      throw new DDPMError(7, `${what}: ${name} must be a whole number from ${lo} to 2147483647 (got ${v})`);
  }

  image() { return this.engine.readF32(this.mod._w_image(this.ptr), this.D); }
  setImage(pixels) {
    const e = this.engine;
    if (!ArrayBuffer.isView(pixels) && !Array.isArray(pixels)) {
      const [S, got] = [this.config.image_size, pixels === null ? 'null' : typeof pixels];
      throw new DDPMError(4, `image: expected ${this.D} floats (${S}x${S}x3), got ${got}`);
    }
    e.withBuffers([pixels.length * 4], (p) => {
      e.writeF32(p, pixels);
      e.check(this.mod._w_set_image(this.ptr, p, pixels.length));
    });
  }

  params() { return this.engine.readF32(this.mod._w_params(this.ptr), this.numParams); }
  // the gradient buffer: complete after lossAndGrad(); after a training step whose batch fits one
  // micro-batch (in one call or in pieces) it holds only the bias gradients (the weight
  // gradients are fused into AdamW, see c/optimizer.c)
  grads() { return this.engine.readF32(this.mod._w_grads(this.ptr), this.numParams); }
  adamState() {
    return { m: this.engine.readF32(this.mod._w_adam_m(this.ptr), this.numParams),
             v: this.engine.readF32(this.mod._w_adam_v(this.ptr), this.numParams) };
  }
  emaParams() {
    const p = this.mod._w_ema(this.ptr);
    return p ? this.engine.readF32(p, this.numParams) : null;
  }
  setParams(values) {
    if (values.length !== this.numParams) throw new DDPMError(7, `setParams: expected ${this.numParams} floats`);
    // NaN weights would be found only by the next step, blamed on the learning rate
    checkFinite('setParams', 'values', values);
    this.engine.writeF32(this.mod._w_params(this.ptr), values);
    this.mod._w_params_changed(this.ptr);  // the next step's forward, if computed ahead, saw the old weights
    // and C ends a chain in progress: its half-denoised images are no sample to read
    if (this.chainT > 0) this.chainEnded();
  }
  // the parameters split into their named tensors
  tensors(flat = this.params()) {
    const out = {};
    let offset = 0;
    PARAM_TENSORS.forEach((name, i) => {
      out[name] = flat.subarray(offset, offset + this.tensorSizes[i]);
      offset += this.tensorSizes[i];
    });
    return out;
  }

  lossHistory() {
    return this.engine.readF32(this.mod._w_loss_history(this.ptr), this.step);
  }

  // the batch is complete and its AdamW update under way
  get updating() { return this.mod._w_update_pos(this.ptr) >= 0; }
  // between two slices of that update: the weights are of two steps, and C refuses to sample or
  // denoise with them (ddpm_weights_half_updated)
  get weightsHalfUpdated() { return this.mod._w_update_pos(this.ptr) > 0; }
  // a step begun and not finished (samples of its batch in, or its update under way): C saves
  // only between steps, and a load drops a step half done
  get midStep() { return this.batchFilled > 0 || this.updating; }
  // whether the next step will use the forward pass its update computed ahead (c/train.c, c/optimizer.c)
  get nextForwardReady() { return this.mod._w_next_forward_ready(this.ptr) === 1; }

  // One bounded slice of the current optimiser step (see ddpm_train_work in c/ddpm.h): up to
  // maxSamples samples of the batch, or, once the batch is complete (this.updating), AdamW on up
  // to maxParams parameters. Returns what it processed. Any split gives the same bits.
  trainWork(maxSamples, maxParams = this.numParams) {
    this.checkCount('trainWork', 'maxSamples', maxSamples, 1);
    this.checkCount('trainWork', 'maxParams', maxParams, 1);
    const r = this.mod._w_train_work(this.ptr, maxSamples, maxParams);
    if (r < 0) this.engine.check(-r);
    return r;
  }

  // Whole optimiser steps (finishing a batch in progress first).
  train(steps) {
    this.checkCount('train', 'steps', steps, 0);
    this.engine.check(this.mod._w_train_steps(this.ptr, steps));
  }
  // A new plan of `steps` steps in all, at least those taken, between steps: the model trains on
  // (or stops) with everything else as it is. C refuses a step in progress or a bad count.
  setSteps(steps) {
    // C names its own bounds (0..1000000, at least the steps taken); a number it would misread
    // as another (7.5 as 7, 2^32 + 300 as 300) is refused here
    if (!Number.isInteger(steps) || Math.abs(steps) > 0x7fffffff)
      throw new DDPMError(7, `setSteps: steps must be a whole number${Number.isInteger(steps) ? ' that a 32-bit int holds' : ''} (got ${steps})`);
    this.engine.check(this.mod._w_set_steps(this.ptr, steps));
    this.config.steps = steps;
  }

  // The sampler's defaults, { sigma: 'beta' | 'beta-tilde', clip: boolean }: what sample() uses
  // when not told, and what a checkpoint records (the page sets its Sample panel's before a Save)
  setSampling({ sigma, clip }) {
    const [sigmaCode, clipCode] = this.samplerCodes('setSampling', sigma, clip);
    this.engine.check(this.mod._w_set_sampling(this.ptr, sigmaCode, clipCode));
    this.config.sigma = sigma;
    this.config.clip_x0 = clipCode;
  }

  // x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, computed by C
  qSample(x0, eps, t) {
    this.checkImages('qSample', 'x0', x0); this.checkImages('qSample', 'eps', eps); this.checkT('qSample', t, 0);
    const e = this.engine, n = this.D * 4;
    return e.withBuffers([n, n, n], (xt, px0, peps) => {
      e.writeF32(px0, x0); e.writeF32(peps, eps);
      e.check(this.mod._w_q_sample(this.ptr, xt, px0, peps, t));
      return e.readF32(xt, this.D);
    });
  }

  // Loss and gradients for caller-given (x_t, t, target) without updating anything.
  lossAndGrad(xt, ts, target) {
    const e = this.engine, B = ts.length;
    this.checkImages('lossAndGrad', 'xt', xt, B); this.checkImages('lossAndGrad', 'target', target, B);
    for (const t of ts) this.checkT('lossAndGrad', t, 1);
    return e.withBuffers([xt.length * 4, B * 4, target.length * 4, 4], (pxt, pts, ptarget, ploss) => {
      e.writeF32(pxt, xt); e.writeI32(pts, ts); e.writeF32(ptarget, target);
      e.check(this.mod._w_loss_and_grad(this.ptr, pxt, pts, ptarget, B, ploss));
      return { loss: e.readF32(ploss, 1)[0], grads: this.grads() };
    });
  }

  // One optimiser step on caller-given t (B) and eps (B*D). Returns the loss.
  trainStepExplicit(ts, eps) {
    const e = this.engine, B = ts.length;
    this.checkImages('trainStepExplicit', 'eps', eps, B);
    for (const t of ts) this.checkT('trainStepExplicit', t, 1);
    return e.withBuffers([B * 4, eps.length * 4, 4], (pts, peps, ploss) => {
      e.writeI32(pts, ts); e.writeF32(peps, eps);
      e.check(this.mod._w_train_step_explicit(this.ptr, pts, peps, B, ploss));
      return e.readF32(ploss, 1)[0];
    });
  }

  // The network's output (eps_pred, or x0_pred for predict = 'x0') for x_t (B*D) at ts (B).
  denoise(xt, ts, { ema = false } = {}) {
    const e = this.engine, B = ts.length;
    this.checkImages('denoise', 'xt', xt, B);
    for (const t of ts) this.checkT('denoise', t, 1);
    return e.withBuffers([xt.length * 4, B * 4, xt.length * 4], (pxt, pts, pout) => {
      e.writeF32(pxt, xt); e.writeI32(pts, ts);
      e.check(this.mod._w_denoise(this.ptr, pxt, pts, B, pout, ema ? 1 : 0));
      return e.readF32(pout, B * this.D);
    });
  }

  // One reverse step from x_t and a predicted eps (for checks against an oracle).
  reverseStep(xt, epsPred, z, t, { sigma = 'beta', clip = false } = {}) {
    this.checkImages('reverseStep', 'xt', xt); this.checkImages('reverseStep', 'epsPred', epsPred);
    this.checkImages('reverseStep', 'z', z); this.checkT('reverseStep', t, 1);
    const [sigmaCode, clipCode] = this.samplerCodes('reverseStep', sigma, clip);
    const e = this.engine, n = this.D * 4;
    return e.withBuffers([n, n, n, n, n], (pprev, px0, pxt, peps, pz) => {
      e.writeF32(pxt, xt); e.writeF32(peps, epsPred); e.writeF32(pz, z);
      e.check(this.mod._w_reverse_step(this.ptr, pprev, px0, pxt, peps, pz, t, sigmaCode, clipCode));
      return { xPrev: e.readF32(pprev, this.D), x0Pred: e.readF32(px0, this.D) };
    });
  }

  // Ancestral sampling of n images. With trajectory (default), also every state of image 0:
  // x[t], epsPred[t], x0Pred[t] as (T+1)*D arrays indexed by t (x[T] = x_T, x[0] = the sample).
  sample({ n = 1, seed = 0, sigma, clip, ema = true, trajectory = true } = {}) {
    this.sampleBegin({ n, seed, sigma, clip, ema });
    this.sampleContinue(this.T);
    const out = { final: this.sampleImages(), outputPeak: this.sampleOutputPeak() };
    if (trajectory) Object.assign(out, this.sampleTrajectory());
    return out;
  }

  // The same chain in pieces, for callers that bound the time of a call (the page):
  // sampleBegin draws x_T; sampleContinue(k) takes up to k reverse steps and returns the t
  // reached (0 = done); sampleTrajectory() copies out the states so far.
  sampleBegin({ n = 1, seed = 0, sigma, clip, ema = true } = {}) {
    sigma = sigma ?? this.config.sigma;
    clip = clip ?? !!Number(this.config.clip_x0);
    // C takes a whole n (it checks n <= max_batch): 2.7 would draw 2 images and read back 2.7,
    // and 2^32 + 1 would draw 1 and read back 2^32 + 1 images' worth of the heap
    this.checkCount('sample', 'n', n, 1);
    // C converts the seed to uint32_t: out of range (or fractional) it would alias another seed
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new DDPMError(7, `sample: seed must be an integer in 0..4294967295 (got ${seed})`);
    const [sigmaCode, clipCode] = this.samplerCodes('sample', sigma, clip);
    this.engine.check(this.mod._w_sample_begin(this.ptr, n, seed, sigmaCode, clipCode, ema ? 1 : 0));
    this.sampleCount = n;  // only once C has taken n: sampleImages reads n images of max_batch
    this.chainT = this.T;  // the t the chain is at (0: done, or none)
  }
  sampleContinue(maxSteps) {
    this.checkCount('sampleContinue', 'maxSteps', maxSteps, 1);
    const t = this.mod._w_sample_continue(this.ptr, maxSteps);
    if (t < 0) {
      // C refused a chain in progress: it ended (diverged, or the model trained on), and what it
      // left is no sample to read (a finished chain's sample stays)
      if (this.chainT > 0) this.chainEnded();
      this.engine.check(-t);
    }
    this.chainT = t;
    return t;
  }
  chainEnded() {
    this.sampleCount = undefined;
    this.chainT = 0;
  }
  // (before any chain has begun there is nothing to read: the buffers hold zeros, not a sample)
  checkSampled(what) {
    if (this.sampleCount === undefined) throw new DDPMError(7, `${what}: no chain has begun (call sampleBegin or sample first)`);
  }
  sampleImages() {
    this.checkSampled('sampleImages');
    return this.engine.readF32(this.mod._w_sample_images(this.ptr), this.sampleCount * this.D);
  }
  // The largest |network output| of the chain so far, over all its images, and the t of the step
  // it came at, and the largest |x_t| of that step's input ({ peak: 0, t: 0, input: 0 } before the
  // first step); inRange, the same over the steps whose input was within xtFarBound: see
  // outputBlownUp
  sampleOutputPeak() {
    this.checkSampled('sampleOutputPeak');
    const mod = this.mod, p = this.ptr;
    return { peak: mod._w_sample_output_peak(p), t: mod._w_sample_output_peak_t(p), input: mod._w_sample_output_peak_input(p),
             inRange: { peak: mod._w_sample_in_range_peak(p), t: mod._w_sample_in_range_peak_t(p), input: mod._w_sample_in_range_peak_input(p) } };
  }
  sampleTrajectory() {
    this.checkSampled('sampleTrajectory');
    const n = (this.T + 1) * this.D, e = this.engine;
    return { x: e.readF32(this.mod._w_traj(this.ptr, 0), n), epsPred: e.readF32(this.mod._w_traj(this.ptr, 1), n),
             x0Pred: e.readF32(this.mod._w_traj(this.ptr, 2), n) };
  }

  // Checkpoints (format: README "Checkpoint format"). The file's bytes, as an array of their own
  saveCheckpoint({ optimizer = true } = {}) {
    return this.writeCheckpoint(optimizer, (file) => file.slice());
  }
  // the same file as a Blob, what a page downloads: a Blob copies its parts as it is made, so it
  // is made straight from wasm memory, without the array's copy (11-33 MB; Save's longest task
  // 91 ms at the median, from 131 with the copy)
  saveCheckpointBlob({ optimizer = true } = {}) {
    return this.writeCheckpoint(optimizer, (file) => new Blob([file], { type: 'application/octet-stream' }));
  }
  // C writes the file into a buffer of its size; `take` makes what is returned from a view of
  // it, before the buffer is freed
  writeCheckpoint(optimizer, take) {
    const e = this.engine;
    const size = this.mod._w_checkpoint_size(this.ptr, optimizer ? 1 : 0);
    return e.withBuffers([size], (p) => {
      e.check(this.mod._w_checkpoint_save(this.ptr, p, size, optimizer ? 1 : 0));
      return take(this.mod.HEAPU8.subarray(p, p + size));
    });
  }
  // The longest file a load of this model could take (C's ddpm_checkpoint_max_size; the engine's
  // maxCheckpointBytes gives it for a config, with no model)
  get maxCheckpointBytes() { return this.mod._w_model_checkpoint_max_size(this.ptr); }
  loadCheckpoint(bytes) {
    bytes = asBytes('loadCheckpoint', bytes);
    // a file longer than any of this model's is refused before it is copied into the module,
    // which a file of 2 GB ran out of memory for (its refusal named an allocation, not the file)
    const most = this.maxCheckpointBytes;
    if (bytes.length > most) throw new DDPMError(6, tooLongForModel(bytes.length, most, this.engine.maxSteps));
    const e = this.engine;
    e.withBuffers([bytes.length], (p) => {
      this.mod.HEAPU8.set(bytes, p);
      e.check(this.mod._w_checkpoint_load(this.ptr, p, bytes.length));
    });
    // C ends a chain in progress (it was of the old weights): what it left is not the file's to read
    this.chainEnded();
  }
}

// the refusal of a file longer than any checkpoint of a model can be (atLeast: a pipe, read only
// as far as the bound)
export const tooLongForModel = (length, most, maxSteps, { atLeast = false } = {}) =>
  `checkpoint: ${atLeast ? 'at least ' : ''}${length} bytes, more than any checkpoint of this model can be (${most} bytes: ` +
  `its weights, AdamW's two moments, an EMA and the losses of ${maxSteps} steps): not a checkpoint of it, or damaged`;

// an input array's values, all finite, or the first that is not, by name and index
function checkFinite(what, name, array) {
  const i = array.findIndex((v) => !Number.isFinite(v));
  if (i >= 0) throw new DDPMError(7, `${what}: ${name}[${i}] is ${array[i]}; the values must be finite`);
}

// a file's bytes as a Uint8Array (a Node Buffer is one); an ArrayBuffer (what a File's
// arrayBuffer() gives) is viewed as one, and anything else is refused by name, not read as 0 bytes
function asBytes(what, bytes) {
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (bytes instanceof Uint8Array) return bytes;
  throw new DDPMError(7, `${what}: the file's bytes must be a Uint8Array or an ArrayBuffer (got ${Object.prototype.toString.call(bytes)})`);
}

// Read the header of a checkpoint (no validation beyond the magic and the length; loading
// validates fully).
export function checkpointHeader(bytes) {
  bytes = asBytes('checkpointHeader', bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  // (in C's order: what the file is, then whether it is whole)
  if (bytes.length < 8) throw new DDPMError(6, `checkpoint: not a DDPM checkpoint (${bytes.length} bytes${bytes.length ? ': too few to be one' : ': an empty file'})`);
  if (magic !== 'DDPMCKPT') throw new DDPMError(6, 'checkpoint: not a DDPM checkpoint (its first 8 bytes are not the marker DDPMCKPT)');
  if (bytes.length < 84) throw new DDPMError(6, `checkpoint: truncated: ${bytes.length} bytes is shorter than the 84-byte header`);
  const u32 = (o) => view.getUint32(o, true), f64 = (o) => view.getFloat64(o, true);
  if (u32(8) === 2 && bytes.length < 164) throw new DDPMError(6, `checkpoint: truncated: ${bytes.length} bytes is shorter than the 164-byte header of version 2`);
  // a code no name is known for (a damaged or foreign header) is named by its number, not undefined
  const named = (names, o) => names[u32(o)] ?? `unknown (code ${u32(o)})`;
  // version 2's run settings (null in a version 1 file), as config keys and values: what the run
  // that wrote the file was planned with, for a caller to go on with it
  const settings = u32(8) !== 2 ? null : {
    batch: u32(80), steps: u32(84), lr: f64(88), beta1: f64(96), beta2: f64(104), adam_eps: f64(112),
    weight_decay: f64(120), lr_min_frac: f64(128), ema_decay: f64(136),
    lr_schedule: named(['constant', 'cosine'], 144), sigma: named(['beta', 'beta-tilde'], 148),
    clip_x0: u32(152), seed: u32(156),
  };
  return {
    version: u32(8), image_size: u32(12), hidden: u32(16), temb_dim: u32(20),
    activation: named(['silu', 'relu'], 24), predict: named(['eps', 'x0'], 28), T: u32(32),
    schedule: named(['linear', 'linear-scaled', 'cosine'], 36),
    beta_start: view.getFloat64(40, true), beta_end: view.getFloat64(48, true),
    flags: u32(56), step: u32(60),
    // the flags' bits (c/checkpoint.c): what the file holds beside the weights
    hasAdam: (u32(56) & 1) !== 0, hasEma: (u32(56) & 2) !== 0, hasHistory: (u32(56) & 4) !== 0,
    settings,
  };
}

// The preset whose model a checkpoint header describes (the same architecture and schedule), or
// undefined: the page builds that preset's model for a file, the CLI takes it as the default
export const CHECKPOINT_ARCHITECTURE = ['image_size', 'hidden', 'temb_dim', 'activation', 'predict', 'T', 'schedule', 'beta_start', 'beta_end'];
export function checkpointPreset(header) {
  return Object.keys(PRESETS).find((p) => CHECKPOINT_ARCHITECTURE.every((k) => header[k] === PRESETS[p].config[k]));
}

// Mean squared error of an image against a reference: a[offset .. offset + b.length) against b
// (one image of a trajectory or of a batch). A measure for reports, not part of the model,
// whose maths lives in C.
export function mse(a, b, offset = 0) {
  if (offset + b.length > a.length) throw new DDPMError(7, `mse: ${b.length} floats from ${offset} leave an array of ${a.length}`);
  let s = 0;
  for (let i = 0; i < b.length; i++) { const d = a[offset + i] - b[i]; s += d * d; }
  return s / b.length;
}

// How x = a[offset .. offset + image.length) splits into the training image and the rest:
//   signal = <x, image> / <image, image>            the coefficient of the image in x
//   noise  = |x - signal image| / sqrt(D - 1)       the rest's size per dimension, over the D - 1
//                                                   dimensions at right angles to the image
// For x_t drawn by the forward process, x_t = sqrt(alpha_bar_t) image + sqrt(1 - alpha_bar_t) eps,
// signal has mean sqrt(alpha_bar_t) and sd sqrt((1 - alpha_bar_t) / <image, image>), and noise^2
// has mean 1 - alpha_bar_t: a reverse chain that undoes the forward process follows the two
// coefficients back. NaN for an image of zeros, which gives no direction to measure along.
export function alongImage(a, image, offset = 0) {
  const D = image.length;
  if (D < 2 || offset < 0 || offset + D > a.length) throw new DDPMError(7, `alongImage: ${D} floats from ${offset} leave an array of ${a.length}`);
  let xi = 0, ii = 0;
  for (let i = 0; i < D; i++) { const v = image[i]; xi += a[offset + i] * v; ii += v * v; }
  const signal = xi / ii;
  // summed directly, not as |x|^2 - signal <x, image>: that difference of two near sums loses
  // its digits when x is nearly a multiple of the image
  let rest = 0;
  for (let i = 0; i < D; i++) { const r = a[offset + i] - signal * image[i]; rest += r * r; }
  return { signal, noise: ii > 0 ? Math.sqrt(rest / (D - 1)) : NaN };
}

// A clean image (a sample, a predicted x0) beyond +-FAR_OUTSIDE is far outside the training
// image's [-1, 1]: the page and the CLI, which draw images clipped to [-1, 1], say so.
export const FAR_OUTSIDE = 1.5;

// x_t of a chain holds noise as well: sqrt(alpha_bar_t) of a clean image and sqrt(1 - alpha_bar_t)
// of a normal. Its values are far outside what they should be beyond FAR_OUTSIDE of the image
// part plus NOISE_FAR normals' widths. A normal passes 5.5 once in 2.6e7 draws; at 4 (once in
// 1.6e4) one of 768 values passes it in 5% of images, and most healthy chains of 101 images
// would be marked somewhere (tests/sampler.test.mjs counts both over 300 chains).
export const NOISE_FAR = 5.5;
export const xtFarBound = (sched, t, noiseFar = NOISE_FAR) =>
  FAR_OUTSIDE * sched.sqrt_alpha_bar[t] + noiseFar * sched.sqrt_one_minus_alpha_bar[t];

// A network whose output, from an input x_t in range, passes OUTPUT_BLOWN_UP in a chain has
// blown up (its weights, as a training that ran away leaves them): what it was trained to give is
// noise from N(0, 1) or an image in [-1, 1], and trained or not, both presets' chains peak at 0.2
// to 35 (tests/sampler.test.mjs). Named, not refused: unclipped, such a chain mostly runs away, C
// refusing it; with x0 clipped the chain stays finite, but past 1e3 the predicted noise moves x0 by
// more than 10 even at t = 1 with either preset's schedule (sqrt(1 - alpha_bar_1) is 0.01 and
// 0.032), so the clipping, not the network, sets every pixel of x0. An input far outside
// (xtFarBound) is a chain that ran away, x_t and the output growing together, which the sample's
// range names: the weights may be sound. So the sampler (c/sampler.c) keeps the peak of the steps
// whose input was in range apart, and that is what is judged: a blown-up network's chain that
// then ran away is named too. C judges by the same bounds (c/ddpm.h; tests/sampler.test.mjs).
// outputPeak: Model.sampleOutputPeak()
export const OUTPUT_BLOWN_UP = 1e3;
export const outputBlownUp = (outputPeak) => outputPeak.inRange.peak > OUTPUT_BLOWN_UP;

// The numbers of the reverse step from x_t (c/sampler.c, reverse_step), for a page to write the
// step out: unclipped, Ho et al.'s form x_{t-1} = scale (x_t - eps eps_pred) + noise z, with
// scale = 1/sqrt(alpha_t) and eps = beta_t / sqrt(1 - alpha_bar_t); clipped, the posterior mean
// x_{t-1} = x0 clip(x0_pred) + xt x_t + noise z. noise is sigma_t, the square root of beta_t or
// beta_tilde_t, as C takes it in float (0 at t = 1: the last step adds none).
export function reverseStepCoefficients(sched, t, { sigma = 'beta', clip = false } = {}) {
  const variance = sigma === 'beta' ? sched.beta[t] : sched.posterior_variance[t];
  const noise = t > 1 ? Math.fround(Math.sqrt(variance)) : 0;
  return clip
    ? { form: 'posterior', x0: sched.posterior_coef_x0[t], xt: sched.posterior_coef_xt[t], noise }
    : { form: 'eps', scale: sched.inv_sqrt_alpha[t], eps: sched.eps_coef[t], noise };
}

// The paper's bar for a reconstruction: a sample whose MSE against the training image is below
// it is the training image (the page's verdict, the CLI's summary, the sweep's count)
export const MSE_BAR = 0.01;

// A copy of the images in a, clipped to the training image's [-1, 1]: what a drawing of them
// shows (draw.mjs clips the same way), for the MSE of what the eye sees.
export function clipped(a) {
  return a.map((v) => Math.min(1, Math.max(-1, v)));
}

// The smallest and largest of a[offset .. offset + n): an image's range, for reports (a sample
// that ran far outside the training image's [-1, 1] is drawn clipped, and must say so).
export function extent(a, offset = 0, n = a.length - offset) {
  if (offset < 0 || n < 1 || offset + n > a.length) throw new DDPMError(7, `extent: ${n} floats from ${offset} leave an array of ${a.length}`);
  let lo = Infinity, hi = -Infinity;
  for (let i = offset; i < offset + n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i]; }
  return [lo, hi];
}
