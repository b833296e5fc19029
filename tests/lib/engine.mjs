// engine.mjs -- shared set-up for the engine tests: one SIMD and one scalar engine per process.
import assert from 'node:assert/strict';
import { loadEngine } from '../../web/ddpm.mjs';

let simd, scalar;
export async function simdEngine() { return (simd ??= await loadEngine({ simd: true })); }
export async function scalarEngine() { return (scalar ??= await loadEngine({ simd: false })); }

// a small model: fast enough for finite differences and exhaustive checks
export const SMALL = { preset: 'paper', image_size: 4, hidden: 16, temb_dim: 8, T: 20, max_batch: 8 };

export function sameBits(a, b) {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

export function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// run one kernel twice in the SIMD module: through SIMD, then forced onto its scalar twin
export function simdAndScalar(engine, name, arrays, scalars, outputs) {
  engine.forceScalar(false);
  const simd = engine.kernel(name, arrays, scalars, outputs);
  engine.forceScalar(true);
  const scalar = engine.kernel(name, arrays, scalars, outputs);
  engine.forceScalar(false);
  return { simd, scalar };
}

// A training run under `train` (a function of the model), in the fused order (the default) or
// the plain one (ddpm_force_unfused: the whole gradient in memory, the forward at the start of
// each step): its losses, weights and AdamW state. The fused-order tests compare the two.
export function trainRun(engine, config, train, { plain = false } = {}) {
  engine.forceUnfused(plain);
  const model = engine.createModel(config);
  try {
    train(model);
    return { loss: model.lossHistory(), params: model.params(), ...model.adamState() };
  } finally {
    model.free();
    engine.forceUnfused(false);
  }
}

export function assertSameRun(a, b, what) {
  for (const k of ['loss', 'params', 'm', 'v']) assert.ok(sameBits(a[k], b[k]), `${what}: ${k} differs`);
}
