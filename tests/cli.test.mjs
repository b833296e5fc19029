// The command line: one JSON object with --json, files with --out, clear errors otherwise.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, existsSync, statSync, symlinkSync, truncateSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEngine, checkpointHeader, alongImage } from '../web/ddpm.mjs';
import { movingGeoMean, formatNumber } from '../web/plot.mjs';
import { runExperiment } from '../scripts/lib/run.mjs';
import { reseal } from './lib/reference.mjs';

const CLI = new URL('../scripts/ddpm.mjs', import.meta.url).pathname;
// (a time limit: a CLI that hangs fails its test instead of holding up the run)
const run = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120000 });
// a fresh folder for one test, removed when the test ends
function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'ddpm-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('--json prints exactly one JSON object with the promised fields', () => {
  const r = run('--preset', 'paper', '--steps', '3', '--seed', '2', '--json');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  for (const key of ['params', 'alpha_bar_T', 'loss_first', 'loss_final', 'mse', 'train_ms', 'sample_ms', 'steps', 'seed', 'preset', 'config']) {
    assert.ok(key in j, `missing ${key}`);
  }
  assert.equal(j.params, 2723328);
  assert.equal(j.steps, 3);
  assert.equal(j.seed, 2);
  assert.equal(j.preset, 'paper');
  assert.equal(j.config.steps, 3);
  assert.ok(Number.isFinite(j.mse) && Number.isFinite(j.loss_final));
  assert.ok(j.sample_range.length === 2 && j.sample_range[0] <= j.sample_range[1]);
});

test('a value after = is the same as the value after a space', () => {
  const spaced = JSON.parse(run('--preset', 'paper', '--steps', '3', '--seed', '2', '--lr', '0.002', '--json').stdout);
  const joined = run('--preset=paper', '--steps=3', '--seed=2', '--lr=0.002', '--json');
  assert.equal(joined.status, 0, joined.stderr);
  const j = JSON.parse(joined.stdout);
  assert.deepEqual(j.config, spaced.config);
  assert.equal(j.loss_final, spaced.loss_final, 'the same run, bit for bit');
  // a negative value after '=' is read as a value too
  assert.match(run('--lr=-1', '--steps=1').stderr, /lr must be a finite number > 0 .*\(got '-1'\)/);
});

