// sweep.mjs -- measure candidate settings over several seeds, to find the `recommended` preset.
//   node scripts/sweep.mjs [--seeds 10] [--only NAME,NAME] [--json]
// Each candidate changes the paper's table as little as it can; the table printed here is the
// one in README.md ("Presets").
import { loadEngine, MSE_BAR, DDPMError } from '../web/ddpm.mjs';
import { runExperiment, finalLoss } from './lib/run.mjs';

const CANDIDATES = [
  ['paper', 'none: the paper exactly', { preset: 'paper' }],
  ['paper+clip', 'x0 clipping', { preset: 'paper', clip_x0: 1 }],
  ['scaled', 'linear-scaled betas', { preset: 'paper', schedule: 'linear-scaled' }],
  ['scaled+b16', 'linear-scaled betas, batch 16, 400 steps, clipping', { preset: 'paper', schedule: 'linear-scaled', batch: 16, steps: 400, clip_x0: 1 }],
  ['x0', 'predict x0, clipping', { preset: 'paper', predict: 'x0', clip_x0: 1 }],
  ['x0-unclipped', "predict x0 (the recommended preset with the paper's betas)", { preset: 'paper', predict: 'x0' }],
  ['recommended', 'predict x0, linear-scaled betas (the recommended preset)', { preset: 'recommended' }],
  ['x0+scaled+clip', 'predict x0, linear-scaled betas, clipping', { preset: 'paper', predict: 'x0', schedule: 'linear-scaled', clip_x0: 1 }],
  ['x0+cosine+clip', 'predict x0, cosine schedule, clipping', { preset: 'paper', predict: 'x0', schedule: 'cosine', clip_x0: 1 }],
  ['x0+scaled+clip+b16', 'predict x0, linear-scaled betas, clipping, batch 16, 400 steps', { preset: 'paper', predict: 'x0', schedule: 'linear-scaled', clip_x0: 1, batch: 16, steps: 400 }],
];

const USAGE = `usage: node scripts/sweep.mjs [--seeds N] [--only NAME,NAME] [--json]
  (a value follows its flag, or '=': --seeds 3, --seeds=3)
  --seeds N       seeds 0..N-1 for each candidate (default 10)
  --only NAMES    only these candidates, of: ${CANDIDATES.map(([name]) => name).join(', ')}
  --json          one JSON array on stdout, a row per candidate: name, what, passed (samples
                  with MSE < ${MSE_BAR}), diverged (chains refused as diverged), seeds, median_mse,
                  worst_mse, median_loss_final, train_s (mean per seed), and per seed in order
                  mse (null: diverged), loss_final and refusal (a diverged chain's, or null)
  Exit status: 0 done, 2 refused (an argument).`;

// (a full sweep takes minutes: anything not understood stops it before it starts)
function parseArgs(argv) {
  const opts = { seeds: 10, only: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    // --seeds=3 as --seeds 3 (as the CLI takes it); a value that is the next flag is missing
    const [a, given] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i]];
    const value = () => {
      if (given !== undefined) return given;
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) fail(`${a} needs a value`);
      return argv[++i];
    };
    if ((a === '--help' || a === '--json') && given !== undefined) fail(`${a} takes no value (got '${argv[i]}')`);
    if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else if (a === '--json') opts.json = true;
    else if (a === '--seeds') {
      const text = value();
      opts.seeds = /^[0-9]+$/.test(text) ? Number(text) : NaN;
      if (!(opts.seeds >= 1 && opts.seeds <= 1000)) fail(`--seeds must be a whole number from 1 to 1000 (got '${text}')`);
    } else if (a === '--only') {
      opts.only = value().split(',');
      const unknown = opts.only.filter((name) => !CANDIDATES.some(([n]) => n === name));
      if (unknown.length) fail(`--only: no candidate named ${unknown.map((n) => `'${n}'`).join(', ')}`);
    } else fail(`unknown argument '${a}'`);
  }
  return opts;
}
function fail(message) {
  process.stderr.write(`sweep: ${message}\n${USAGE}\n`);
  process.exit(2);
}
const { seeds, only, json } = parseArgs(process.argv.slice(2));

// the median of an even count is the mean of the middle two
function median(values) {
  const v = Float64Array.from(values).sort(), h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

const engine = await loadEngine();
const rows = [];
for (const [name, what, options] of CANDIDATES) {
  if (only && !only.includes(name)) continue;
  const runs = [];
  for (let seed = 0; seed < seeds; seed++) {
    // a chain that diverges (the module refuses a non-finite x_t) is a failed sample, of MSE
    // Infinity; the training before it is summed up as any other
    let trained = null;
    try {
      const { summary, model } = await runExperiment(engine, { ...options, seed }, {
        onTrained: (m, error, trainMs) => { trained = { loss_final: finalLoss(m.lossHistory()), train_ms: trainMs }; },
      });
      model.free();
      runs.push(summary);
    } catch (e) {
      if (!(e instanceof DDPMError) || e.code !== 'DIVERGED' || !trained) throw e;
      runs.push({ ...trained, mse: Infinity, diverged: e.message });
    }
    const r = runs.at(-1);
    if (!json) process.stderr.write(`${name} seed ${seed}: loss ${r.loss_final.toFixed(4)} mse ${r.diverged ?? r.mse.toExponential(2)}\n`);
  }
  rows.push({
    name, what,
    passed: runs.filter((r) => r.mse < MSE_BAR).length,
    diverged: runs.filter((r) => r.diverged).length,
    seeds,
    median_mse: median(runs.map((r) => r.mse)),
    worst_mse: Math.max(...runs.map((r) => r.mse)),
    median_loss_final: median(runs.map((r) => r.loss_final)),
    train_s: Math.round(runs.reduce((a, r) => a + r.train_ms, 0) / runs.length) / 1000,
    // per seed, in order: the sample's MSE (null in JSON where the chain diverged), the loss, and
    // the refusal of a diverged chain
    mse: runs.map((r) => r.mse),
    loss_final: runs.map((r) => r.loss_final),
    refusal: runs.map((r) => r.diverged ?? null),
  });
}
if (json) {
  console.log(JSON.stringify(rows));
} else {
  console.log(`| candidate | changes from the paper | MSE < ${MSE_BAR} | median MSE | worst MSE | final loss (median) | train s/seed |`);
  console.log('|---|---|---|---|---|---|---|');
  const f = (x) => (x === Infinity ? 'diverged' : x < 0.01 || x >= 1000 ? x.toExponential(1) : x.toFixed(3));
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.what} | ${r.passed}/${r.seeds}${r.diverged ? ` (${r.diverged} diverged)` : ''} | ${f(r.median_mse)} | ${f(r.worst_mse)} | ${f(r.median_loss_final)} | ${r.train_s.toFixed(1)} |`);
  }
}
