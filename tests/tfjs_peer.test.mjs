// The benchmark's peer (scripts/lib/tfjs_ddpm.mjs) is the model of c/model.c: given C's weights it
// gives C's output, and its schedule and training image are C's. The speed ratios against
// TF.js (make bench) compare like with like only if this holds: a peer missing a layer, or with
// its weights laid out the wrong way round, would be faster and still run.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { TfjsDDPM, tfjsReady } from '../scripts/lib/tfjs_ddpm.mjs';
import { simdEngine } from './lib/engine.mjs';
import { lcg, gaussian } from './lib/reference.mjs';

// C stores a Linear layer's W as (OC, C), rows of outputs; TF.js as (C, OC)
function transposed(w, rows, cols) {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return tf.tensor2d(out, [cols, rows]);
}

test('the TF.js peer, given C\'s weights, computes C\'s denoiser; its schedule and image are C\'s', async () => {
  await tfjsReady();
  const engine = await simdEngine();
  const S = 4, H = 32, E = 8, T = 20;
  const model = engine.createModel({ preset: 'paper', image_size: S, hidden: H, temb_dim: E, T, max_batch: 2, seed: 3 });
  const peer = new TfjsDDPM({ imageSize: S, hidden: H, tembDim: E, T });
  try {
    const D = model.D;
    assert.equal(model.config.activation, 'silu', 'the peer uses SiLU');
    // C's weights, moved off their initial values (the biases start at zero: a peer that dropped
    // one would not be seen), copied into the peer
    const params = Float32Array.from(model.params()), rand = lcg(5);
    for (let i = 0; i < params.length; i++) params[i] += 0.01 * (rand() - 0.5);
    model.setParams(params);
    const p = model.tensors();
    peer.wt.assign(transposed(p.temb_w, D, E));
    peer.w1.assign(transposed(p.fc1_w, H, D));
    peer.w2.assign(transposed(p.fc2_w, H, H));
    peer.w3.assign(transposed(p.fc3_w, D, H));
    for (const [v, name] of [[peer.bt, 'temb_b'], [peer.b1, 'fc1_b'], [peer.b2, 'fc2_b'], [peer.b3, 'fc3_b']]) v.assign(tf.tensor1d(p[name]));

    const ts = [1, 13], xt = gaussian(2 * D, lcg(11));
    const want = model.denoise(xt, ts);
    const got = tf.tidy(() => peer.forward(tf.tensor2d(xt, [2, D]), peer.embeddings(ts)).dataSync());
    let worst = 0, scale = 0;
    for (let i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    assert.ok(worst <= 1e-5 * scale + 1e-6, `the peer's output differs from C's by up to ${worst} (outputs up to ${scale})`);

    const sched = model.schedule();
    for (let t = 1; t <= T; t++) {
      assert.ok(Math.abs(peer.sched.alphaBar[t] - sched.alpha_bar[t]) < 1e-7, `alpha_bar_${t}`);
      assert.ok(Math.abs(peer.sched.beta[t] - sched.beta[t]) < 1e-9, `beta_${t}`);
    }
    assert.deepEqual(Array.from(peer.x0.dataSync()), Array.from(model.image()), 'the red square');
  } finally {
    model.free();
    peer.dispose();
  }
});