test('a sample far outside [-1, 1] is named by its range, which the clipped PNGs would hide', () => {
  // 5 steps of the recommended preset: the chain runs away to about +-900
  const far = run('--steps', '5');
  assert.equal(far.status, 0, far.stderr);
  assert.match(far.stdout, /the sample's pixels run from -\d{3} to \d{3}, far outside \[-1, 1\]; the PNGs clip them to it, and clipped it looks like the square \(MSE 0\.00\), which it is not/);
  const j = JSON.parse(run('--steps', '5', '--json').stdout);
  assert.ok(j.sample_range[0] < -100 && j.sample_range[1] > 100, `${j.sample_range}`);
  // a chain that ran away, its output growing with x_t, is not a network that blew up
  assert.equal(j.output_blown_up, false, `${j.output_peak} from ${j.output_peak_input}`);
  assert.doesNotMatch(far.stdout, /blown up/);
  // the recommended preset's 200 steps: within 1.5 (-1.16 .. 1.18), so nothing to say
  const near = run();
  assert.equal(near.status, 0, near.stderr);
  assert.doesNotMatch(near.stdout, /far outside/);
  assert.doesNotMatch(near.stdout, /the loss's moving average/, 'a loss that fell needs no words');
});

test('a network that blew up in training is named by the size of its output, where clipping kept its chain finite', () => {
  // lr 0.1 on the paper preset: the loss ends at 8e8, still finite, and with x0 clipped the chain
  // samples (MSE 2.15): the run is done, and what drew it is named
  const r = run('--preset', 'paper', '--lr', '0.1', '--steps', '50', '--clip');
  assert.equal(r.status, 0, r.stderr);
  // the loss of 8e8 in the page's figures (it read "-> 816130824.8000")
  assert.match(r.stdout, /: loss 0\.\d{4} at step 1 -> \d\.\de\d+ \(mean of steps 46 to 50, the last 10%; the page's moving average \d\.\de\d+\)\n/);
  assert.match(r.stdout, /the network's output reached \d\.\d\de\+\d+ at t=\d+, from an x_t within \+-\d\.\d\d, where it was trained to give noise from N\(0, 1\): its weights have blown up, .* \(x0 was clipped, so the chain stayed finite, but the clipping, not the network, set every pixel of x0\)/);
  const j = JSON.parse(run('--preset', 'paper', '--lr', '0.1', '--steps', '50', '--clip', '--json').stdout);
  assert.equal(j.status, 'done');
  assert.equal(j.output_blown_up, true);
  assert.ok(j.output_peak > 1e3 && j.output_peak_t >= 1 && j.output_peak_t <= 100 && j.output_peak_input < 10, JSON.stringify(j));
  // here no step's input was out of range: the in-range peak is the peak
  assert.deepEqual([j.output_peak_in_range, j.output_peak_in_range_t, j.output_peak_in_range_input], [j.output_peak, j.output_peak_t, j.output_peak_input]);
  // unclipped the chain runs away, and the blow-up is named from the steps before it did
  const unclipped = run('--preset', 'paper', '--lr', '0.1', '--steps', '50');
  assert.equal(unclipped.status, 1);
  // after the training's account, which C's message alone left out (a trial)
  assert.match(unclipped.stdout, /^preset paper \(changed: lr 0\.1, steps 50\): .*\ntrained to step 50 in .*: loss 0\.\d{4} at step 1 -> \d\.\de\d+ .*\nthe loss's moving average rose to .* a smaller learning rate keeps them in check\n$/);
  assert.match(unclipped.stderr, /the chain ran away, .* from a network whose weights are far too large, as training that blew up leaves them: at t=\d+, from an x_t within \+-\d\.\d+, still in range, its output reached /);
  // the paper preset as the paper runs it: nothing to name
  const healthy = JSON.parse(run('--preset', 'paper', '--json').stdout);
  assert.equal(healthy.output_blown_up, false);
  assert.ok(healthy.output_peak > 0 && healthy.output_peak < 100, `${healthy.output_peak}`);
});

test('--out writes the sample, the trajectory, the predicted x0 strip, the loss curve and the chain against the forward process; --save/--load round-trip', async (t) => {
  const dir = tempDir(t);
  const ckpt = join(dir, 'model.ckpt');
  const r = run('--preset', 'recommended', '--steps', '4', '--T', '50', '--out', dir, '--save', ckpt, '--json');
  assert.equal(r.status, 0, r.stderr);
  const first = JSON.parse(r.stdout);
  for (const f of ['sample.png', 'trajectory.png', 'x0_pred.png', 'target.png']) {
    const bytes = readFileSync(join(dir, f));
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${f} is a PNG`);
  }
  // the trajectory: T+1 = 51 frames of 16 px, 1 px apart, in rows of 10 (6 rows), upscaled 4x
  const png = readFileSync(join(dir, 'trajectory.png'));
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [(10 * 17 - 1) * 4, (6 * 17 - 1) * 4]);
  const csv = readFileSync(join(dir, 'loss.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'step,loss');
  assert.equal(csv.length, 5);
  // the chain against the forward process: t = T .. 0, the forward process's two coefficients
  // with squares summing to 1, the chain's own finite
  const chain = readFileSync(join(dir, 'chain.csv'), 'utf8').trim().split('\n');
  assert.equal(chain[0], 't,image,noise,sqrt_alpha_bar,sqrt_one_minus_alpha_bar');
  const rows = chain.slice(1).map((line) => line.split(',').map(Number));
  assert.deepEqual(rows.map((r) => r[0]), Array.from({ length: 51 }, (_, k) => 50 - k));
  for (const [t, image, noise, a, b] of rows) {
    assert.ok(Number.isFinite(image) && noise >= 0, `t=${t}: ${image}, ${noise}`);
    assert.ok(Math.abs(a * a + b * b - 1) < 1e-6, `t=${t}: ${a}^2 + ${b}^2`);
  }
  assert.deepEqual(rows.at(-1).slice(3), [1, 0], 'x_0: the image, no noise');
  // and every row is the chain's own, t for t: the same run through the shared runner, its
  // numbers read back exactly from the text (a review reversed the rows' order unseen); the
  // final loss is the mean of the last 10% of the curve (here the 4th step alone of 4)
  const engine = await loadEngine(), same = await runExperiment(engine, { preset: 'recommended', steps: 4, T: 50 });
  try {
    const { x } = same.sample, image = same.image;
    for (const [t, signal, noise] of rows) assert.deepEqual([signal, noise], Object.values(alongImage(x, image, t * 768)), `t=${t}`);
    assert.equal(same.summary.mse, first.mse, 'the same run');
  } finally { same.model.free(); }
  const losses = csv.slice(1).map((line) => Number(line.split(',')[1]));
  assert.equal(first.loss_final, losses[3]);
  // loading the checkpoint and sampling with the same seed gives the same sample
  const again = run('--preset', 'recommended', '--T', '50', '--load', ckpt, '--sample-seed', String(first.sample_seed), '--json');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).mse, first.mse);
  assert.ok(existsSync(ckpt));
  // nothing trained: the figures are the file's history, not null
  assert.equal(JSON.parse(again.stdout).loss_final, first.loss_final);
  assert.equal(JSON.parse(again.stdout).steps_run, 0);
});

// A file loads without --preset into the preset whose model it holds (a paper run as paper: the
// default, recommended, used to refuse it); a --preset that does not fit gets the way out named
test('--load: the file\'s own preset by default; a mismatched --preset is refused with the one that fits', (t) => {
  const dir = tempDir(t), paper = join(dir, 'paper.ddpm');
  assert.equal(run('--preset', 'paper', '--steps', '2', '--save', paper, '--json').status, 0);
  const loaded = run('--load', paper, '--json');
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.equal(JSON.parse(loaded.stdout).preset, 'paper');
  const wrong = run('--load', paper, '--preset', 'recommended');
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /^ddpm: \S+paper\.ddpm: checkpoint: mismatched predict: the file has eps, this model has x0 \(the file holds a model of the paper preset: load it with --preset paper, or without --preset\)/);
  const other = run('--load', paper, '--T', '50');
  assert.match(other.stderr, /^ddpm: \S+paper\.ddpm: checkpoint: mismatched T: the file has 100, this model has 50 \(give the settings the file was trained with: its header has .*predict eps, T 100, schedule linear/);
});

// The checkpoint carries the loss history: a run resumed from it sums up as the run in one go
// would, and its loss.csv holds every step from 1 (it used to hold this run's steps only,
// numbered from 1, and the summary's 'loss first -> final' covered them alone)
test('a run resumed with --load: the whole loss history in the summary and in loss.csv, as one run in one go', async (t) => {
  const dir = tempDir(t), ckpt = join(dir, 'half.ddpm'), out = join(dir, 'out');
  const common = ['--preset', 'recommended', '--T', '50', '--json'];
  assert.equal(run(...common, '--steps', '6', '--save', ckpt).status, 0);
  const resumed = run(...common, '--steps', '10', '--load', ckpt, '--out', out);
  assert.equal(resumed.status, 0, resumed.stderr);
  const whole = JSON.parse(run(...common, '--steps', '10').stdout), r = JSON.parse(resumed.stdout);
  assert.equal(r.steps_run, 4);
  assert.equal(whole.steps_run, 10);
  assert.equal(r.loss_first, whole.loss_first);
  assert.equal(r.loss_final, whole.loss_final);
  const csv = readFileSync(join(out, 'loss.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 11);
  assert.equal(csv[1].split(',')[0], '1');
  assert.equal(Number(csv[1].split(',')[1]), whole.loss_first);
  assert.equal(csv[10].split(',')[0], '10');
  // a file saved part way through its run (the page's Save can): without --steps, the run goes
  // on to the steps it planned, as the run in one go
  const engine = await loadEngine();
  const part = engine.createModel({ preset: 'recommended', T: 50, steps: 10 });
  part.train(4);
  const partFile = join(dir, 'part.ddpm');
  writeFileSync(partFile, part.saveCheckpoint());
  part.free();
  const planned = JSON.parse(run('--T', '50', '--json', '--load', partFile).stdout);
  assert.deepEqual([planned.steps, planned.steps_run, planned.loss_final, planned.mse], [10, 6, whole.loss_final, whole.mse]);
  const text = run('--preset', 'recommended', '--T', '50', '--steps', '10', '--load', ckpt);
  // beside the last 10%'s mean, the figure the page's Done line ends on: the moving average of
  // the whole curve (web/plot.mjs), here from loss.csv, which holds the same 10 steps
  const average = formatNumber(movingGeoMean(Float32Array.from(csv.slice(1), (line) => Number(line.split(',')[1]))).at(-1));
  assert.match(text.stdout, new RegExp(`trained steps 7 to 10 in .*: loss \\S+ at step 1 -> \\S+ \\(at step 10, the last 10%; the page's moving average ${average.replace('.', '\\.')}\\)`));
  assert.match(run('--preset', 'recommended', '--T', '50', '--steps', '20', '--load', ckpt).stdout, /-> \S+ \(mean of steps 19 to 20, the last 10%; the page's moving average \S+\)/);
  // the sample's seed is said (a page's file samples with its training seed here, where the page
  // has a sample seed of its own)
  assert.match(text.stdout, /^sampled in \S+ ms \(sample seed 0\): MSE against the training image /m);
  // at settings of its own, given once: the file carries them, and the resumed run (flags left
  // out) is the run in one go, its sample included (the seed, sigma and clipping are the file's)
  const own = ['--batch', '2', '--lr', '3e-3', '--weight-decay', '0.1', '--sigma', 'beta-tilde', '--clip', '--seed', '9', '--ema', '0.5'];
  const ownCkpt = join(dir, 'own.ddpm');
  assert.equal(run(...common, ...own, '--steps', '6', '--save', ownCkpt).status, 0);
  const goOn = run('--T', '50', '--json', '--steps', '10', '--load', ownCkpt);
  assert.equal(goOn.status, 0, goOn.stderr);
  const inOneGo = JSON.parse(run(...common, ...own, '--steps', '10').stdout), went = JSON.parse(goOn.stdout);
  assert.deepEqual([went.loss_final, went.mse, went.sample_seed], [inOneGo.loss_final, inOneGo.mse, 9]);
  assert.deepEqual(went.config, inOneGo.config);
});

test('bad arguments: a clear message and a non-zero exit status', (t) => {
  const dir = tempDir(t);
  const junk = join(dir, 'junk.ckpt');
  writeFileSync(junk, 'not a checkpoint');
  const bigFile = join(dir, 'big.ddpm');
  writeFileSync(bigFile, '');
  truncateSync(bigFile, 2 ** 31);
  // a sound checkpoint made longer than any of the model's (60 MB): refused before C copies it
  // in, and named with the file (one of 2 GB ran the module out of memory, naming no file)
  const longFile = join(dir, 'long.ddpm');
  assert.equal(run('--steps', '1', '--save', longFile).status, 0);
  truncateSync(longFile, 60e6);
  const cases = [
    [['--load', longFile], new RegExp(`^ddpm: ${longFile}: checkpoint: 60000000 bytes, more than any checkpoint of this model can be \\(47573416 bytes: .*\\): not a checkpoint of it, or damaged\n$`)],
    [['--preset', 'best'], /unknown preset 'best'/],
    [['--preset', 'toString'], /unknown preset 'toString'/],
    [['--preset=__proto__'], /unknown preset '__proto__'/],
    [['--steps'], /--steps needs a value/],
    [['--steps', 'ten'], /--steps must be a decimal number/],
    // decimal only, as on the page: Number() reads '0x10' as 16
    [['--steps', '0x10'], /--steps must be a decimal number \(got '0x10'\)/],
    [['--sample-seed', '0b11'], /--sample-seed must be an integer from 0 to 4294967295 \(got '0b11'\)/],
    [['--lr', '-1', '--steps', '1'], /^ddpm: --lr: lr must be a finite number > 0/],
    // C's refusals named by the flag that gave the value, where its config key is another name
    [['--ema', '1'], /^ddpm: --ema: ema_decay must be in \[0, 1\) \(got '1'\)\n$/],
    // a value that rounds into the refused one: quoted as typed, where C's "(got 1)" read as a slip
    [['--ema', '0.99999999999999999'], /^ddpm: --ema: ema_decay must be in \[0, 1\) \(got '0\.99999999999999999'\)\n$/],
    [['--weight-decay', '-1'], /^ddpm: --weight-decay: weight_decay must be a finite number >= 0 \(got '-1'\)\n$/],
    [['--lr-schedule', 'x'], /^ddpm: --lr-schedule: lr_schedule must be one of constant, cosine \(got 'x'\)\n$/],
    // quoted as typed: C is handed the number, and quoted it as 100000000000000000000 and 1e+20
    [['--seed', '99999999999999999999'], /^ddpm: --seed: seed must be an integer in 0\.\.4294967295 \(got '99999999999999999999'\)\n$/],
    [['--steps=1e20'], /^ddpm: --steps: steps must be an integer from -2147483647 to 2147483647 \(got '1e20'\)\n$/],
    // a check of two values names the flags among them that were given
    [['--weight-decay', '2000'], /^ddpm: --weight-decay: lr \* weight_decay must be < 1 as a float product, .*\(lr = 0\.001, weight_decay = 2000\)\n$/],
    [['--lr', '2', '--weight-decay', '0.5'], /^ddpm: --lr, --weight-decay: lr \* weight_decay must be < 1 /],
    // below the smallest double: named as written, not as "(got 0)"
    [['--lr', '1e-400', '--steps', '1'], /--lr: '1e-400' is too small to be told from 0 \(it rounds to 0\)/],
    // a decimal number all the same, past a double's range: said so, not "must be a decimal number"
    [['--weight-decay', '1e400'], /--weight-decay: '1e400' is too large for a double \(it reads as Infinity\)/],
    [['--T', '0'], /T must be in 2\.\.1000/],
    [['--schedule', 'quadratic'], /schedule must be one of/],
    [['--frobnicate'], /unknown argument '--frobnicate'/],
    [['--frobnicate=1'], /unknown argument '--frobnicate'/],
    // each setting once: the second of two was taken, silently
    [['--steps', '5', '--steps=6'], /^ddpm: --steps is given twice: give it once$/m],
    [['--clip', '--no-clip'], /^ddpm: --clip and --no-clip are both given: give one$/m],
    [['--json', '--json'], /^ddpm: --json is given twice: give it once$/m],
    // a flag that takes no value refuses one given with '=', rather than leave it unread
    [['--json=0'], /--json takes no value \(got '--json=0'\)/],
    [['--no-clip=false'], /--no-clip takes no value/],
    [['--steps='], /--steps must be a decimal number \(got ''\)/],
    [['--load='], /--load needs a file name \(got an empty one\)/],
    [['--load', junk], /not a DDPM checkpoint/],
    [['--load', join(dir, 'missing.ckpt')], /cannot read/],
    // an empty path (an unset variable) is not ignored: --load '' would train a new model
    [['--load', ''], /--load needs a file name \(got an empty one\)/],
    [['--save', ''], /--save needs a file name \(got an empty one\)/],
    [['--out', ''], /--out needs a folder name \(got an empty one\)/],
    // not read until memory runs out (/dev/zero never ends)
    [['--load', '/dev/zero'], /--load \/dev\/zero: not a file/],
    [['--load', dir], /--load .*: not a file/],
    // a file of 2 GiB (sparse: no disk) is named as too big, not as Node's ERR_FS_FILE_TOO_LARGE
    // (refused by its size before it is read: a sparse file of 2 GiB)
    [['--load', bigFile], /^ddpm: \S*big\.ddpm: checkpoint: 2147483648 bytes, more than any checkpoint of this model can be \(47573416 bytes: /],
    [['--sample-seed', ''], /--sample-seed must be an integer from 0 to 4294967295 \(got ''\)/],
    [['--sample-seed', '-1'], /--sample-seed must be an integer from 0 to 4294967295 \(got '-1'\)/],
    // where the results go is checked before any training, so a bad path costs no run
    [['--save', join(dir, 'missing', 'model.ddpm')], /--save .*missing\/model\.ddpm: the folder .*missing does not exist: make it first/],
    [['--save', dir], /--save .*: a folder, not a file/],
    [['--save', join(junk, 'model.ddpm')], /--save .*junk\.ckpt\/model\.ddpm: .*junk\.ckpt is not a folder/],
    [['--out', join(junk, 'images')], /--out .*junk\.ckpt\/images: .*junk\.ckpt is not a folder/],
    // a folder that passes access() and makes no file: it used to fail after training
    [['--save', '/proc/ddpm-cli-test.ddpm'], /--save \/proc\/ddpm-cli-test\.ddpm: cannot make a file in \/proc: no such file or folder \(ENOENT\)/],
    [['--out', '/proc/ddpm-cli-test/images'], /--out \/proc\/ddpm-cli-test\/images: (cannot make the folder \/proc\/ddpm-cli-test|cannot write in \/proc)/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')} should fail as a bad argument: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stdout, '');
  }
});

test('a run that fails keeps what it trained: --save writes the kept weights, and a failed write keeps the old file', (t) => {
  const dir = tempDir(t);
  // training diverges at step 2 (lr 1e30); C keeps the weights of step 1, and --save writes them
  const kept = join(dir, 'kept.ddpm');
  const diverged = run('--steps', '30', '--lr', '1e30', '--weight-decay', '0', '--save', kept);
  assert.equal(diverged.status, 1, 'a run that failed, not a refused command');
  assert.match(diverged.stderr, new RegExp(`training diverged at step 2: .*the weights of step 1 are kept, and saved to ${kept}`));
  const header = readFileSync(kept);
  assert.equal(header.readUInt32LE(60), 1, 'the file holds step 1');
  // without --save the message says where they are
  // and what to try, as the page says it (a trial was told only to run it again with --save)
  assert.match(run('--steps', '30', '--lr', '1e30', '--weight-decay', '0').stderr,
    /are kept, but this run saves nothing: run it again with --save FILE to keep them\. Try a smaller learning rate \(--lr 1e\+30 now\)\n$/);
  // a first step on a loaded file's weights that diverges blames the weights, not the rate
  const onFile = run('--load', kept, '--lr', '0.001', '--steps', '30');
  assert.equal(onFile.status, 1);
  assert.match(onFile.stderr, new RegExp(`training diverged at step 2: .*\\. It was the first step on the weights of ${kept}, which may themselves be far out`));
  assert.doesNotMatch(onFile.stderr, /smaller learning rate/);
  // training ends, then sampling diverges (lr 16): the trained model is saved first
  const trained = join(dir, 'trained.ddpm');
  const badSample = run('--steps', '2', '--lr', '16', '--save', trained);
  assert.equal(badSample.status, 1);
  assert.match(badSample.stderr, new RegExp(`sampling diverged .*\\(the trained model is saved to ${trained}\\)`));
  assert.equal(readFileSync(trained).readUInt32LE(60), 2);
  // with --json, a run that failed still prints its one object, summed up as far as it went (it
  // printed nothing, and a sweep of runs in a pipeline lost its failed ones: a trial)
  const failedTraining = run('--steps', '30', '--lr', '1e30', '--weight-decay', '0', '--json');
  assert.equal(failedTraining.status, 1);
  const ft = JSON.parse(failedTraining.stdout);
  assert.deepEqual([ft.status, ft.steps, ft.mse, ft.sample_seed, ft.config.lr], ['diverged', 1, null, null, 1e30]);
  assert.match(ft.error, /^training diverged at step 2: /);
  const failedSample = run('--steps', '2', '--lr', '16', '--json');
  assert.equal(failedSample.status, 1);
  const fs2 = JSON.parse(failedSample.stdout);
  assert.deepEqual([fs2.status, fs2.steps, fs2.mse, fs2.sample_seed], ['diverged', 2, null, 0]);
  assert.match(fs2.error, /^sampling diverged at t=/);
  assert.equal(JSON.parse(run('--steps', '1', '--json').stdout).status, 'done');
  // a write that fails (a file size limit) leaves the old checkpoint whole, and says so
  const before = readFileSync(trained);
  const limited = spawnSync('bash', ['-c', `ulimit -f 4000; exec "${process.execPath}" "${CLI}" --load "${trained}" --steps 3 --save "${trained}" --json`],
    { encoding: 'utf8', timeout: 120000 });
  // (and with --json the failed run sums up on stdout as any does, though its save failed too:
  // the save's failure in write_error)
  const limitedJSON = JSON.parse(limited.stdout);
  assert.equal(limitedJSON.status, 'diverged', limited.stdout);
  assert.match(limitedJSON.write_error, /^--save .*: cannot write the checkpoint: the file is larger than a size limit allows \(EFBIG\)/);
  // (the resumed training diverges too, from the lr-16 weights: a failed run, exit 1, its message
  // first and the save's after it; the temporary folder is under the same limit)
  assert.equal(limited.status, 1, limited.stderr);
  assert.match(limited.stderr, /^ddpm: training diverged at step 3: [^\n]*; then --save .*: cannot write the checkpoint: the file is larger than a size limit allows \(EFBIG\) \(the file there is as it was\); nor could the trained model be kept in \S+: the file is larger than a size limit allows \(EFBIG\)\n$/);
  assert.ok(readFileSync(trained).equals(before), 'the old checkpoint is untouched');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('partial')), [], 'no partial file is left');
});

test('--save replaces a file with its permissions kept, writes through a link (to a file there or not yet), and --load reads a pipe', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'private.ddpm');
  writeFileSync(file, 'DDPMCKPT, cut short');   // (a checkpoint, damaged: one of other work is refused, below)
  chmodSync(file, 0o600);
  assert.equal(run('--steps', '1', '--save', file).status, 0);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'a private checkpoint stays private');
  assert.equal(readFileSync(file).readUInt32LE(60), 1);
  // links: the file they name is written, and the link stays a link
  mkdirSync(join(dir, 'sub'));
  symlinkSync(file, join(dir, 'link.ddpm'));
  symlinkSync(join(dir, 'sub', 'new.ddpm'), join(dir, 'dangling.ddpm'));
  for (const [link, target] of [['link.ddpm', file], ['dangling.ddpm', join(dir, 'sub', 'new.ddpm')]]) {
    assert.equal(run('--steps', '2', '--save', join(dir, link)).status, 0);
    assert.ok(lstatSync(join(dir, link)).isSymbolicLink(), `${link} is still a link`);
    assert.equal(readFileSync(target).readUInt32LE(60), 2, `${target} written through ${link}`);
  }
  // through links too, a write that fails leaves the file they name whole
  symlinkSync(join(dir, 'link.ddpm'), join(dir, 'link2.ddpm'));
  const before = readFileSync(file);
  const limited = spawnSync('bash', ['-c', `ulimit -f 4000; exec "${process.execPath}" "${CLI}" --steps 3 --save "${join(dir, 'link2.ddpm')}"`],
    { encoding: 'utf8', timeout: 120000 });
  assert.match(limited.stderr, /cannot write the checkpoint: the file is larger than a size limit allows \(EFBIG\) \(the file there is as it was\)/);
  assert.ok(readFileSync(file).equals(before), 'the file the links name is whole');
  assert.ok(lstatSync(join(dir, 'link2.ddpm')).isSymbolicLink());
  // a name as long as a file name can be (the file written beside it has a short name of its own)
  const long = join(dir, `${'a'.repeat(250)}.ddpm`);
  assert.equal(run('--steps', '1', '--save', long).status, 0);
  assert.equal(readFileSync(long).readUInt32LE(60), 1);
  // what cannot be written is refused before training, not after: a link into a folder that is
  // not there, a name that ends as a folder's does
  symlinkSync(join(dir, 'nowhere', 'x.ddpm'), join(dir, 'lost.ddpm'));
  assert.match(run('--steps', '1', '--save', join(dir, 'lost.ddpm')).stderr, /--save .*lost\.ddpm: the folder .*nowhere does not exist: make it first/);
  assert.match(run('--steps', '1', '--save', `${dir}/new.ddpm/`).stderr, /--save .*new\.ddpm\/: a folder, not a file/);
  // a checkpoint to stdout is the whole of stdout (the summary goes to stderr), and loads
  const toStdout = join(dir, 'stdout.ddpm');
  const viaStdout = spawnSync('bash', ['-c', `exec "${process.execPath}" "${CLI}" --steps 1 --json --save /dev/stdout > "${toStdout}"`], { encoding: 'utf8', timeout: 120000 });
  assert.equal(viaStdout.status, 0, viaStdout.stderr);
  assert.equal(JSON.parse(viaStdout.stderr.trim().split('\n').at(-1)).steps, 1, 'the summary on stderr');
  assert.equal(JSON.parse(run('--load', toStdout, '--json').stdout).steps, 1);
  // and into a pipe (| cat), or a process substitution's pipe (/dev/fd/N): the same bytes. Both
  // used to train, then fail: /dev/stdout's link ends in 'pipe:[N]', taken for a new file's name
  const throughPipe = join(dir, 'pipe.ddpm'), throughFd = join(dir, 'fd.ddpm');
  const viaPipe = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" --steps 1 --json --save /dev/stdout | cat > "${throughPipe}"`],
    { encoding: 'utf8', timeout: 120000 });
  assert.equal(viaPipe.status, 0, viaPipe.stderr);
  assert.ok(readFileSync(throughPipe).equals(readFileSync(toStdout)), 'the checkpoint through the pipe');
  const viaFd = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" --steps 1 --save >(cat > "${throughFd}"); wait $!`],
    { encoding: 'utf8', timeout: 120000 });
  assert.equal(viaFd.status, 0, viaFd.stderr);
  assert.ok(readFileSync(throughFd).equals(readFileSync(toStdout)), 'the checkpoint through /dev/fd');
  // and to a socket, what a program that starts this one with pipes (Node's spawn) may give as
  // stdout: it trained, then failed with ENXIO (a socket is not opened by its name)
  const viaSocket = spawnSync(process.execPath, [CLI, '--steps', '1', '--save', '/dev/stdout'], { timeout: 120000, maxBuffer: 1 << 27 });
  assert.equal(viaSocket.status, 0, String(viaSocket.stderr));
  assert.ok(viaSocket.stdout.equals(readFileSync(toStdout)), 'the checkpoint through a socket');
  // a shell's pipe: its length is known only by reading it
  const piped = spawnSync('bash', ['-c', `cat "${file}" | exec "${process.execPath}" "${CLI}" --load /dev/stdin --json`], { encoding: 'utf8', timeout: 120000 });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(JSON.parse(piped.stdout).steps, 2);
  // a pipe longer than any checkpoint is read only as far as the bound, and refused
  const endless = spawnSync('bash', ['-c', `cat /dev/zero | exec "${process.execPath}" "${CLI}" --load /dev/stdin`], { encoding: 'utf8', timeout: 120000 });
  assert.equal(endless.status, 2);
  assert.match(endless.stderr, /^ddpm: \/dev\/stdin: checkpoint: at least \d+ bytes, more than any checkpoint of this model can be \(47573416 bytes: /);
});

// The checks before training cannot see a folder removed (or a disk filled) while it runs: the
// trained model then goes to the temporary folder, named, and is not lost. The folder is removed
// while the CLI waits on --load's pipe, which it opens after its checks of the outputs.
test('a model --save cannot write after training is kept in the temporary folder, and said where', async (t) => {
  const dir = tempDir(t), sub = join(dir, 'sub'), fifo = join(dir, 'load.fifo');
  mkdirSync(sub);
  execFileSync('mkfifo', [fifo]);
  const engine = await loadEngine();
  const first = await runExperiment(engine, { preset: 'recommended', steps: 2 });
  const bytes = first.model.saveCheckpoint();
  first.model.free();
  const child = spawn(process.execPath, [CLI, '--load', fifo, '--steps', '3', '--save', join(sub, 'model.ddpm')]);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = once(child, 'close');
  const writer = await open(fifo, 'w');   // (opens once the CLI opens its end: its checks are done)
  rmSync(sub, { recursive: true });
  await writer.write(bytes);
  await writer.close();
  const [status] = await exited;
  assert.equal(status, 2, stderr);
  const where = /cannot write the checkpoint: no such file or folder \(ENOENT\); the trained model is kept in (\S+) instead \(move it where you want it\)/.exec(stderr);
  assert.ok(where, stderr);
  t.after(() => rmSync(where[1], { force: true }));
  const kept = readFileSync(where[1]);
  assert.equal(kept.readUInt32LE(60), 3, 'the model trained to step 3');
  const resumed = run('--load', where[1], '--json');
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).steps, 3, 'and it loads');
});

// The partial file --save writes first, beside the checkpoint, has a name no one can guess: a
// link planted at the name of the process number (which was its name, in a shared folder anyone
// could plant at) is neither written through nor removed, nor is a folder there in the way. They
// are planted while the CLI waits on --load's pipe, after its up-front check of the folder.
test('--save makes its partial file new under a name no one can guess: what is planted at the process number\'s name is left alone', async (t) => {
  const dir = tempDir(t), fifo = join(dir, 'load.fifo'), victim = join(dir, 'victim.txt'), save = join(dir, 'model.ddpm');
  execFileSync('mkfifo', [fifo]);
  writeFileSync(victim, 'not a checkpoint\n');
  const engine = await loadEngine();
  const first = await runExperiment(engine, { preset: 'recommended', steps: 2 });
  const bytes = first.model.saveCheckpoint();
  first.model.free();
  const child = spawn(process.execPath, [CLI, '--load', fifo, '--steps', '3', '--save', save]);
  t.after(() => child.kill());
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = once(child, 'close');
  const writer = await open(fifo, 'w');   // (its checks are done)
  const planted = join(dir, `.ddpm-${child.pid}.partial`);
  symlinkSync(victim, planted);
  mkdirSync(join(dir, `.ddpm-${child.pid}-0.partial`));
  await writer.write(bytes);
  await writer.close();
  const [status] = await exited;
  assert.equal(status, 0, stderr);
  assert.equal(readFileSync(victim, 'utf8'), 'not a checkpoint\n', 'the file the link names is untouched');
  assert.ok(lstatSync(planted).isSymbolicLink(), 'the planted link is left where it is');
  assert.ok(!lstatSync(save).isSymbolicLink(), 'the checkpoint is a file of its own');
  assert.equal(readFileSync(save).readUInt32LE(60), 3, 'and holds the model at step 3');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('partial')).sort(), [`.ddpm-${child.pid}-0.partial`, `.ddpm-${child.pid}.partial`],
    'no partial file of its own is left');
});

// Ctrl-C stops training at a whole step and keeps it: --save writes the model, --out the loss
// curve, --json its summary, and the exit status is a signal's (130); --load goes on from there.
// (A long run lost everything to it: a trial.) The signal is sent once training has run a while.
test('Ctrl-C stops training at a whole step: the model is saved, said, and goes on from the file', { timeout: 120000 }, async (t) => {
  const dir = tempDir(t), save = join(dir, 'stopped.ddpm'), out = join(dir, 'out');
  const child = spawn(process.execPath, [CLI, '--steps', '100000', '--save', save, '--out', out, '--json']);
  t.after(() => child.kill('SIGKILL'));
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = once(child, 'close');
  await new Promise((resolve) => setTimeout(resolve, 2500));
  child.kill('SIGINT');
  const [status] = await exited;
  assert.equal(status, 130, stderr);
  const summary = JSON.parse(stdout);
  assert.equal(summary.status, 'interrupted');
  assert.ok(summary.steps > 0 && summary.steps < 100000, `stopped at step ${summary.steps}`);
  assert.equal(stderr, `ddpm: interrupted at step ${summary.steps} of 100000; the model at step ${summary.steps} is saved to ${save} ` +
    `(go on with --load ${save}) (the loss curve is in ${join(out, 'loss.csv')})\n`);
  assert.equal(readFileSync(save).readUInt32LE(60), summary.steps, 'the file holds the step it stopped at');
  assert.equal(readFileSync(join(out, 'loss.csv'), 'utf8').trim().split('\n').length, summary.steps + 1);
  const on = run('--load', save, '--steps', String(summary.steps + 1), '--json');
  assert.equal(on.status, 0, on.stderr);
  assert.equal(JSON.parse(on.stdout).steps, summary.steps + 1);
});

// Once training has ended, Ctrl-C is the default's again: a --save into a pipe nobody reads blocks
// in a write that no handler could interrupt, and the signal ends the process (it was swallowed,
// and the run could not be stopped: a review)
test('after training, Ctrl-C ends a run blocked writing its checkpoint into a pipe', { timeout: 60000 }, async (t) => {
  const child = spawn(process.execPath, [CLI, '--steps', '3', '--save', '/dev/stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  child.stdout.pause();   // (read no further than Node's buffer: the 32 MB write blocks)
  const exited = once(child, 'exit');
  await new Promise((resolve) => setTimeout(resolve, 5000));
  assert.equal(child.exitCode, null, 'still writing');
  child.kill('SIGINT');
  const [code, signal] = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(['still running']), 5000))]);
  assert.deepEqual([code, signal], [null, 'SIGINT']);
});

