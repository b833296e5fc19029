// reference.mjs -- an independent float64 implementation of the denoiser, its loss and its
// gradients, written straight from the maths (not from the C), for the tests to check against;
// and the other definitions tests hold the C to (the RNG, Box-Muller, the checkpoint's CRC-32).

export function embedding(t, dim) {
  const half = dim / 2, out = new Float64Array(dim);
  for (let i = 0; i < half; i++) {
    const freq = Math.pow(10000, -i / half);
    out[i] = Math.sin(t * freq);
    out[half + i] = Math.cos(t * freq);
  }
  return out;
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const ACT = {
  silu: { f: (x) => x * sigmoid(x), df: (x) => { const s = sigmoid(x); return s + x * s * (1 - s); } },
  relu: { f: (x) => (x > 0 ? x : 0), df: (x) => (x > 0 ? 1 : 0) },
};

// y (OC) = W (OC,C) x (C) + b
function linear(W, b, x, C, OC) {
  const y = new Float64Array(OC);
  for (let o = 0; o < OC; o++) {
    let s = b[o];
    for (let c = 0; c < C; c++) s += W[o * C + c] * x[c];
    y[o] = s;
  }
  return y;
}

// p: tensors {temb_w, temb_b, fc1_w, ...}; shapes from D, H, E
export function forward(p, x, t, { D, H, E, activation = 'silu' }) {
  const act = ACT[activation];
  const emb = embedding(t, E);
  const h0 = linear(p.temb_w, p.temb_b, emb, E, D).map((v, i) => v + x[i]);
  const a1 = linear(p.fc1_w, p.fc1_b, h0, D, H), h1 = a1.map(act.f);
  const a2 = linear(p.fc2_w, p.fc2_b, h1, H, H), h2 = a2.map(act.f);
  const out = linear(p.fc3_w, p.fc3_b, h2, H, D);
  return { emb, h0, a1, h1, a2, h2, out };
}

// mean over samples of the per-sample MSE, and its gradient for every tensor
export function lossAndGrad(p, xs, ts, targets, shape) {
  const { D, H, E, activation = 'silu' } = shape, act = ACT[activation], B = ts.length;
  const g = {};
  for (const k of Object.keys(p)) g[k] = new Float64Array(p[k].length);
  let loss = 0;
  // dW (OC,C) += dy x^T, db += dy; returns dx = W^T dy
  const back = (W, dWk, dbk, dy, x, C, OC) => {
    const dx = new Float64Array(C);
    for (let o = 0; o < OC; o++) {
      g[dbk][o] += dy[o];
      for (let c = 0; c < C; c++) { g[dWk][o * C + c] += dy[o] * x[c]; dx[c] += W[o * C + c] * dy[o]; }
    }
    return dx;
  };
  for (let b = 0; b < B; b++) {
    const x = xs.subarray(b * D, (b + 1) * D), y = targets.subarray(b * D, (b + 1) * D);
    const f = forward(p, x, ts[b], shape);
    const dout = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      const d = f.out[i] - y[i];
      loss += (d * d) / D / B;
      dout[i] = (2 * d) / D / B;
    }
    const dh2 = back(p.fc3_w, 'fc3_w', 'fc3_b', dout, f.h2, H, D);
    const da2 = dh2.map((v, i) => v * act.df(f.a2[i]));
    const dh1 = back(p.fc2_w, 'fc2_w', 'fc2_b', da2, f.h1, H, H);
    const da1 = dh1.map((v, i) => v * act.df(f.a1[i]));
    const dh0 = back(p.fc1_w, 'fc1_w', 'fc1_b', da1, f.h0, D, H);
    back(p.temb_w, 'temb_w', 'temb_b', dh0, f.emb, E, D);
  }
  return { loss, grads: g };
}

// For a single training image x0 the exact noise prediction has a closed form:
// eps = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t)
export function oracleEps(xt, x0, alphaBar) {
  const a = Math.sqrt(alphaBar), b = Math.sqrt(1 - alphaBar);
  return Float32Array.from(xt, (v, i) => (v - a * x0[i]) / b);
}

// deterministic pseudo-random numbers for test inputs (not the engine's generator)
export function lcg(seed) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}
// n values in [-scale, scale): randomArray(n, lcg(seed), scale)
export function randomArray(n, rand, scale = 1) {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}
export function gaussian(n, rand) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rand(), v = rand();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

// splitmix64's output function (Steele, Lea and Flood 2014), in BigInt
function mix64(z) {
  const mask = (1n << 64n) - 1n;
  z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & mask;
  z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & mask;
  return z ^ (z >> 31n);
}

// PCG32 as c/rng.c has it (O'Neill 2014, the seed and stream hashed into the starting state by
// mix64), in BigInt: words(n) gives the next n outputs; state() and inc, the generator's two words
export function pcg32(seed, stream) {
  const mask = (1n << 64n) - 1n, mul = 6364136223846793005n;
  let state = 0n;
  const inc = ((BigInt(stream) << 1n) | 1n) & mask;
  const next = () => {
    const old = state;
    state = (old * mul + inc) & mask;
    const xorshifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rot = Number(old >> 59n);
    return ((xorshifted >>> rot) | (xorshifted << ((32 - rot) & 31))) >>> 0;
  };
  next();
  state = (state + mix64((BigInt(seed) + 0x9E3779B97F4A7C15n * (BigInt(stream) + 1n)) & mask)) & mask;
  next();
  return { words: (n) => Uint32Array.from({ length: n }, next), state: () => state, inc };
}

// Box-Muller of one pair of words in float64, the transform normals_from_bits does in float:
// u1 = (k1 + 1) / 2^24, u2 = k2 / 2^24 (k = the top 24 bits), z = sqrt(-2 ln u1) (cos, sin)(2 pi u2)
export function boxMuller(w1, w2) {
  const r = Math.sqrt(-2 * Math.log(((w1 >>> 8) + 1) / 16777216)), theta = 2 * Math.PI * (w2 >>> 8) / 16777216;
  return { r, z0: r * Math.cos(theta), z1: r * Math.sin(theta) };
}

// CRC-32 (IEEE), written from its definition independently of the C, to forge checkpoint files
// whose checksum is right
export function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// a copy of a checkpoint file with its last 4 bytes set to the CRC of the rest
export function reseal(bytes) {
  const out = bytes.slice();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}
