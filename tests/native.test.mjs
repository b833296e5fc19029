// The same C, three ways, the same bits: the native build (gcc -O3 -march=native, its SIMD kernels
// mapped onto SSE/AVX by SIMDe, c/simd.h), and the SIMD and scalar wasm modules. Each trains a
// small model and samples one image; the native driver prints FNV-1a digests of the trained
// weights and of the sample, computed here over the wasm builds' arrays.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadEngine } from '../web/ddpm.mjs';

const NATIVE = new URL('../build/native/ddpm_native', import.meta.url).pathname;

function fnv1a(floats) {
  const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

// batch 5 runs the 4-row tiles and a leftover sample; hidden 100 leaves edges to the 8-wide tiles
const CASES = [
  { preset: 'paper', steps: 4, hidden: 100 },
  { preset: 'recommended', steps: 3, batch: 5, hidden: 100, ema_decay: 0.9, seed: 7 },
  // ReLU: wasm's f32x4.max, which SIMDe emulates with x86 maxps natively (c/simd.h)
  { preset: 'recommended', steps: 3, batch: 4, hidden: 64, activation: 'relu', schedule: 'cosine', seed: 3 },
];

function native(args) {
  const r = spawnSync(NATIVE, args, { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.error ? `${NATIVE}: ${r.error.message} (run make first)` : r.stderr);
  return JSON.parse(r.stdout);
}

for (const { preset, ...overrides } of CASES) {
  test(`native (SIMD and scalar twins) and wasm (SIMD and scalar) agree bit for bit: ${preset} ${JSON.stringify(overrides)}`, async () => {
    const engines = [await loadEngine(), await loadEngine({ simd: false })];
    assert.equal(engines[0].simd, true, 'the SIMD wasm module runs SIMD');
    assert.equal(engines[1].simd, false);
    const wasm = engines.map((engine) => {
      const model = engine.createModel({ preset, ...overrides });
      try {
        model.train(model.config.steps);
        const { final } = model.sample({ n: 1, seed: model.config.seed, trajectory: false });
        return { params: fnv1a(model.params()), sample: fnv1a(final) };
      } finally { model.free(); }
    });
    // the native driver takes the full configuration as key=value, as the wasm models got it
    const model = engines[0].createModel({ preset, ...overrides });
    const args = Object.entries(model.config).map(([k, v]) => `${k}=${v}`);
    model.free();
    const simd = native(args), scalar = native(['--scalar', ...args]);
    assert.equal(simd.simd, 1, 'the native build runs its SIMD kernels');
    assert.equal(scalar.simd, 0, '--scalar runs the scalar twins');
    assert.ok(/^[0-9a-f]{16}$/.test(simd.params_fnv1a));
    for (const [name, got] of [['native scalar', scalar], ['wasm SIMD', wasm[0]], ['wasm scalar', wasm[1]]]) {
      assert.equal(got.params_fnv1a ?? got.params, simd.params_fnv1a, `${name}: trained weights`);
      assert.equal(got.sample_fnv1a ?? got.sample, simd.sample_fnv1a, `${name}: sample`);
    }
  });
}

test('the native driver prints null losses for a run of no steps, as the Node CLI does (0 would read as a perfect loss)', () => {
  const none = native(['steps=0', 'hidden=16']);
  assert.equal(none.loss_first, null);
  assert.equal(none.loss_final, null);
  const one = native(['steps=1', 'hidden=16']);
  assert.ok(one.loss_first > 0 && one.loss_final === one.loss_first);
});