// Off a terminal, a long run prints a line of progress every 10 s (it printed nothing until the
// end); the run is stopped once its first line has come
// (with --json too: stdout holds the JSON alone, and a long run was silent for minutes)
test('off a terminal, a long run says every 10 s where it is', { timeout: 60000 }, async (t) => {
  const child = spawn(process.execPath, [CLI, '--steps', '100000', '--json']);
  t.after(() => child.kill());   // (also when the test times out)
  let stderr = '';
  const first = new Promise((resolve) => child.stderr.on('data', (d) => { stderr += d; if (stderr.includes('\n')) resolve(); }));
  const exited = once(child, 'close');
  const started = performance.now();
  await first;
  const waited = performance.now() - started;
  child.kill();
  await exited;
  assert.match(stderr.split('\n')[0], /^ddpm: step [1-9]\d* of 100000, \d+\.\d steps\/s, about \d+ s to go$/);
  assert.ok(waited >= 10000, `the first line after 10 s of training, not ${waited.toFixed(0)} ms`);
});

test('--save to a socket other than stdout is refused before training', async (t) => {
  const dir = tempDir(t), socket = join(dir, 'socket');
  const server = createServer().listen(socket);
  await once(server, 'listening');
  try {
    const r = run('--steps', '1', '--save', socket);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--save .*socket: a socket, which only stdout's can be \(--save \/dev\/stdout\)/);
    assert.equal(r.stdout, '', 'nothing trained or sampled');
  } finally { server.close(); }
});

