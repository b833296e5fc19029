// ab.mjs -- compare two builds of the module in one process, in turn: the A/B runs behind the
// kernel decisions in docs/bench.md. On a shared machine two runs of `make bench` minutes apart
// differ by more than most changes do; two builds timed alternately in the same process see
// the same load, and the ratio of each pair (B's time over A's, in the same round) is what counts.
//
//   git worktree add /tmp/a <commit> && make -C /tmp/a web/wasm/ddpm_simd.mjs web/wasm/ddpm_scalar.mjs
//   node scripts/ab.mjs /tmp/a/web web                    # a batch-1 training step, SIMD
//   node scripts/ab.mjs /tmp/a/web web --case sample      # a 1-image sampling step
//   node scripts/ab.mjs /tmp/a/web web --batch 16 --scalar --rounds 20
//   node scripts/ab.mjs /tmp/a/web web --case tile-outer  # a sweep of a batched kernel's tile alone
//                                                         # (kernels_tile_probe; or tile-dots)
//
// Both builds train the same model from the same seed; the script checks that their weights
// come out bit for bit the same (a speed change must not change the numbers). The machine's
// speed moves in phases, and a slow phase does not slow all code alike, so each round is also
// put in a phase by a read from L1 timed before and after it (scripts/lib/phase.mjs), and the
// ratio is given for the fast rounds and the slow ones apart as well.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { l1Reader, phasesBetween } from './lib/phase.mjs';

const { values: opt, positionals: dirs } = parseArgs({
  allowPositionals: true,
  options: {
    case: { type: 'string', default: 'train' },
    batch: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '40' },
    scalar: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const TILES = { 'tile-outer': 0, 'tile-dots': 1 };  // KERNELS_TILE_* in c/ddpm.h
if (opt.help || dirs.length !== 2 || !['train', 'sample', ...Object.keys(TILES)].includes(opt.case) ||
    (opt.case in TILES && opt.scalar)) {
  (opt.help ? console.log : console.error)('usage: node scripts/ab.mjs DIR_A DIR_B [--case train|sample|tile-outer|tile-dots] [--batch N] [--rounds N] [--scalar]\n' +
    '(DIR_A and DIR_B each hold a ddpm.mjs and its wasm/ folder, as web/ does; the scalar build has no tiles)');
  process.exit(opt.help ? 0 : 2);
}
const batch = Number(opt.batch), rounds = Number(opt.rounds);
const load = async (dir) => (await import(pathToFileURL(path.resolve(dir, 'ddpm.mjs')).href)).loadEngine({ simd: !opt.scalar });
const engines = { A: await load(dirs[0]), B: await load(dirs[1]) };

// one timed unit: a few training steps, a few sampling steps, or a few sweeps of a tile (per
// step or sweep, in ms)
function makeCase(engine) {
  if (opt.case in TILES) {
    const n = 2000, sums = [];
    return { n, sums, run: () => sums.push(engine.mod._w_tile_probe(TILES[opt.case], n)) };
  }
  if (opt.case === 'train') {
    const m = engine.createModel({ preset: 'paper', batch, max_batch: batch, steps: 1e6 });
    const n = batch >= 16 ? 2 : 5;
    return { m, n, run: () => m.train(n) };
  }
  const m = engine.createModel({ preset: 'paper', batch: 1, max_batch: batch, steps: 1e6 });
  const n = batch === 1 ? 20 : 2;
  return { m, n, run: () => { m.sampleBegin({ n: batch, seed: 1 }); m.sampleContinue(n); } };
}
const cases = { A: makeCase(engines.A), B: makeCase(engines.B) };

const times = { A: [], B: [] }, ratio = [], l1 = l1Reader(engines.A, 5000), l1Reads = [l1.read()];
for (let r = 0; r < rounds; r++) {
  const got = {};
  for (const k of r % 2 ? ['A', 'B'] : ['B', 'A']) {  // both orders, in turn
    const c = cases[k];
    c.run();  // once untimed: the other build's run has just filled the caches with its own data
    const t0 = performance.now();
    c.run();
    got[k] = (performance.now() - t0) / c.n;
    times[k].push(got[k]);
  }
  ratio.push(got.B / got.A);
  l1Reads.push(l1.read());
}
l1.free();
const q = (v, p) => [...v].sort((x, y) => x - y)[Math.floor(p * (v.length - 1))];
// a tile's sweep takes a few microseconds: its times in those
const unit = opt.case in TILES ? 1000 : 1, f = (x) => (x * unit).toFixed(3);
console.log(opt.case in TILES ? `${opt.case}, SIMD, ${rounds} rounds: microseconds per sweep` :
  `${opt.case} batch ${batch}, ${opt.scalar ? 'scalar' : 'SIMD'}, ${rounds} rounds: ms per step`);
for (const k of ['A', 'B']) console.log(`  ${k} ${dirs[k === 'A' ? 0 : 1]}: median ${f(q(times[k], 0.5))}, p10 ${f(q(times[k], 0.1))}`);
const r = (x) => x.toFixed(3);
console.log(`  B / A, pair by pair: median ${r(q(ratio, 0.5))} (quartiles ${r(q(ratio, 0.25))}, ${r(q(ratio, 0.75))})`);
const phase = phasesBetween(l1Reads);
console.log('  by the machine\'s phase (the L1 reads before and after a round): ' + ['fast', 'slow'].map((name) => {
  const mine = ratio.filter((_, i) => phase[i] === name);
  return mine.length ? `${mine.length} ${name} rounds, B / A median ${r(q(mine, 0.5))}` : `no ${name} rounds`;
}).join('; ') + `; ${phase.filter((p) => p === 'mixed').length} mixed`);
if (opt.case in TILES) {
  // every operand 0.5: each sweep's sums are exact, so both builds' tiles must give the same
  const same = cases.A.sums.every((x, i) => x === cases.B.sums[i]);
  console.log(`  the tiles' sums: ${same ? 'the same' : 'DIFFERENT'}`);
  if (!same) process.exitCode = 1;
}
if (opt.case === 'train') {
  const a = new Uint32Array(cases.A.m.params().buffer), b = new Uint32Array(cases.B.m.params().buffer);
  const same = a.length === b.length && a.every((x, i) => x === b[i]);
  console.log(`  weights after ${cases.A.m.step} steps: ${same ? 'the same bits' : 'DIFFERENT'}`);
  if (!same) process.exitCode = 1;
}
