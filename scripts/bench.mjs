#!/usr/bin/env node
// bench.mjs -- the speed benchmark (`make bench`). One run on one machine measures, as medians
// over repetitions after warm-up:
//   - a training step (forward + backward + AdamW) at batch 1 and 16, one denoiser forward at
//     batch 1 and 64, a full T-step ancestral sampling of 1 and of 64 images,
//   - for: this module with SIMD, the same C compiled to wasm without SIMD, the same C native
//     (cc -O3 -march=native, c/bench_main.c, its SIMD kernels on SSE/AVX through SIMDe), and
//     TensorFlow.js's wasm backend running the same model and step (scripts/lib/tfjs_ddpm.mjs),
//   - this machine's limits from inside the same wasm module (c/probes.c): streaming read and
//     read-modify-write bandwidth, and a peak SIMD arithmetic loop, beside the GB/s and GFLOP/s
//     the kernels reach,
//   - a scaling table: time per training step and per sampling step as the width, the image size
//     and T grow,
//   - the machine's phase (scripts/lib/phase.mjs: this VM's speed moves in phases of seconds, and
//     a slow one does not slow all code alike) around each window of the batch-16 step alone and
//     each round of the limits' round-robin, with what was measured in each phase.
// The implementations (the native one too) are timed round-robin (one repetition of each in turn),
// so a burst of load from another process on this 2-core machine hits them all alike. Ratios > 1 mean this
// project is faster, except wasm_vs_native, which is wasm time over native time.
//
//   node scripts/bench.mjs            a table on stdout (progress on stderr)
//   node scripts/bench.mjs --json     exactly one JSON object on stdout
//   node scripts/bench.mjs --quick    a tiny model and one repetition: checks that it all runs
//                                     (make test does this; its times mean nothing)
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadEngine } from '../web/ddpm.mjs';
import { tfjsReady, TfjsDDPM, tf } from './lib/tfjs_ddpm.mjs';
import { bestOf3, l1Reader, median, mediansByPhase, phasesBetween } from './lib/phase.mjs';

const args = process.argv.slice(2);
const USAGE = 'usage: node scripts/bench.mjs [--json] [--quick]   (a few minutes; --quick: a tiny model, seconds)';
if (args.includes('--help') || args.includes('-h')) { console.log(USAGE); process.exit(0); }
const unknown = args.filter((a) => a !== '--json' && a !== '--quick');
if (unknown.length) { console.error(`bench: unknown argument ${unknown.join(' ')}\n${USAGE}`); process.exit(2); }
const JSON_OUT = args.includes('--json');
const QUICK = args.includes('--quick');
const ROOT = new URL('..', import.meta.url).pathname;
const log = (text) => process.stderr.write(`${text}\n`);

// The model benchmarked: the paper's table (16x16x3, width 1024, T = 100, E = 128), or a tiny one.
const MODEL = QUICK ? { image_size: 4, hidden: 32, temb_dim: 128, T: 10 } : { image_size: 16, hidden: 1024, temb_dim: 128, T: 100 };
// warm-up runs and repetitions of each case
const PLAN = QUICK
  ? { train_b1: [1, 1], train_b16: [1, 1], denoise_b1: [1, 1], denoise_b64: [1, 1], sample_b1: [1, 1], sample_b64: [1, 1] }
  : { train_b1: [5, 30], train_b16: [2, 10], denoise_b1: [5, 50], denoise_b64: [2, 20], sample_b1: [1, 15], sample_b64: [1, 3] };
const CASES = [
  ['train_b1', 'train', 1], ['train_b16', 'train', 16], ['denoise_b1', 'denoise', 1],
  ['denoise_b64', 'denoise', 64], ['sample_b1', 'sample', 1], ['sample_b64', 'sample', 64],
];

// A full garbage collection before each timed run (not timed): TF.js leaves many short-lived JS
// objects, and collecting them during the next implementation's run (V8 also uses the second
// core for it) would charge one implementation for another's garbage.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

// Time fns (name -> function) round-robin: warm runs of each, then reps rounds of one run each.
// A short case (a training step, a forward) finds its data in the caches in a real loop, where
// it runs again and again; timed straight after another implementation's run (whose data fills
// the 32 MB L3 just as well) it would find them cold. So in each turn the names in `inTurn` run
// that many times untimed first, and the next run is the one timed: each implementation is
// timed warm, as in its own loop, and still in turn with the others against bursts of load.
function roundRobin(fns, warm, reps, inTurn = {}) {
  const names = Object.keys(fns), times = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) for (let i = 0; i < warm && !fns[n].warmsItself; i++) fns[n]();
  for (let r = 0; r < reps; r++) {
    for (const n of names) {
      collectGarbage();  // before the warm runs: a full collection walks the heap and would cool the caches again
      for (let i = 0; i < (inTurn[n] ?? 0); i++) fns[n]();
      const t0 = performance.now();
      const own = fns[n]();
      times[n].push(own?.ms ?? performance.now() - t0);  // a case that times itself (the native process)
    }
  }
  // the medians; each round's own times too (not enumerable: callers iterate over the medians)
  return Object.defineProperty(Object.fromEntries(names.map((n) => [n, median(times[n])])), 'rounds', { value: times });
}

function timeOne(fn, warm, reps) { return roundRobin({ x: fn }, warm, reps).x; }

// x (n, D) fixed inputs and timesteps for the denoiser cases
function denoiseInputs(n, D, T) {
  const x = new Float32Array(n * D);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 2001) / 1000 - 1;
  return { x, ts: Array.from({ length: n }, (_, b) => 1 + ((b * 37) % T)) };
}