test('a damaged header is named as damage, not read as settings: a step of 2^24 is not a --steps the user gave', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'model.ddpm'), damaged = join(dir, 'damaged.ddpm');
  assert.equal(run('--steps', '2', '--save', file, '--ema', '0.5').status, 0);
  const bytes = readFileSync(file);
  bytes[63] ^= 0x01;   // step 2 -> 2 + 2^24
  writeFileSync(damaged, bytes);
  const r = run('--load', damaged);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /checkpoint: corrupt: checksum/);
  assert.doesNotMatch(r.stderr, /config: steps/);
  // the same for the run settings (version 2), which make the model before C checks the file:
  // a damaged sigma or lr is damage, not a config the user gave
  for (const [at, bit] of [[148, 0x04], [95, 0x40]]) {
    const settings = readFileSync(file);
    settings[at] ^= bit;
    writeFileSync(damaged, settings);
    const s = run('--load', damaged);
    assert.equal(s.status, 2);
    assert.match(s.stderr, /damaged\.ddpm: checkpoint: corrupt: checksum/, `byte ${at}`);
    assert.doesNotMatch(s.stderr, /config:/);
  }
  // a file's setting beside a flag that does not go with it: the config's refusal, and why
  const lr50 = join(dir, 'lr50.ddpm');
  run('--steps', '1', '--lr', '50', '--weight-decay', '0', '--save', lr50);
  const clash = run('--load', lr50, '--weight-decay', '0.1');
  assert.equal(clash.status, 2);
  assert.match(clash.stderr, new RegExp(`config: lr \\* weight_decay must be < 1 .*\\(lr = 50, .*\\) \\(the flags not given take the settings ${lr50} was trained with\\)`));
  // a flag refused on its own is the flag's fault, not the file's
  const own = run('--load', lr50, '--batch', '0');
  assert.equal(own.status, 2);
  assert.equal(own.stderr.trim().split('\n').at(-1), 'ddpm: config: batch must be in 1..65536 (got 0)');
  // a file of a version this build does not read: refused, its settings not read nor named
  const v3 = readFileSync(file);
  v3.writeUInt32LE(3, 8);
  writeFileSync(damaged, reseal(new Uint8Array(v3)));
  const future = run('--load', damaged);
  assert.equal(future.status, 2);
  assert.equal(future.stderr, `ddpm: ${damaged}: checkpoint: unsupported version 3 (this build reads versions 1 and 2)\n`);
  // a file with EMA weights goes on with its EMA (its settings say so); with --ema 0 it samples
  // the raw weights: said
  const ema = run('--load', file, '--json');
  assert.equal(ema.status, 0, ema.stderr);
  assert.equal(JSON.parse(ema.stdout).config.ema_decay, 0.5);
  assert.equal(ema.stderr, '');
  const raw = run('--load', file, '--ema', '0', '--json');
  assert.equal(raw.status, 0, raw.stderr);
  assert.match(raw.stderr, /except those the flags change: ema_decay 0\.5 -> 0\n/);
  assert.match(raw.stderr, /holds EMA weights, which --ema 0 leaves out: the raw weights are sampled/);
});

