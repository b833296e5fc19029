// tfjs_ddpm.mjs -- the same denoiser, training step and sampler written in TensorFlow.js, as the
// peer the benchmark compares against (scripts/bench.mjs). Only the benchmark uses it.
//
// The network is the one of c/model.c, shape for shape:
//   h0  = x_t + emb Wt + bt       emb (B,E) sinusoidal, Wt (E,D)   additive time embedding
//   h1  = silu(h0 W1 + b1)        W1 (D,H)
//   h2  = silu(h1 W2 + b2)        W2 (H,H)
//   out = h2 W3 + b3              W3 (H,D)
// Weights are stored (in, out), TensorFlow's own layout, so its matMul needs no transpose.
// The step is MSE on eps plus Adam (tf.train.adam: TF.js has no AdamW; the C side does AdamW,
// which is one more multiply per parameter, so the comparison slightly favours TF.js).
// The sampler is the paper's ancestral sampler (sigma_t^2 = beta_t, no clipping), one tf.tidy
// per step, with the noise drawn by tf.randomNormal.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

let ready = null;
// Select the wasm backend once (it picks its SIMD binary by itself when the engine has SIMD).
export function tfjsReady() {
  ready ??= (async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    return {
      backend: tf.getBackend(),
      version: tf.version_core,
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi' : 1,
    };
  })();
  return ready;
}

// sin half then cos half, frequency_i = 10000^(-i / (dim/2)): as timestep_embedding in c/model.c
function embedding(t, dim) {
  const half = dim / 2, out = new Float32Array(dim);
  for (let i = 0; i < half; i++) {
    const f = Math.exp(-Math.log(10000) * i / half);
    out[i] = Math.sin(t * f);
    out[half + i] = Math.cos(t * f);
  }
  return out;
}

// the paper's linear schedule, in double, as c/schedule.c
function linearSchedule(T, beta1 = 1e-4, betaT = 0.02) {
  const beta = [0], alphaBar = [1];
  for (let t = 1; t <= T; t++) {
    beta.push(T > 1 ? beta1 + (betaT - beta1) * (t - 1) / (T - 1) : beta1);
    alphaBar.push(alphaBar[t - 1] * (1 - beta[t]));
  }
  return { beta, alphaBar };
}

export class TfjsDDPM {
  // imageSize S (D = S*S*3), hidden H, tembDim E, T steps
  constructor({ imageSize = 16, hidden = 1024, tembDim = 128, T = 100, lr = 1e-3, seed = 0 } = {}) {
    this.D = imageSize * imageSize * 3;
    this.H = hidden;
    this.E = tembDim;
    this.T = T;
    this.sched = linearSchedule(T);
    const linear = (i, o, name) => {
      const bound = 1 / Math.sqrt(i);
      return [tf.variable(tf.randomUniform([i, o], -bound, bound, 'float32', seed + name), true, `${name}_w`),
              tf.variable(tf.randomUniform([o], -bound, bound, 'float32', seed + name + 1), true, `${name}_b`)];
    };
    [this.wt, this.bt] = linear(this.E, this.D, 1);
    [this.w1, this.b1] = linear(this.D, this.H, 3);
    [this.w2, this.b2] = linear(this.H, this.H, 5);
    [this.w3, this.b3] = linear(this.H, this.D, 7);
    this.vars = [this.wt, this.bt, this.w1, this.b1, this.w2, this.b2, this.w3, this.b3];
    this.optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
    // the training image: the red square of c/ddpm.c (make_red_square)
    const x0 = new Float32Array(this.D).fill(-1);
    const lo = imageSize / 4 | 0, hi = lo + (imageSize / 2 | 0);
    for (let y = lo; y < hi; y++) for (let x = lo; x < hi; x++) x0[(y * imageSize + x) * 3] = 1;
    this.x0 = tf.keep(tf.tensor2d(x0, [1, this.D]));
    this.rngState = seed >>> 0;
  }

  // a small integer generator for the timesteps (the noise comes from tf.randomNormal)
  randInt(lo, hi) {
    this.rngState = (Math.imul(this.rngState, 1664525) + 1013904223) >>> 0;
    return lo + (this.rngState % (hi - lo + 1));
  }

  // emb (B,E) for timesteps ts
  embeddings(ts) {
    const out = new Float32Array(ts.length * this.E);
    ts.forEach((t, b) => out.set(embedding(t, this.E), b * this.E));
    return tf.tensor2d(out, [ts.length, this.E]);
  }

  // out (B,D) for x (B,D) and emb (B,E)
  forward(x, emb) {
    const silu = (a) => tf.mul(a, tf.sigmoid(a));
    const h0 = tf.add(x, tf.add(tf.matMul(emb, this.wt), this.bt));
    const h1 = silu(tf.add(tf.matMul(h0, this.w1), this.b1));
    const h2 = silu(tf.add(tf.matMul(h1, this.w2), this.b2));
    return tf.add(tf.matMul(h2, this.w3), this.b3);
  }

  // One optimiser step on a batch of B draws (t uniform in 1..T, eps ~ N(0, I)). Returns nothing:
  // reading the loss back would add a synchronisation the C step does not have.
  trainStep(B) {
    const ts = Array.from({ length: B }, () => this.randInt(1, this.T));
    const a = ts.map((t) => Math.sqrt(this.sched.alphaBar[t]));
    const s = ts.map((t) => Math.sqrt(1 - this.sched.alphaBar[t]));
    tf.tidy(() => {
      const emb = this.embeddings(ts);
      const eps = tf.randomNormal([B, this.D]);
      // x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, per sample
      const xt = tf.add(tf.mul(tf.tensor2d(a, [B, 1]), this.x0), tf.mul(tf.tensor2d(s, [B, 1]), eps));
      this.optimizer.minimize(() => tf.mean(tf.square(tf.sub(this.forward(xt, emb), eps))), false, this.vars);
    });
  }

  // The denoiser on n copies of a fixed input at t = T/2, read back (so the work is really done).
  denoise(x, n) {
    const out = tf.tidy(() => this.forward(x, this.embeddings(new Array(n).fill(this.T >> 1))));
    const data = out.dataSync();
    out.dispose();
    return data;
  }

  // Ancestral sampling of n images, T steps; returns the final images.
  sample(n) {
    const { beta, alphaBar } = this.sched;
    let x = tf.randomNormal([n, this.D]);
    for (let t = this.T; t >= 1; t--) {
      const next = tf.tidy(() => {
        const emb = tf.tile(this.embeddings([t]), [n, 1]);
        const eps = this.forward(x, emb);
        // mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)
        const mean = tf.mul(tf.sub(x, tf.mul(eps, beta[t] / Math.sqrt(1 - alphaBar[t]))), 1 / Math.sqrt(1 - beta[t]));
        return t > 1 ? tf.add(mean, tf.mul(tf.randomNormal([n, this.D]), Math.sqrt(beta[t]))) : mean;
      });
      x.dispose();
      x = next;
    }
    const data = x.dataSync();
    x.dispose();
    return data;
  }

  // wait until queued work is done (the wasm backend runs synchronously; this reads one value)
  sync() { this.wt.dataSync(); }

  dispose() {
    this.vars.forEach((v) => v.dispose());
    this.optimizer.dispose();
    this.x0.dispose();
  }
}

export { tf };