// One case for one of our engines: a fresh model, and the function that runs the case once.
function ourCase(engine, kind, n) {
  const model = engine.createModel({ preset: 'paper', ...MODEL, batch: kind === 'train' ? n : 1, max_batch: n, steps: 1e6 });
  const { x, ts } = denoiseInputs(n, model.D, model.T);
  const run = kind === 'train' ? () => model.train(1)
    : kind === 'denoise' ? () => model.denoise(x, ts)
    : () => model.sample({ n, seed: 1, trajectory: false });
  return { run, free: () => model.free(), numParams: model.numParams };
}

function tfjsCase(tfm, kind, n) {
  if (kind === 'train') return () => { tfm.trainStep(n); tfm.sync(); };
  if (kind === 'denoise') {
    const x = tf.keep(tf.tensor2d(denoiseInputs(n, tfm.D, tfm.T).x, [n, tfm.D]));
    return () => tfm.denoise(x, n);
  }
  return () => tfm.sample(n);
}

// The native build: brought up to date by make (a no-op when it is; a binary older than the C
// would time other code). It takes its turn in the round-robin like the wasm builds: each turn
// runs one case in a fresh process (its warm-up runs, then one timed run, timed inside the
// process, so starting it costs nothing here). Timed in a separate run before or after, it met
// another moment of this machine's memory: its batch-1 step read 3.9 to 7.0 ms from run to run.
const NATIVE_BIN = `${ROOT}build/native/ddpm_bench`;
function buildNative() {
  const mk = spawnSync('make', ['-s', '-C', ROOT, 'build/native/ddpm_bench'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (mk.status !== 0) throw new Error('bench: could not build build/native/ddpm_bench');
}
let nativeBuild = '';
function nativeCase(name, kind) {
  const cfg = Object.entries(MODEL).map(([k, v]) => `${k}=${v}`);
  const warm = QUICK ? 0 : kind === 'sample' ? 1 : 2;  // a chain of T steps warms itself
  const run = () => {
    const r = spawnSync(NATIVE_BIN, ['--case', name, '--warm', String(warm), '--reps', '1', ...cfg], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`bench: ddpm_bench --case ${name} failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    nativeBuild = out.build;
    return { ms: out[name] };  // roundRobin takes the time measured inside the process
  };
  run.warmsItself = true;
  return run;
}

// floating-point operations of the network (multiply-adds count 2; elementwise work ignored)
function flops(D, H, E) {
  const fwd = 2 * (E * D + D * H + H * H + H * D);  // temb, fc1, fc2, fc3
  const dinp = 2 * (H * D + H * H + D * H);         // fc3, fc2, fc1 (temb's input is not learnt)
  return { forward: fwd, trainSample: fwd + fwd + dinp }; // forward, weight gradients, dinp
}

// ---------------------------------------------------------------------------
// machine limits, from inside the SIMD module, and what the kernels reach beside them. All timed
// round-robin in one group, so a burst of load from another process lowers a limit and the work
// compared with it alike (a limit measured at a quiet moment would flatter or shame the kernels).

// the tiles kernels_tile_probe times (KERNELS_TILE_* in c/ddpm.h)
const TILE = { outer: 0, dots: 1 };

function limitsAndAchieved(engine, numParams) {
  const M = engine.mod;
  const buffers = [];
  const alloc = (n, value = 0.5) => {
    const p = engine.alloc(n * 4);
    M.HEAPF32.fill(value, p >> 2, (p >> 2) + n);
    buffers.push(p);
    return p;
  };
  const models = [];
  const model = (n, batch = 1) => {
    const m = engine.createModel({ preset: 'paper', ...MODEL, batch, max_batch: n, steps: 1e6 });
    models.push(m);
    return m;
  };
  // the machine's phase at the start of each round, read from L1 (scripts/lib/phase.mjs)
  const l1 = l1Reader(engine, QUICK ? 100 : 20000), l1Reads = [];
  try {
    // as many floats as the model has weights: fits in the L3 cache (32 MB here), which is where a
    // batch-1 forward finds its weights; read in one stream, in four, six and eight (equal parts), 10 times.
    // The work compared with the limits is timed warm too (roundRobin's inTurn): a sampling chain
    // finds its weights in L3 at every step after the first, as this read finds its array.
    const nw = Math.ceil(numParams / 32) * 32, w = alloc(nw), q = nw / 4, e = nw / 8, inner = 10;
    const six = Math.floor(nw / 24) * 4;  // six streams of a multiple of 4 floats (nearly all of w)
    // main memory: 4 arrays of 32 MB, far larger than any cache
    const nd = QUICK ? 1 << 16 : 8 << 20, [a, b, c, d] = [0, 1, 2, 3].map(() => alloc(nd));
    // AdamW over the model's parameter count (param, grad, m, v), as in a training step
    const na = Math.ceil(numParams / 4) * 4, [ap, ag, am, av] = [0.1, 0.01, 0.001, 0.0001].map((v) => alloc(na, v));
    // and AdamW's shape (3 arrays updated from a fourth) over 4 arrays of that same size: 44 MB in
    // all, a part of which the 32 MB L3 keeps from one pass to the next, as it does for AdamW; the
    // 32 MB arrays alone put AdamW at 1.03-1.11 of the limit in three runs
    const [u0, u1, u2, ux] = [0, 1, 2, 3].map(() => alloc(na));
    // and AdamW's own ceiling: the same kernel over 4 arrays of 1024 floats (16 KB: they stay in
    // the 32 KB L1), swept until it has updated as many parameters as the model has. With memory
    // out of the way, this is as fast as its arithmetic and its loads and stores let it run.
    const nl1 = 1024, sweeps = Math.ceil(na / nl1), [lp, lg, lm, lv] = [0.1, 0.01, 0.001, 0.0001].map((v) => alloc(nl1, v));
    const iters = QUICK ? 1000 : 1e7, tileReps = QUICK ? 30 : 3e4;
    const den = model(64), { x, ts } = denoiseInputs(64, den.D, den.T);
    const tr16 = model(16, 16), s1 = model(1), s64 = model(64);
    const steps1 = Math.min(QUICK ? 2 : 20, MODEL.T), steps64 = Math.min(QUICK ? 1 : 3, MODEL.T);
    const t = roundRobin({
      l1: () => { l1Reads.push(l1.read()); },
      peak: () => M._probe_peak(iters),
      // the batched kernels' two tiles alone, on operands in L1 (c/kernels.c, kernels_tile_probe)
      tile_outer: () => M._w_tile_probe(TILE.outer, tileReps),
      tile_dots: () => M._w_tile_probe(TILE.dots, tileReps),
      read1: () => { for (let k = 0; k < inner; k++) M._probe_read(w, nw); },
      read4: () => { for (let k = 0; k < inner; k++) M._probe_read4(w, w + 4 * q, w + 8 * q, w + 12 * q, q); },
      read6: () => { for (let k = 0; k < inner; k++) M._probe_read6(...[0, 1, 2, 3, 4, 5].map((i) => w + 4 * six * i), six); },
      read8: () => { for (let k = 0; k < inner; k++) M._probe_read8(...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => w + 4 * e * i), e); },
      mem_read4: () => M._probe_read4(a, b, c, d, nd),
      update1: () => M._probe_update(a, b, 0.5, nd),
      update2: () => M._probe_update2(a, b, c, d, 0.5, nd),
      update3: () => M._probe_update3(a, b, c, d, 0.5, nd),
      update3_model: () => M._probe_update3(u0, u1, u2, ux, 0.5, na),
      adamw: () => M._w_adamw_update(ap, ag, am, av, na, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5, 0.05),
      adamw_l1: () => { for (let k = 0; k < sweeps; k++) M._w_adamw_update(lp, lg, lm, lv, nl1, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.5, 0.05); },
      denoise_b64: () => den.denoise(x, ts),
      train_b16: () => tr16.train(1),
      sample_b1_steps: () => { s1.sampleBegin({ n: 1, seed: 1 }); s1.sampleContinue(steps1); },
      sample_b64_steps: () => { s64.sampleBegin({ n: 64, seed: 1 }); s64.sampleContinue(steps64); },
    }, QUICK ? 0 : 2, QUICK ? 1 : 15, QUICK ? {} : {
      // the reads of the L3-sized array warm too, as the kernels compared with them: their first
      // pass came from main memory (the round streams 4 x 32 MB through the caches), and 10 passes
      // so timed read 1.6-1.7x slower than warmed ones (the 6-stream read, timed by hand), which
      // put the read limit low and a sampling chain at 1.17 of it in one run
      read1: 1, read4: 1, read6: 1, read8: 1,
      denoise_b64: 1, train_b16: 1, sample_b1_steps: 1, sample_b64_steps: 1,
    });
    const gbs = (bytes, ms) => bytes / ms / 1e6;
    const D = MODEL.image_size ** 2 * 3, f = flops(D, MODEL.hidden, MODEL.temb_dim);
    // the limits, what the kernels reach and the fractions, from one set of times (name -> ms):
    // the medians, or one round's own
    const fromTimes = (t) => {
      const limits = {
        peak_simd_gflops: iters * M._probe_peak_flops_per_iter() / t.peak / 1e6,
        read1_gbs_weights_size: gbs(4 * nw * inner, t.read1),
        read4_gbs_weights_size: gbs(4 * nw * inner, t.read4),
        read6_gbs_weights_size: gbs(4 * 6 * six * inner, t.read6),
        read8_gbs_weights_size: gbs(4 * nw * inner, t.read8),
        read_gbs_memory: gbs(16 * nd, t.mem_read4),
        update1_gbs_memory: gbs(12 * nd, t.update1),
        update2_gbs_memory: gbs(24 * nd, t.update2),
        update3_gbs_memory: gbs(28 * nd, t.update3),
        update3_gbs_model_size: gbs(28 * na, t.update3_model),
      };
      // each limit is the best of its probes: a kernel with more streams in flight than a probe
      // can beat that probe, and a fraction above 1 would then say the "limit" is not one
      limits.read_gbs_weights_size = Math.max(limits.read1_gbs_weights_size, limits.read4_gbs_weights_size,
        limits.read6_gbs_weights_size, limits.read8_gbs_weights_size);
      limits.update_gbs_memory = Math.max(limits.update1_gbs_memory, limits.update2_gbs_memory, limits.update3_gbs_memory,
        limits.update3_gbs_model_size);
      const achieved = {
        // every weight is read once per sampling step (plus a little per-step work on D floats)
        sample_b1_step_ms: t.sample_b1_steps / steps1,
        sample_b1_gbs: gbs(4 * numParams * steps1, t.sample_b1_steps),
        adamw_ms: t.adamw,
        adamw_gbs: gbs(28 * na, t.adamw),  // reads param, grad, m, v; writes param, m, v
        train_b16_gflops: 16 * f.trainSample / t.train_b16 / 1e6,
        denoise_b64_gflops: 64 * f.forward / t.denoise_b64 / 1e6,
        sample_b64_gflops: 64 * steps64 * f.forward / t.sample_b64_steps / 1e6,
      };
      const fraction = {
        sample_b1_of_read_bw: achieved.sample_b1_gbs / limits.read_gbs_weights_size,
        adamw_of_update_bw: achieved.adamw_gbs / limits.update_gbs_memory,
        train_b16_of_peak: achieved.train_b16_gflops / limits.peak_simd_gflops,
        denoise_b64_of_peak: achieved.denoise_b64_gflops / limits.peak_simd_gflops,
        sample_b64_of_peak: achieved.sample_b64_gflops / limits.peak_simd_gflops,
      };
      return { limits, achieved, fraction };
    };
    const { limits, achieved, fraction } = fromTimes(t);
    // The same fractions round by round, each round's kernels against that round's own limits,
    // split by the machine's phase at the round's two ends (the L1 read that starts it and the
    // one that starts the next, or a last one after it): what the medians above mix. The warm
    // runs read L1 too; the reads kept are the rounds' own.
    l1Reads.push(l1.read());
    const rounds = t.rounds.peak.length, phases = phasesBetween(l1Reads.slice(-(rounds + 1)));
    const perRound = phases.map((_, r) => fromTimes(Object.fromEntries(Object.entries(t.rounds).map(([n, v]) => [n, v[r]]))).fraction);
    const { fast, slow, mixed } = mediansByPhase(phases, perRound, 'rounds');
    const fractionByPhase = { round_phases: phases, mixed_rounds: mixed, fast, slow };
    const tileGflops = (ms) => tileReps * M._w_tile_probe_flops() / ms / 1e6;
    const tiles = { outer_gflops: tileGflops(t.tile_outer), dots_gflops: tileGflops(t.tile_dots) };
    for (const k of ['outer', 'dots']) tiles[`${k}_of_peak`] = tiles[`${k}_gflops`] / limits.peak_simd_gflops;
    // The batch-16 step's floor from these same limits: its arithmetic at the SIMD peak, plus the
    // update's pass over W, m and v (each read and written, 24 bytes a parameter: the fused update
    // reads no gradient) at the read-modify-write bandwidth. Not a target, a yardstick for the
    // target: with the two in turn, even a step at its floor is this far from the peak.
    const floor = {
      train_b16_arithmetic_ms: 16 * f.trainSample / limits.peak_simd_gflops / 1e6,
      train_b16_update_stream_ms: 24 * numParams / limits.update_gbs_memory / 1e6,
    };
    floor.train_b16_in_turn_ms = floor.train_b16_arithmetic_ms + floor.train_b16_update_stream_ms;
    floor.train_b16_in_turn_of_peak = floor.train_b16_arithmetic_ms / floor.train_b16_in_turn_ms;
    floor.train_b16_measured_of_in_turn = floor.train_b16_in_turn_ms / t.train_b16;
    // and with its arithmetic at its tiles' own ceilings instead of the peak: the forward's
    // products in the 4x2 tile, the weight and input gradients' in the 4x8 one (timed as the
    // input gradients run it; the weight gradients run it inside AdamW, on 16 rows at a time)
    floor.train_b16_tiles_arithmetic_ms = 16 * (f.forward / tiles.dots_gflops + (f.trainSample - f.forward) / tiles.outer_gflops) / 1e6;
    floor.train_b16_tiles_in_turn_ms = floor.train_b16_tiles_arithmetic_ms + floor.train_b16_update_stream_ms;
    floor.train_b16_tiles_in_turn_of_peak = floor.train_b16_arithmetic_ms / floor.train_b16_tiles_in_turn_ms;
    floor.train_b16_measured_of_tiles_in_turn = floor.train_b16_tiles_in_turn_ms / t.train_b16;
    // AdamW's ceiling in the same bytes as the target (28 a parameter), against the limit
    const adamwCeiling = { l1_gbs: gbs(28 * sweeps * nl1, t.adamw_l1), l1_ns_per_param: t.adamw_l1 * 1e6 / (sweeps * nl1) };
    adamwCeiling.l1_of_update_bw = adamwCeiling.l1_gbs / limits.update_gbs_memory;
    adamwCeiling.measured_of_l1 = achieved.adamw_gbs / adamwCeiling.l1_gbs;
    return { limits, tiles, adamwCeiling, achieved, fraction, fractionByPhase, floor };
  } finally {
    l1.free();
    models.forEach((m) => m.free());
    buffers.forEach((p) => engine.free(p));
  }
}

// ---------------------------------------------------------------------------
// where the time of a step goes: the two phases of a batch-16 training step (the loss and the
// backward pass of its 16 samples, whose forward the previous update computed; then the update,
// where the weight gradients are formed in tiles, AdamW applied and the next step's forward
// computed: c/optimizer.c), and the noise one sampling step of 64 images draws

function stepParts(engine) {
  const model = engine.createModel({ preset: 'paper', ...MODEL, batch: 16, max_batch: 16, steps: 1e6 });
  const n = 64 * model.D, out = engine.alloc(4 * n);
  try {
    const gradient = [], update = [];
    for (let r = 0; r < (QUICK ? 1 : 17); r++) {
      collectGarbage();
      const t0 = performance.now();
      model.trainWork(16);
      const t1 = performance.now();
      model.trainWork(1, model.numParams);
      const t2 = performance.now();
      if (r >= (QUICK ? 0 : 2)) { gradient.push(t1 - t0); update.push(t2 - t1); }  // the first 2 warm up
    }
    const noise = timeOne(() => engine.mod._w_rng_normal(out, n, 1), QUICK ? 0 : 5, QUICK ? 1 : 30);
    return { train_b16_gradient_ms: median(gradient), train_b16_update_ms: median(update), noise_64_images_ms: noise, noise_values: n };
  } finally {
    model.free();
    engine.free(out);
  }
}

// ---------------------------------------------------------------------------
// the batch-16 step alone, back to back, in windows of steps, each window with its own peak: on
// this machine the speed of everything moves in phases of seconds with nothing else running
// (docs/bench.md, "Why the miss"), the step's time by about half and the peak by less, and one
// number cannot show that. The target keeps the median of the round-robin above; this shows the
// spread, and the step's fraction of the peak measured beside it in the same window.

// The machine runs in phases of seconds (docs/bench.md, "Why the miss"), and a slow phase does
// not slow everything alike: so each window also times, after its steps, the peak loop, the
// 4x8 tile alone (operands in L1) and a read of 16 KB (in L1), each the best of 3; the L1 read
// also once before the first window. A phase can change within a window, so a window's phase is
// read from the L1 reads on its two sides (scripts/lib/phase.mjs); the summary gives each
// quantity's median over the fast windows and over the slow ones.
function stepTrace(engine, stepGflop) {
  const model = engine.createModel({ preset: 'paper', ...MODEL, batch: 16, max_batch: 16, steps: 1e6 });
  const M = engine.mod, windows = QUICK ? 2 : 30, size = QUICK ? 2 : 20, iters = QUICK ? 1000 : 2e6;
  const tileReps = QUICK ? 30 : 3000, l1 = l1Reader(engine, QUICK ? 100 : 20000);
  try {
    for (let i = 0; i < (QUICK ? 1 : 5); i++) model.train(1);   // warm: the first steps run before V8's optimising tier
    M._probe_peak(iters);
    const l1Before = l1.read();
    const medians = [], peaks = [], tiles = [], l1Reads = [];
    for (let w = 0; w < windows; w++) {
      const times = [];
      for (let i = 0; i < size; i++) {
        const t0 = performance.now();
        model.train(1);
        times.push(performance.now() - t0);
      }
      medians.push(median(times));
      peaks.push(iters * M._probe_peak_flops_per_iter() / bestOf3(() => M._probe_peak(iters)) / 1e6);
      tiles.push(tileReps * M._w_tile_probe_flops() / bestOf3(() => M._w_tile_probe(TILE.outer, tileReps)) / 1e6);
      l1Reads.push(l1.read());
    }
    const ofPeak = medians.map((ms, w) => stepGflop / (ms / 1e3) / peaks[w]);
    const fastest = Math.min(...medians), slowest = Math.max(...medians);
    const phaseOf = phasesBetween([l1Before, ...l1Reads]);
    const { fast, slow, mixed } = mediansByPhase(phaseOf, medians.map((ms, w) => ({
      step_ms: ms, step_of_peak: ofPeak[w], peak_gflops: peaks[w],
      tile_outer_gflops: tiles[w], tile_outer_of_peak: tiles[w] / peaks[w], l1_read_gbs: l1Reads[w],
    })), 'windows');
    return { window_steps: size, window_medians_ms: medians, window_peak_gflops: peaks, window_of_peak: ofPeak,
      window_tile_outer_gflops: tiles, window_l1_read_gbs: l1Reads, l1_read_before_gbs: l1Before, window_phase: phaseOf,
      fastest_ms: fastest, slowest_ms: slowest, windows_near_fastest: medians.filter((m) => m <= 1.1 * fastest).length,
      of_peak_at_fastest: ofPeak[medians.indexOf(fastest)], of_peak_at_slowest: ofPeak[medians.indexOf(slowest)],
      best_of_peak: Math.max(...ofPeak),
      phases: { fast, slow, mixed_windows: mixed } };
  } finally { model.free(); l1.free(); }
}

// ---------------------------------------------------------------------------
// scaling: time per training step (batch 1) and per sampling step (1 image) as the model grows

function scalingPoint(engine, config) {
  const model = engine.createModel({ preset: 'paper', ...MODEL, ...config, batch: 1, max_batch: 1, steps: 1e6 });
  try {
    const train = timeOne(() => model.train(1), QUICK ? 0 : 2, QUICK ? 1 : 9);
    const big = model.numParams > 8e6;
    const sample = timeOne(() => model.sample({ n: 1, seed: 1, trajectory: false }), QUICK || big ? 0 : 1, QUICK || big ? 1 : 3);
    return {
      hidden: config.hidden ?? MODEL.hidden, image_size: config.image_size ?? MODEL.image_size, T: config.T ?? MODEL.T,
      params: model.numParams, train_step_ms: train, sample_step_ms: sample / model.T, sample_chain_ms: sample,
    };
  } finally { model.free(); }
}

function scaling(engine) {
  const axes = QUICK
    ? { hidden: [32, 64], image_size: [4, 8], T: [10, 20] }
    : { hidden: [256, 512, 1024, 2048, 4096], image_size: [16, 32, 64], T: [100, 250, 500, 1000] };
  const table = {};
  for (const [key, values] of Object.entries(axes)) {
    table[key] = values.map((value) => {
      log(`bench: scaling ${key} = ${value}`);
      return scalingPoint(engine, { [key]: value });
    });
  }
  return table;
}

// ---------------------------------------------------------------------------

function machine() {
  let lscpu = '';
  try { lscpu = spawnSync('lscpu', { encoding: 'utf8' }).stdout || ''; } catch { /* not on every system */ }
  const field = (name) => (lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, 'm')) || [])[1]?.trim();
  return {
    cpu: field('Model name') || os.cpus()[0]?.model || 'unknown',
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    l3: field('L3 cache') || 'unknown',
    node: process.version, v8: process.versions.v8, platform: `${os.platform()} ${os.arch()}`,
  };
}

async function main() {
  const simd = await loadEngine({ simd: true }), scalar = await loadEngine({ simd: false });
  if (!simd.simd) throw new Error('bench: the SIMD module does not report SIMD');
  const tfInfo = await tfjsReady();
  const result = {
    command: `node scripts/bench.mjs ${args.join(' ')}`.trim(), date: new Date().toISOString(), quick: QUICK,
    machine: { ...machine(), tfjs: `${tfInfo.version} ${tfInfo.backend} simd=${tfInfo.simd} threads=${tfInfo.threads}` },
    model: { ...MODEL },
    load_average_at_start: os.loadavg()[0] || 0.01,  // other processes on the 2 cores: noise
  };

  log('bench: native build');
  buildNative();
  const ms = {};
  const tfm = new TfjsDDPM({ imageSize: MODEL.image_size, hidden: MODEL.hidden, tembDim: MODEL.temb_dim, T: MODEL.T });
  let numParams = 0;
  for (const [name, kind, n] of CASES) {
    log(`bench: ${name}`);
    const ours = { simd: ourCase(simd, kind, n), scalar: ourCase(scalar, kind, n) };
    numParams = ours.simd.numParams;
    const [warm, reps] = PLAN[name];
    const inTurn = kind === 'sample' || QUICK ? {} : { simd: 1, scalar: 1, tfjs: 1 };  // a chain of T steps warms itself
    const t = roundRobin({ simd: ours.simd.run, scalar: ours.scalar.run, native: nativeCase(name, kind), tfjs: tfjsCase(tfm, kind, n) },
      warm, reps, inTurn);
    ms[name] = t;
    ours.simd.free(); ours.scalar.free();
  }
  tfm.dispose();
  result.machine.native = nativeBuild;
  result.model.params = numParams;
  result.ms = ms;

  // what the fusions buy (c/optimizer.c: each weight gradient formed inside AdamW, and the next
  // step's forward computed by the update): the same steps, the same bits, with and without
  // them (batch 1 in both builds, batch 16 in the SIMD one)
  log('bench: training steps, fused and unfused');
  const fusion = {};
  for (const [name, engine, n] of [['simd', simd, 1], ['scalar', scalar, 1], ['simd_b16', simd, 16]]) {
    const c = ourCase(engine, 'train', n), plan = n === 1 ? PLAN.train_b1 : PLAN.train_b16;
    const unfused = () => { engine.forceUnfused(true); c.run(); engine.forceUnfused(false); };
    const t = roundRobin({ fused: c.run, unfused }, plan[0], plan[1], QUICK ? {} : { fused: 1, unfused: 1 });
    fusion[`${name}_fused_ms`] = t.fused;
    fusion[`${name}_unfused_ms`] = t.unfused;
    c.free();
  }
  result.fusion = fusion;
  log('bench: parts of a step');
  result.parts = stepParts(simd);

  log('bench: the batch-16 step alone, in windows');
  result.step_trace = stepTrace(simd, 16 * flops(MODEL.image_size ** 2 * 3, MODEL.hidden, MODEL.temb_dim).trainSample / 1e9);

  log('bench: machine limits and what the kernels reach');
  const lim = limitsAndAchieved(simd, numParams);
  result.limits = lim.limits;
  result.achieved = lim.achieved;
  result.fraction_of_limit = lim.fraction;
  result.fraction_of_limit_by_phase = lim.fractionByPhase;
  result.floor = lim.floor;
  result.tiles = lim.tiles;
  result.adamw_ceiling = lim.adamwCeiling;
  result.ratios = {};
  for (const [name] of CASES) {
    result.ratios[`simd_vs_scalar_${name}`] = ms[name].scalar / ms[name].simd;
    result.ratios[`vs_tfjs_${name}`] = ms[name].tfjs / ms[name].simd;
    result.ratios[`wasm_vs_native_${name}`] = ms[name].simd / ms[name].native;
  }
  result.scaling = scaling(simd);

  // the keys issue 4 names, and the targets
  const r = result.ratios, fr = result.fraction_of_limit;
  Object.assign(result, {
    ratio_simd_vs_scalar_train_b1: r.simd_vs_scalar_train_b1,
    ratio_vs_tfjs_train_b1: r.vs_tfjs_train_b1,
    ratio_vs_tfjs_train_b16: r.vs_tfjs_train_b16,
    ratio_vs_tfjs_sample_b1: r.vs_tfjs_sample_b1,
    ratio_vs_tfjs_sample_b64: r.vs_tfjs_sample_b64,
    ratio_wasm_vs_native_train_b1: r.wasm_vs_native_train_b1,
    sample_b1_ms: ms.sample_b1.simd,
    train_b1_ms: ms.train_b1.simd,
  });
  const target = (name, value, goal, atMost = false) => ({ name, value, goal, met: atMost ? value <= goal : value >= goal });
  result.targets = [
    target('SIMD vs scalar wasm, training step batch 1 (x)', r.simd_vs_scalar_train_b1, 3),
    target('vs TF.js-wasm, training step batch 1 (x)', r.vs_tfjs_train_b1, 8),
    target('vs TF.js-wasm, training step batch 16 (x)', r.vs_tfjs_train_b16, 3),
    target('vs TF.js-wasm, sampling 1 image (x)', r.vs_tfjs_sample_b1, 2),
    target('vs TF.js-wasm, sampling 64 images (x)', r.vs_tfjs_sample_b64, 1),
    target('wasm SIMD time / native time, training step batch 1', r.wasm_vs_native_train_b1, 1.5, true),
    target('sampling 1 image: fraction of read bandwidth (weights-sized)', fr.sample_b1_of_read_bw, 0.7),
    target('AdamW: fraction of read-modify-write bandwidth (memory)', fr.adamw_of_update_bw, 0.7),
    target('training step batch 16: fraction of SIMD peak', fr.train_b16_of_peak, 0.5),
    target('denoiser batch 64: fraction of SIMD peak', fr.denoise_b64_of_peak, 0.5),
    target('sampling 64 images: fraction of SIMD peak', fr.sample_b64_of_peak, 0.5),
  ];

  result.load_average_at_end = os.loadavg()[0] || 0.01;
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(report(result));
}

// ---------------------------------------------------------------------------
// the human-readable report

function report(res) {
  const f = (x, d = 2) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(d));
  const pad = (s, n) => String(s).padEnd(n);
  const lines = [];
  lines.push(`# ${res.command}   ${res.date}${res.quick ? '   (QUICK: tiny model, one repetition; times mean nothing)' : ''}`);
  lines.push(`# ${res.machine.cpu}, ${res.machine.cores} cores, L3 ${res.machine.l3}; Node ${res.machine.node}; TF.js ${res.machine.tfjs}`);
  lines.push(`# model: ${res.model.image_size}x${res.model.image_size}x3, width ${res.model.hidden}, T = ${res.model.T}, ${res.model.params} parameters`);
  lines.push(`# native: ${res.machine.native}`);
  lines.push('');
  lines.push('median ms      wasm SIMD  wasm scalar   native   TF.js-wasm   SIMD/scalar  vs TF.js  wasm/native');
  for (const [name] of CASES) {
    const m = res.ms[name];
    lines.push(`${pad(name, 14)} ${pad(f(m.simd), 10)} ${pad(f(m.scalar), 12)} ${pad(f(m.native), 8)} ${pad(f(m.tfjs), 12)} ` +
      `${pad(f(m.scalar / m.simd) + 'x', 12)} ${pad(f(m.tfjs / m.simd) + 'x', 9)} ${f(m.simd / m.native)}`);
  }
  const l = res.limits, a = res.achieved;
  lines.push('');
  lines.push(`machine limits (wasm, this run): peak SIMD ${f(l.peak_simd_gflops)} GFLOP/s; read ${f(l.read_gbs_weights_size)} GB/s ` +
    `(weights-sized, best of 1, 4, 6 and 8 streams), ${f(l.read_gbs_memory)} GB/s (4 x 32 MB); read-modify-write ${f(l.update_gbs_memory)} GB/s ` +
    `(best of 1, 2 and 3 arrays updated, 32 MB each, and 3 of the model's size)`);
  lines.push(`achieved (timed round-robin with the limits): sampling 1 image ${f(a.sample_b1_gbs)} GB/s ` +
    `(${f(a.sample_b1_step_ms, 3)} ms per step), AdamW ${f(a.adamw_gbs)} GB/s (${f(a.adamw_ms)} ms); ` +
    `training batch 16 ${f(a.train_b16_gflops)} GFLOP/s, denoiser batch 64 ${f(a.denoise_b64_gflops)} GFLOP/s, ` +
    `sampling 64 images ${f(a.sample_b64_gflops)} GFLOP/s`);
  const ti = res.tiles;
  lines.push(`the batched kernels' tiles alone, operands in L1 (kernels_tile_probe): the gradients' 4x8 tile ` +
    `${f(ti.outer_gflops)} GFLOP/s (${f(ti.outer_of_peak)} of peak), the forward's 4x2 tile ${f(ti.dots_gflops)} ` +
    `GFLOP/s (${f(ti.dots_of_peak)} of peak)`);
  const ac = res.adamw_ceiling;
  lines.push(`AdamW alone on arrays in L1 (4 x 1024 floats, swept as often as the model has parameters): ` +
    `${f(ac.l1_gbs)} GB/s in the target's bytes (${f(ac.l1_ns_per_param, 3)} ns a parameter), ${f(ac.l1_of_update_bw)} of the ` +
    `read-modify-write limit: what its arithmetic, loads and stores allow with memory out of the way; AdamW from memory ran at ` +
    `${f(ac.measured_of_l1)} of that`);
  const fl = res.floor;
  lines.push(`the batch-16 step's floor from these limits: arithmetic at peak ${f(fl.train_b16_arithmetic_ms)} ms + AdamW's ` +
    `pass over W, m, v at the read-modify-write bandwidth ${f(fl.train_b16_update_stream_ms)} ms = ${f(fl.train_b16_in_turn_ms)} ms ` +
    `in turn, which is ${f(fl.train_b16_in_turn_of_peak)} of peak; the step measured with the limits is at ` +
    `${f(fl.train_b16_measured_of_in_turn)} of that floor; with its arithmetic at its tiles' ceilings instead ` +
    `${f(fl.train_b16_tiles_arithmetic_ms)} + ${f(fl.train_b16_update_stream_ms)} = ${f(fl.train_b16_tiles_in_turn_ms)} ms, ` +
    `${f(fl.train_b16_tiles_in_turn_of_peak)} of peak, the step at ${f(fl.train_b16_measured_of_tiles_in_turn)} of that`);
  const fu = res.fusion;
  lines.push(`training step with its fusions (weight gradients formed in AdamW, the next step's forward computed by the ` +
    `update) vs the plain order (same bits): batch 1 SIMD ${f(fu.simd_fused_ms)} vs ` +
    `${f(fu.simd_unfused_ms)} ms, scalar ${f(fu.scalar_fused_ms)} vs ${f(fu.scalar_unfused_ms)} ms; batch 16 SIMD ` +
    `${f(fu.simd_b16_fused_ms)} vs ${f(fu.simd_b16_unfused_ms)} ms`);
  const pa = res.parts;
  lines.push(`parts of a step: batch-16 training step = loss and backward ${f(pa.train_b16_gradient_ms)} ms + update ` +
    `(weight gradients in tiles, AdamW, the next step's forward) ${f(pa.train_b16_update_ms)} ms; the noise of one sampling step of 64 images ` +
    `(${pa.noise_values} normals) ${f(pa.noise_64_images_ms, 3)} ms`);
  const tr = res.step_trace;
  lines.push(`the batch-16 step alone, ${tr.window_medians_ms.length} windows of ${tr.window_steps} steps back to back, each ` +
    `with the peak (and the tile and L1 read below) measured after it: medians from ${f(tr.fastest_ms)} ms (${f(tr.of_peak_at_fastest)} of its window's peak) to ` +
    `${f(tr.slowest_ms)} ms (${f(tr.of_peak_at_slowest)}), ${tr.windows_near_fastest} of ${tr.window_medians_ms.length} ` +
    `windows within 10% of the fastest; peaks ${f(Math.min(...tr.window_peak_gflops))}-${f(Math.max(...tr.window_peak_gflops))} ` +
    `GFLOP/s; the best window ${f(tr.best_of_peak)} of its peak. ms / fraction, in order: ` +
    tr.window_medians_ms.map((m, w) => `${f(m, 1)}/${tr.window_of_peak[w].toFixed(2)}`).join(' '));
  const ph = (name, p) => p === null ? `no ${name} windows` :
    `${p.windows} ${name}: step ${f(p.step_ms)} ms (${f(p.step_of_peak, 3)} of peak), peak ${f(p.peak_gflops)} GFLOP/s, ` +
    `the 4x8 tile ${f(p.tile_outer_gflops)} (${f(p.tile_outer_of_peak)} of peak), L1 read ${f(p.l1_read_gbs)} GB/s`;
  lines.push(`the same windows by the machine's phase (fast: the L1 reads before and after the window both within 15% ` +
    `of the fastest; slow: both below; medians): ${ph('fast', tr.phases.fast)}; ${ph('slow', tr.phases.slow)}; ` +
    `${tr.phases.mixed_windows} mixed`);
  const bp = res.fraction_of_limit_by_phase;
  const roundsIn = (name, p) => p === null ? `no ${name} rounds` :
    `${p.rounds} ${name}: the batch-16 step ${f(p.train_b16_of_peak, 3)} of peak, denoiser batch 64 ${f(p.denoise_b64_of_peak, 3)}, ` +
    `sampling 64 images ${f(p.sample_b64_of_peak, 3)}, sampling 1 image ${f(p.sample_b1_of_read_bw, 3)} of read bandwidth, ` +
    `AdamW ${f(p.adamw_of_update_bw, 3)} of read-modify-write`;  // three decimals, as the targets below
  lines.push(`the round-robin with the limits round by round (each round's kernels against its own limits), by the ` +
    `machine's phase at the round's two ends (as above; medians): ${roundsIn('fast', bp.fast)}; ${roundsIn('slow', bp.slow)}; ` +
    `${bp.mixed_rounds} mixed`);
  lines.push(`load average (1 min) at start ${f(res.load_average_at_start)}, at end ${f(res.load_average_at_end)} ` +
    '(other processes sharing the 2 cores make every number noisier)');
  lines.push('');
  lines.push('target                                                          measured   goal     ');
  for (const t of res.targets) {
    // three decimals: with two, a value just under its goal printed as the goal itself ("0.50 >= 0.5 MISSED")
    lines.push(`${pad(t.name, 63)} ${pad(f(t.value, 3), 10)} ${pad((t.name.includes('/ native') ? '<= ' : '>= ') + t.goal, 8)} ${t.met ? 'met' : 'MISSED'}`);
  }
  lines.push('');
  lines.push('scaling (wasm SIMD, batch 1):  ms per training step, ms per sampling step, ms for the whole chain');
  for (const [axis, rows] of Object.entries(res.scaling)) {
    for (const p of rows) {
      lines.push(`  ${pad(`${axis} = ${p[axis]}`, 18)} ${pad(`${p.params} params`, 18)} train ${pad(f(p.train_step_ms), 8)} ` +
        `sample step ${pad(f(p.sample_step_ms, 3), 8)} chain of T = ${pad(p.T, 5)} ${f(p.sample_chain_ms)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

main().catch((e) => { console.error(e); process.exit(1); });