// A command-line user's trial: what a resumed run changed unseen, a file replaced without a word,
// a divergence that left nothing to debug with, one exit status for a typo and for a failed run.
test('--load goes on with the file\'s settings, flags named where they change them; a replaced file is named; a failed run keeps its loss curve and exits 1', async (t) => {
  const dir = tempDir(t), a = join(dir, 'a.ddpm');
  assert.equal(run('--steps', '2', '--lr', '3e-3', '--lr-schedule', 'cosine', '--save', a).status, 0);
  // the file's settings (version 2): the run goes on with them, and --seed's part is said
  const resumed = run('--load', a, '--steps', '3', '--seed', '5', '--json');
  assert.equal(resumed.status, 0, resumed.stderr);
  // (and its plan of 2 steps raised to 3 re-plans its cosine learning rate: said)
  assert.equal(resumed.stderr, `ddpm: note: this run goes on with the settings ${a} was trained with; --seed 5 sets only the sample seed: ` +
    "training goes on with the file's randomness; steps 2 -> 3 re-plans the cosine learning rate over 3 steps, where the file's " +
    "2 steps followed a plan of 2 (this is not the run of 3 steps in one go)\n");
  // the run's seed stays the one its training started from (the file's, and the file this run
  // would save records it); the flag's goes to the sample
  const resumedSummary = JSON.parse(resumed.stdout), config = resumedSummary.config;
  assert.deepEqual([config.lr, config.lr_schedule, config.steps, config.seed], [3e-3, 'cosine', 3, 0]);
  assert.deepEqual([resumedSummary.seed, resumedSummary.sample_seed, resumedSummary.preset_changes.seed], [0, 5, undefined]);
  const b = join(dir, 'b.ddpm');
  const resumedText = run('--load', a, '--steps', '3', '--seed', '5', '--save', b);
  assert.equal(checkpointHeader(new Uint8Array(readFileSync(b))).settings.seed, 0);
  assert.doesNotMatch(resumedText.stdout, /changed: .*seed/);
  assert.match(resumedText.stdout, /\(sample seed 5\)/);
  // with --sample-seed as well, --seed does nothing, and that is said
  const both = run('--load', a, '--steps', '3', '--seed', '5', '--sample-seed', '6', '--json');
  assert.equal(both.status, 0, both.stderr);
  assert.match(both.stderr, /; --seed 5 does nothing here: training goes on with the file's randomness, and --sample-seed seeds the sample; steps 2 -> 3 re-plans/);
  assert.deepEqual([JSON.parse(both.stdout).seed, JSON.parse(both.stdout).sample_seed], [0, 6]);
  // (the same number in both is still --sample-seed's doing)
  assert.match(run('--load', a, '--steps', '3', '--seed', '6', '--sample-seed', '6').stderr, /; --seed 6 does nothing here/);
  // a flag given changes the file's value, and is named; without flags nothing is said
  const overridden = run('--load', a, '--lr', '1e-3', '--clip', '--json');
  assert.equal(overridden.status, 0, overridden.stderr);
  assert.match(overridden.stderr, new RegExp(`note: this run goes on with the settings ${a} was trained with, except those the flags change: lr 0.003 -> 0.001, clip_x0 0 -> 1\n$`));
  assert.equal(JSON.parse(overridden.stdout).config.lr, 1e-3);
  assert.equal(run('--load', a, '--json').stderr, '');
  // a version 1 file (the same without its settings) holds none: the ones this run takes are said
  const v2 = readFileSync(a), v1 = Buffer.concat([v2.subarray(0, 80), v2.subarray(160)]);
  v1.writeUInt32LE(1, 8);
  const old = join(dir, 'old.ddpm');
  writeFileSync(old, reseal(new Uint8Array(v1)));
  const fromOld = run('--load', old, '--steps', '3', '--seed', '5', '--json');
  assert.equal(fromOld.status, 0, fromOld.stderr);
  assert.match(fromOld.stderr, new RegExp(`note: ${old} \\(a version 1 file\\) holds the weights, AdamW state, step, loss curve and training randomness, not ` +
    'the settings it was trained or sampled with; this run uses lr 0.001 \\(constant\\), weight decay 0.01, batch 1, sigma beta, ' +
    "no clipping \\(the flags given, else the recommended preset's\\); --seed 5 sets only the sample seed: training goes on with " +
    "the file's randomness"));
  // one of weights alone (as the README's writer makes) is not said to hold AdamW state or a loss curve
  const P = 2723328, bare = Buffer.concat([v2.subarray(0, 80), v2.subarray(160, 160 + 4 * P), Buffer.alloc(4)]);
  bare.writeUInt32LE(1, 8);
  bare.writeUInt32LE(0, 56);   // flags: no AdamW state, EMA or history
  const weightsOnly = join(dir, 'weights.ddpm');
  writeFileSync(weightsOnly, reseal(new Uint8Array(bare)));
  const fromBare = run('--load', weightsOnly, '--steps', '3', '--json');
  assert.equal(fromBare.status, 0, fromBare.stderr);
  assert.match(fromBare.stderr, /\(a version 1 file\) holds the weights, step and training randomness, not the settings/);
  // its steps have no loss: the final loss is the mean of those of the last 10% that have one, and
  // says so ("the last 10% of all 20 steps" was the mean of 1)
  bare.writeUInt32LE(19, 60);   // step 19
  const late = join(dir, 'late.ddpm');
  writeFileSync(late, reseal(new Uint8Array(bare)));
  const fromLate = run('--load', late, '--steps', '20');
  assert.equal(fromLate.status, 0, fromLate.stderr);
  assert.match(fromLate.stdout, /trained step 20 in .*: loss (\S+) at step 20 -> \1 \(mean of the 1 recorded of steps 19 to 20, the last 10%; the page's moving average \S+\)\n/);
  // and training from weights alone is said to restart AdamW (a version 2 file too); sampling
  // alone from it has nothing to say
  assert.match(fromBare.stderr, /holds no AdamW state: AdamW starts afresh \(its moments at zero, its bias correction counted from this run's first update\), so this is not the run in one go\n/);
  const engine2 = await loadEngine(), light = engine2.createModel({ preset: 'recommended', steps: 2 });
  light.train(2);
  const lightFile = join(dir, 'light.ddpm');
  writeFileSync(lightFile, light.saveCheckpoint({ optimizer: false }));
  light.free();
  assert.match(run('--load', lightFile, '--steps', '3', '--json').stderr, new RegExp(`note: ${lightFile} holds no AdamW state: AdamW starts afresh`));
  assert.doesNotMatch(run('--load', lightFile, '--json').stderr, /AdamW starts afresh/);
  // (at step 0 there is no AdamW state to lose: the run from it is the run in one go)
  const zero = engine2.createModel({ preset: 'recommended', steps: 2 }), zeroFile = join(dir, 'zero.ddpm');
  writeFileSync(zeroFile, zero.saveCheckpoint({ optimizer: false }));
  zero.free();
  assert.doesNotMatch(run('--load', zeroFile, '--steps', '2', '--json').stderr, /AdamW starts afresh/);
  // a plan below the file's steps: the flag that raises it
  assert.match(run('--load', a, '--steps', '1').stderr, /more than this model's planned 1 \(give --steps 2 or more\)$/m);
  // --save onto a file: done, and said, with what was there
  const again = run('--steps', '1', '--save', a);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`note: --save ${a} replaced a checkpoint at step 2`));
  // a file of other work at that name is refused before training, and stays (a slip of the name
  // replaced it for good: a trial); an empty one is taken without a word
  const notes = join(dir, 'notes.txt');
  writeFileSync(notes, 'my notes\n');
  const slip = run('--steps', '1', '--save', notes);
  assert.equal(slip.status, 2);
  assert.equal(slip.stderr, `ddpm: --save ${notes}: a file that is not a checkpoint (9 bytes), which --save would replace: ` +
    'remove it first, or save under another name\n');
  assert.equal(readFileSync(notes, 'utf8'), 'my notes\n');
  const empty = join(dir, 'empty.ddpm');
  writeFileSync(empty, '');
  const intoEmpty = run('--steps', '1', '--save', empty);
  assert.equal(intoEmpty.status, 0, intoEmpty.stderr);
  assert.equal(intoEmpty.stderr, '');
  assert.equal(readFileSync(empty).subarray(0, 8).toString(), 'DDPMCKPT');
  // a file of another network's size: no flag would load it, and the message says so
  const engine = await loadEngine();
  const small = engine.createModel({ preset: 'recommended', hidden: 64, steps: 0 });
  const other = join(dir, 'h64.ddpm');
  writeFileSync(other, small.saveCheckpoint());
  small.free();
  const refused = run('--load', other);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^ddpm: \S+h64\.ddpm: checkpoint: mismatched hidden: .*\(this command line builds the paper's network only: image_size 16, hidden 1024, temb_dim 128; the file's has image_size 16, hidden 64, temb_dim 128\)/);
  // training diverges: the loss curve is written all the same, and the status says a run failed
  const out = join(dir, 'out');
  const diverged = run('--steps', '30', '--lr', '1e30', '--weight-decay', '0', '--out', out);
  assert.equal(diverged.status, 1);
  assert.match(diverged.stderr, new RegExp(`training diverged at step 2: .*\\(the loss curve is in ${out}/loss.csv\\)`));
  assert.match(readFileSync(join(out, 'loss.csv'), 'utf8'), /^step,loss\n1,[\d.]+\n$/, 'the steps it took (step 2 was refused)');
  // the label says when the flags changed a preset's values, and the JSON gives the betas in use
  const changed = run('--preset', 'paper', '--predict', 'x0', '--steps', '2', '--json');
  const j = JSON.parse(changed.stdout);
  assert.deepEqual(j.preset_changes, { predict: 'x0', steps: 2 });
  assert.deepEqual(j.betas.map((b) => Math.fround(b)), [Math.fround(1e-4), Math.fround(0.02)]);
  assert.deepEqual(JSON.parse(run('--steps', '1', '--json').stdout).betas.map((b) => Math.fround(b)), [Math.fround(1e-3), Math.fround(0.2)]);
  assert.match(run('--preset', 'paper', '--predict', 'x0', '--steps', '2').stdout, /^preset paper \(changed: predict x0, steps 2\): /);
  // with --load, by what set them: a file's settings are no flag's change (a trial's --load alone
  // read "changed: steps 300")
  const file = join(dir, 'lr.ddpm');
  assert.equal(run('--steps', '3', '--lr', '0.002', '--save', file).status, 0);
  assert.match(run('--load', file).stdout, /^preset recommended \(the file's settings: steps 3, lr 0\.002\): /);
  const flagsAndFile = run('--load', file, '--steps', '5', '--batch', '2');
  assert.match(flagsAndFile.stdout, /^preset recommended \(the file's settings: lr 0\.002; changed by the flags: steps 5, batch 2\): /);
  assert.deepEqual(JSON.parse(run('--load', file, '--steps', '5', '--batch', '2', '--json').stdout).preset_changes, { steps: 5, batch: 2, lr: 0.002 });
});

// A clone built with `make` alone has no npm packages, and one not built has no wasm module: a
// trial's run of the command line there gave Node's stack trace, even for --help. Here a copy of
// the scripts and the page's modules, outside the project (no node_modules above it).
test('unbuilt, or without the npm packages: --help works, and a run names what to do', (t) => {
  const dir = tempDir(t), root = new URL('..', import.meta.url).pathname;
  cpSync(join(root, 'scripts'), join(dir, 'scripts'), { recursive: true });
  cpSync(join(root, 'web'), join(dir, 'web'), { recursive: true, filter: (src) => !src.includes('/web/wasm') });
  const copy = (...args) => spawnSync(process.execPath, [join(dir, 'scripts', 'ddpm.mjs'), ...args], { encoding: 'utf8', timeout: 120000 });
  const help = copy('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: node scripts\/ddpm\.mjs/);
  const unbuilt = copy('--steps', '1', '--json');
  assert.equal(unbuilt.status, 2);
  assert.equal(unbuilt.stdout, '');
  assert.equal(unbuilt.stderr, `ddpm: the wasm module is not built (${join(dir, 'web', 'wasm', 'ddpm_simd.mjs')} is missing): run make first\n`);
  // built: a run needs no npm package; --out needs pngjs, and is refused before training without it
  cpSync(join(root, 'web', 'wasm'), join(dir, 'web', 'wasm'), { recursive: true });
  const built = copy('--steps', '1', '--json');
  assert.equal(built.status, 0, built.stderr);
  assert.equal(JSON.parse(built.stdout).steps, 1);
  const out = copy('--steps', '1', '--out', join(dir, 'out'));
  assert.equal(out.status, 2);
  assert.equal(out.stderr, 'ddpm: --out writes its PNGs with the npm package pngjs, which is not installed here: run npm install (make test runs it), or leave out --out\n');
  assert.ok(!existsSync(join(dir, 'out')));
});

// the page's server: a root that is no folder is refused, one without the built module warned of
// (a trial served an unbuilt clone: 404s for the module, and a page that blamed the connection)
test('scripts/serve.mjs refuses a root that is no folder, and warns of one without the built module', async (t) => {
  const SERVE = new URL('../scripts/serve.mjs', import.meta.url).pathname, dir = tempDir(t);
  const missing = spawnSync(process.execPath, [SERVE, '--root', join(dir, 'nothing'), '--port', '0'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, `serve: --root ${join(dir, 'nothing')}: no such folder\n`);
  const server = spawn(process.execPath, [SERVE, '--root', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => server.kill());
  let stderr = '', stdout = '';
  server.stderr.on('data', (d) => { stderr += d; });
  server.stdout.on('data', (d) => { stdout += d; });
  // (the warning comes before the server listens, but on another pipe: both are awaited)
  const end = Date.now() + 20000;
  while (!(stdout.includes('Serving') && stderr.endsWith('\n')) && Date.now() < end) await new Promise((next) => setTimeout(next, 20));
  assert.match(stdout, /^Serving /);
  assert.equal(stderr, `serve: warning: --root ${dir} has no wasm/ddpm_simd.mjs or wasm/ddpm_simd.wasm: the module is not built there, ` +
    'and the page will say it cannot run (make builds it into web/, make dist copies it into dist/)\n');
  // a file is not a folder
  const file = join(dir, 'file.txt');
  writeFileSync(file, 'x');
  const notFolder = spawnSync(process.execPath, [SERVE, '--root', file, '--port', '0'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(notFolder.status, 2);
  assert.equal(notFolder.stderr, `serve: --root ${file}: not a folder\n`);
});

// a trial: --save DIR/model.ddpm --out DIR, DIR new, was refused as 'cannot write in DIR', though
// --out makes its folders
test('--save into the folder --out makes works; a --save folder that does not exist is named so, and nothing is left', (t) => {
  const dir = tempDir(t), out = join(dir, 'new', 'run');
  const r = run('--steps', '1', '--out', out, '--save', join(out, 'model.ddpm'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(checkpointHeader(readFileSync(join(out, 'model.ddpm'))).step, 1);
  assert.ok(existsSync(join(out, 'sample.png')));
  const refused = run('--steps', '1', '--out', join(dir, 'other'), '--save', join(dir, 'missing', 'model.ddpm'));
  assert.equal(refused.status, 2);
  assert.equal(refused.stderr, `ddpm: --save ${join(dir, 'missing', 'model.ddpm')}: the folder ${join(dir, 'missing')} does not exist: make it first\n`);
  assert.ok(!existsSync(join(dir, 'other')), 'the --out folder made for a refused run is taken away');
});

// the summary reads the loss curve in the page's words (web/loss-words.mjs): a trial's --lr 1
// read "loss 1.0078 at step 1 -> 2.7801" and nothing more, where the page named the blow-up
test("the summary says what the loss curve did where it did not fall: blown up, or stuck (the paper preset's, with README's pointer)", () => {
  const blown = run('--lr', '1', '--steps', '60');
  assert.equal(blown.status, 0, blown.stderr);
  assert.match(blown.stdout, /\nthe loss's moving average rose to \S+ at step \d+, far above what predicting all zeros scores \(1\), and ended at \S+: updates too large for this model threw its weights off; a smaller learning rate keeps them in check\n/);
  const paper = run('--preset', 'paper');
  assert.match(paper.stdout, /\nthe loss's moving average is still 1\.0\d, about what predicting all zeros scores: the network has not learnt its target \(README, "Presets", measures why\)\n/);
  // a rate too small to move the weights is named as the reason (a trial's 1e-30 was told nothing)
  const tiny = run('--preset', 'paper', '--lr', '1e-30', '--steps', '40');
  assert.match(tiny.stdout, /\nthe loss's moving average is still 1\.0\d+, about what predicting all zeros scores: the network has not learnt its target\. At a learning rate of 1e-30, AdamW moves a weight by at most 3\.2e-30 a step, 1\.3e-28 in 40 steps, where the weights start at a few hundredths: too little to learn anything \(the presets train at 1e-3\)\.\n/);
});

test('--help prints the usage', () => {
  assert.match(execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }), /usage: node scripts\/ddpm\.mjs/);
});

test('an EMA that would still be mostly the initial weights is pointed out, and the run goes on', () => {
  const slow = run('--steps', '5', '--ema', '0.99', '--json');
  assert.equal(slow.status, 0, slow.stderr);
  assert.match(slow.stderr, /with --ema 0\.99 and 5 steps, 95% of the EMA the sampler uses is still the initial weights/);
  assert.doesNotThrow(() => JSON.parse(slow.stdout));
  const fast = run('--steps', '5', '--ema', '0.5', '--json');
  assert.equal(fast.status, 0, fast.stderr);
  assert.doesNotMatch(fast.stderr, /initial weights/);
  // a decay C refuses gets the refusal alone, not a note computed from it first ("200% of the EMA")
  const refused = run('--steps', '1', '--ema', '2');
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /ema_decay must be in \[0, 1\) \(got '2'\)/);
  assert.doesNotMatch(refused.stderr, /initial weights/);
  // below 1 in double, 1 as the float C uses: refused too, and not noted first (a review)
  const rounded = run('--steps', '2', '--ema', '0.99999999999');
  assert.equal(rounded.status, 2);
  assert.match(rounded.stderr, /ema_decay = 0\.99999999999 rounds to 1 as a float/);
  assert.doesNotMatch(rounded.stderr, /initial weights/);
});

test('a run from a checkpoint reports its progress from the step it started at', async () => {
  const engine = await loadEngine();
  const options = { preset: 'recommended', hidden: 16, T: 50, steps: 2 };
  const first = await runExperiment(engine, options);
  const bytes = first.model.saveCheckpoint();
  first.model.free();
  const calls = [];
  const resumed = await runExperiment(engine, { ...options, steps: 4 }, { load: bytes, onProgress: (...a) => calls.push(a) });
  resumed.model.free();
  assert.ok(calls.length >= 1);
  for (const [step, total, ms, from] of calls) {
    assert.equal(total, 4);
    assert.equal(from, 2, 'steps/s counts the steps of this run, not those the file had');
    assert.ok(step > from && ms >= 0);
  }
});

// The sweep behind README's table of candidates: a chain the module refuses as diverged counts
// as a failed sample (it used to end the whole sweep), and a median of an even count of seeds is
// the mean of the middle two (it used to be the upper one).
test('scripts/sweep.mjs: a diverged chain is a failed seed, and the median is the median', () => {
  const sweep = new URL('../scripts/sweep.mjs', import.meta.url).pathname;
  // (its flags' values in both forms, as the CLI's)
  const r = spawnSync(process.execPath, [sweep, '--seeds=2', '--only', 'x0-unclipped,recommended', '--json'], { encoding: 'utf8', timeout: 300000 });
  assert.equal(r.status, 0, r.stderr);
  const [unclipped, recommended] = JSON.parse(r.stdout);
  // seed 0 of x0-prediction with the paper's betas diverges at t = 23, seed 1 samples the square
  assert.equal(unclipped.name, 'x0-unclipped');
  assert.deepEqual([unclipped.passed, unclipped.diverged], [1, 1]);
  assert.equal(unclipped.mse[0], null, 'the diverged seed has no MSE');
  assert.ok(unclipped.mse[1] < 0.01);
  assert.equal(unclipped.median_mse, null, 'a median with a diverged seed among the middle two');
  // the refusal of a diverged chain comes with it (a trial found no reason, nor its t)
  assert.match(unclipped.refusal[0], /^sampling diverged at t=23: .*the chain ran away/);
  assert.equal(unclipped.refusal[1], null);
  assert.ok(Number.isInteger(Math.round(unclipped.train_s * 1000)) && String(unclipped.train_s).length <= 6, `train_s ${unclipped.train_s} in ms`);
  assert.deepEqual([recommended.passed, recommended.diverged], [2, 0]);
  const [a, b] = recommended.mse;
  assert.equal(recommended.median_mse, (a + b) / 2);
  assert.equal(recommended.worst_mse, Math.max(a, b));
  assert.equal(recommended.median_loss_final, (recommended.loss_final[0] + recommended.loss_final[1]) / 2);
});

// A full sweep takes minutes: --help, and any argument it does not understand, stop it at once
// (--help used to be ignored, and a full sweep began)
test('scripts/sweep.mjs: --help prints its usage, and a bad argument is refused before any run', () => {
  const sweep = new URL('../scripts/sweep.mjs', import.meta.url).pathname;
  const run = (...args) => spawnSync(process.execPath, [sweep, ...args], { encoding: 'utf8', timeout: 20000 });
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: node scripts\/sweep\.mjs/);
  for (const [args, pattern] of [
    [['--frobnicate'], /unknown argument '--frobnicate'/],
    [['--only', 'paper,best'], /--only: no candidate named 'best'/],
    [['--seeds', '0'], /--seeds must be a whole number from 1 to 1000 \(got '0'\)/],
    [['--seeds', 'ten'], /--seeds must be a whole number/],
    [['--seeds'], /--seeds needs a value/],
    [['--seeds=0'], /--seeds must be a whole number from 1 to 1000 \(got '0'\)/],
    // (a flag where a value should be is not taken as the value: --only would have named it)
    [['--only', '--seeds', '2'], /--only needs a value/],
    [['--json=1'], /--json takes no value \(got '--json=1'\)/],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stdout, '');
  }
});

// A write that fails after training (a full disk, a name taken by a folder) ends the run with its
// message and exit status 2, the trained model kept and the JSON given; --out's files are written
// whole or not at all. A failed loss.csv used to end the run with a stack trace before --save, and
// a failed PNG left a truncated one (a bad-input audit).
test('--out or --save failing after training: named, exit 2, one JSON object (write_failed), the model kept, no half files', (t) => {
  const dir = tempDir(t), ckpt = join(dir, 'model.ddpm');
  const out = join(dir, 'out');
  mkdirSync(join(out, 'loss.csv'), { recursive: true });   // a folder where loss.csv goes
  const early = run('--steps', '2', '--out', out, '--save', ckpt, '--json');
  assert.equal(early.status, 2, early.stderr);
  assert.match(early.stderr, /^ddpm: --out \S+: cannot write loss\.csv: a folder \(EISDIR\) \(the trained model is saved to \S+model\.ddpm\)\n$/);
  const j = JSON.parse(early.stdout);
  assert.equal(j.status, 'write_failed');
  assert.match(j.error, /cannot write loss\.csv/);
  assert.equal(j.steps_run, 2);
  assert.equal(checkpointHeader(new Uint8Array(readFileSync(ckpt))).step, 2, 'the checkpoint was saved before the curve');
  rmSync(join(out, 'loss.csv'), { recursive: true });
  mkdirSync(join(out, 'trajectory.png'));   // and now where the trajectory goes
  const late = run('--steps', '2', '--out', out, '--json');
  assert.equal(late.status, 2, late.stderr);
  assert.match(late.stderr, /^ddpm: --out \S+: cannot write trajectory\.png: a folder \(EISDIR\)\n$/);
  const k = JSON.parse(late.stdout);
  assert.equal(k.status, 'write_failed');
  assert.ok(Number.isFinite(k.mse), 'it sampled');
  assert.deepEqual(readdirSync(out).sort(), ['loss.csv', 'sample.png', 'target.png', 'trajectory.png'], 'no partial file is left');
  // a training that diverged, then a write that failed: both said, the status the divergence's,
  // the write's message in write_error (it was spliced into the save's note, and left out of the JSON)
  rmSync(join(out, 'loss.csv'));
  mkdirSync(join(out, 'loss.csv'));
  const diverged = run('--steps', '30', '--lr', '1e30', '--weight-decay', '0', '--T', '50', '--out', out, '--json');
  assert.equal(diverged.status, 1, diverged.stderr);
  assert.match(diverged.stderr, /^ddpm: training diverged at step \d+: [^\n]*, but this run saves nothing: run it again with --save FILE to keep them; then --out \S+: cannot write loss\.csv: a folder \(EISDIR\)\n$/);
  const d = JSON.parse(diverged.stdout);
  assert.equal(d.status, 'diverged');
  assert.match(d.write_error, /^--out \S+: cannot write loss\.csv: a folder \(EISDIR\)$/);
  // a device that takes nothing: the model goes to the temporary folder, named, and JSON is given;
  // --out's loss curve is written all the same (a failed save left the folder empty)
  if (existsSync('/dev/full')) {
    const curve = join(dir, 'curve');
    const full = run('--steps', '2', '--save', '/dev/full', '--out', curve, '--json');
    assert.equal(readFileSync(join(curve, 'loss.csv'), 'utf8').trim().split('\n').length, 3, 'the loss curve of 2 steps');
    assert.equal(full.status, 2, full.stderr);
    const kept = /kept in (\S+\.ddpm) instead/.exec(full.stderr);
    assert.ok(kept, full.stderr);
    t.after(() => rmSync(kept[1], { force: true }));
    assert.match(full.stderr, /^ddpm: --save \/dev\/full: cannot write the checkpoint: no space left on the device \(ENOSPC\)/);
    assert.equal(JSON.parse(full.stdout).status, 'write_failed');
    assert.equal(checkpointHeader(new Uint8Array(readFileSync(kept[1]))).step, 2);
  }
});

// --save under a name --out writes, or naming the --out folder: refused before training (a
// checkpoint was replaced by sample.png, and the run said it was saved); a refused command
// leaves no --out folder behind
test('--save into --out under one of its names, or as the --out folder, is refused before training; refused runs leave no folders', (t) => {
  const dir = tempDir(t), out = join(dir, 'out');
  mkdirSync(out);
  const clash = run('--save', join(out, 'sample.png'), '--out', out);
  assert.equal(clash.status, 2);
  assert.match(clash.stderr, /^ddpm: --save \S+sample\.png: --out \S+ writes a sample\.png there, which would replace the checkpoint: save it under another name\n$/);
  assert.deepEqual(readdirSync(out), []);
  // the folders as the system has them: through a link to --out's folder, or a '..' after a link
  symlinkSync(out, join(dir, 'link'));
  const linked = run('--save', join(out, 'loss.csv'), '--out', join(dir, 'link'));
  assert.equal(linked.status, 2);
  assert.match(linked.stderr, /writes a loss\.csv there, which would replace the checkpoint/);
  mkdirSync(join(out, 'sub'));
  symlinkSync(join(out, 'sub'), join(dir, 's'));
  const dotted = run('--save', `${join(dir, 's')}/../chain.csv`, '--out', out);   // (not join: it takes '..' away by name)
  assert.equal(dotted.status, 2);
  assert.match(dotted.stderr, /writes a chain\.csv there/);
  const same = run('--save', join(dir, 'new'), '--out', join(dir, 'new'));
  assert.equal(same.status, 2);
  assert.match(same.stderr, /names the --out folder: save the checkpoint elsewhere/);
  assert.ok(!existsSync(join(dir, 'new')));
  const refused = run('--lr', '0', '--out', join(dir, 'a', 'b', 'c'));
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /lr must be/);
  assert.ok(!existsSync(join(dir, 'a')), 'the folders it made are gone');
});

// What the run will do with a file is said once C has loaded it: a file then refused was first
// described (its EMA "sampled raw", its settings), as if it would be used (a bad-input audit)
test('--load: the notes on a file come only once it has loaded; a refused file gets its refusal alone', (t) => {
  const dir = tempDir(t), good = join(dir, 'good.ddpm'), bad = join(dir, 'bad.ddpm');
  assert.equal(run('--steps', '2', '--save', good).status, 0);
  const bytes = readFileSync(good);
  bytes.writeUInt32LE(bytes.readUInt32LE(56) | 2, 56);   // flags: EMA weights, which the file does not hold
  writeFileSync(bad, reseal(new Uint8Array(bytes)));
  const refused = run('--load', bad, '--seed', '3');
  assert.equal(refused.status, 2);
  assert.doesNotMatch(refused.stderr, /note:/);
  assert.match(refused.stderr, /^ddpm: \S+bad\.ddpm: checkpoint: /);
  // the same notes for a file that loads, as before
  const loaded = run('--load', good, '--seed', '3', '--steps', '2');
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.match(loaded.stderr, /note: this run goes on with the settings \S+good\.ddpm was trained with; --seed 3 sets only the sample seed/);
});
