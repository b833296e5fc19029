#!/usr/bin/env node
// ddpm.mjs -- the headless command line, on the same wasm module and wrapper as the page.
//   node scripts/ddpm.mjs [--preset paper|recommended] [--steps N] [--batch B] [--lr X] [--seed S]
//     [--schedule NAME] [--T N] [--sigma beta|beta-tilde] [--clip|--no-clip] [--predict eps|x0]
//     [--ema DECAY] [--lr-schedule constant|cosine] [--activation silu|relu] [--weight-decay X]
//     [--sample-seed S]
//     [--save FILE] [--load FILE] [--out DIR] [--scalar] [--json]
import { accessSync, chmodSync, closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, readSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { loadEngine, PRESETS, DEFAULTS, DDPMError, alongImage, checkpointHeader, checkpointPreset, CHECKPOINT_ARCHITECTURE, FAR_OUTSIDE, MSE_BAR, tooLongForModel } from '../web/ddpm.mjs';
import { strip, grid, upscale } from '../web/draw.mjs';
import { movingGeoMean, formatNumber } from '../web/plot.mjs';
import { UNLEARNT_LOSS, lossCurve, unlearntLoss, unlearntWhy, learningRateTooSmall, blewUpOnTheWay, blowUpRecovered } from '../web/loss-words.mjs';
import { isDecimal } from '../web/settings.mjs';
import { runExperiment, finalLossWindow, firstLossStep, Interrupted } from './lib/run.mjs';

const USAGE = `usage: node scripts/ddpm.mjs [options]
  --preset paper|recommended   start from a preset (default recommended; with --load, the file's)
  (a flag's value follows it, or '=': --steps 200, --steps=200; each flag once)
  --steps N  --batch B  --lr X  --seed S  --T N  --schedule linear|linear-scaled|cosine
  --sigma beta|beta-tilde  --clip | --no-clip  --predict eps|x0  --activation silu|relu
  --ema DECAY  --lr-schedule constant|cosine  --weight-decay X  --sample-seed S
  --save FILE     write a checkpoint (weights + AdamW state) after training
  --load FILE     start from a checkpoint (train on up to --steps, default: the steps the
                  file's run planned; without --preset, the preset whose model the file
                  holds; the flags not given take the file's settings)
  --out DIR       write sample.png, target.png, trajectory.png (x_T .. x_0), x0_pred.png, loss.csv
                  and chain.csv (each x_t's image coefficient and noise beside the forward process's)
  --scalar        use the scalar (no SIMD) wasm build
  --json          print one JSON object on stdout and nothing else there
  (progress on stderr: a bar on a terminal; elsewhere, or with --json, a line every 10 s of training)
  Defaults: the recommended preset (predict x0, betas scaled to T; steps 200, batch 1, lr 1e-3,
  AdamW weight decay 0.01, seed 0); --sample-seed defaults to --seed. Exit status: 0 done,
  1 training or sampling diverged, 2 refused (an argument, a path, a file) or an output that
  could not be written after training (the checkpoint is saved first), 130 (143) stopped by
  Ctrl-C (TERM) at a whole step, which --save and --out keep.`;

// flag -> [config key, kind]
const VALUE_FLAGS = {
  '--steps': ['steps', 'int'], '--batch': ['batch', 'int'], '--lr': ['lr', 'num'], '--seed': ['seed', 'int'],
  '--T': ['T', 'int'], '--schedule': ['schedule', 'str'], '--sigma': ['sigma', 'str'], '--predict': ['predict', 'str'],
  '--activation': ['activation', 'str'], '--ema': ['ema_decay', 'num'], '--lr-schedule': ['lr_schedule', 'str'],
  '--weight-decay': ['weight_decay', 'num'],
};

// Exit status 2: the command was refused (an argument, a path, a file or a config C refuses);
// 1: it ran and failed (training or sampling diverged), so a script can tell a typo from a run
// that did not work.
function fail(message, status = 2) {
  process.stderr.write(`ddpm: ${message}\n`);
  process.exit(status);
}

// a system error in words, its code beside them (ENOENT alone says little to most readers)
const SYSTEM_ERRORS = {
  ENOENT: 'no such file or folder', EACCES: 'permission denied', EPERM: 'not permitted', EROFS: 'a read-only file system',
  ENOSPC: 'no space left on the device', EFBIG: 'the file is larger than a size limit allows', ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'a folder', EDQUOT: 'over the disk quota', ENAMETOOLONG: 'the name is too long',
  EPIPE: 'the reading end of the pipe was closed', EEXIST: 'a file of that name is already there',
};
function sysError(e) {
  return SYSTEM_ERRORS[e.code] ? `${SYSTEM_ERRORS[e.code]} (${e.code})` : e.code ?? e.message;
}

// Flags take their value as the next argument (--steps 200) or after '=' (--steps=200).
function parseArgs(argv) {
  const opts = { config: {}, typed: {}, json: false, scalar: false }, given = new Map();
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].startsWith('--') ? argv[i].indexOf('=') : -1;
    const a = eq < 0 ? argv[i] : argv[i].slice(0, eq), inline = eq < 0 ? undefined : argv[i].slice(eq + 1);
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) fail(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    // a flag that takes no value refuses one, where a value would go unread
    const noValue = () => { if (inline !== undefined) fail(`${a} takes no value (got '${argv[i]}')`); };
    // each setting once: a second one is refused, as the page refuses a key given twice in its
    // address, rather than one of the two silently lost (--clip and --no-clip are one setting)
    const setting = a === '--no-clip' ? '--clip' : a;
    if (given.has(setting) && setting !== '--help' && setting !== '-h') {
      fail(given.get(setting) === a ? `${a} is given twice: give it once` : `${given.get(setting)} and ${a} are both given: give one`);
    }
    given.set(setting, a);
    if (a === '--help' || a === '-h') { noValue(); console.log(USAGE); process.exit(0); }
    else if (a === '--json') { noValue(); opts.json = true; }
    else if (a === '--scalar') { noValue(); opts.scalar = true; }
    else if (a === '--clip') { noValue(); opts.config.clip_x0 = 1; }
    else if (a === '--no-clip') { noValue(); opts.config.clip_x0 = 0; }
    else if (a === '--preset') {
      opts.preset = value();
      // (own keys only: 'toString' or '__proto__' is no preset, though an object has it)
      if (!Object.hasOwn(PRESETS, opts.preset)) fail(`unknown preset '${opts.preset}' (paper, recommended)`);
    } else if (a === '--save' || a === '--load' || a === '--out') {
      // an empty path (an unset variable in a script) is refused: ignored, --load '' would
      // quietly train a new model where a run was meant to resume
      const path = value();
      if (path === '') fail(`${a} needs a ${a === '--out' ? 'folder' : 'file'} name (got an empty one)`);
      opts[a.slice(2)] = path;
    }
    else if (a === '--sample-seed') {
      opts.sampleSeed = value();   // (the text, read as a number once every flag is in)
    }
    else if (VALUE_FLAGS[a]) {
      const [key, kind] = VALUE_FLAGS[a];
      const text = value();
      if (kind !== 'str' && !isDecimal(text)) fail(`${a} must be a decimal number (got '${text}')`);
      if (kind !== 'str' && !Number.isFinite(Number(text))) fail(`${a}: '${text}' is too large for a double (it reads as Infinity)`);
      if (kind === 'int' && !Number.isInteger(Number(text))) fail(`${a} must be an integer (got '${text}')`);
      // 1e-400 is 0 to JavaScript: named as written, or the refusal below would say "(got 0)"
      if (kind !== 'str' && Number(text) === 0 && /[1-9]/.test(text.replace(/e.*$/i, '')))
        fail(`${a}: '${text}' is too small to be told from 0 (it rounds to 0)`);
      opts.config[key] = kind === 'str' ? text : Number(text);
      opts.typed[key] = text;
    } else fail(`unknown argument '${a}'\n${USAGE}`);
  }
  if (opts.sampleSeed !== undefined) {
    const text = opts.sampleSeed, seed = isDecimal(text) ? Number(text) : NaN;
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) fail(`--sample-seed must be an integer from 0 to 4294967295 (got '${text}')`);
    opts.sampleSeed = seed;
  }
  return opts;
}

// step of total, `ms` after this run began at step `from` (a loaded checkpoint's)
function progressBar(step, total, ms, from) {
  const width = 30, done = Math.round((step / total) * width);
  const rate = (step - from) / (ms / 1000), eta = (total - step) / rate;
  process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${step}/${total} ` +
    `${rate.toFixed(1)} steps/s  ETA ${eta.toFixed(1)} s `);
}

// Off a terminal (a log, a pipe), a line every PROGRESS_LINE_MS of training instead of the bar:
// a long run in a log says where it is, a short one prints none
const PROGRESS_LINE_MS = 10000;
function progressLines() {
  let next = PROGRESS_LINE_MS;
  return (step, total, ms, from) => {
    if (ms < next || step === total) return;
    next = ms + PROGRESS_LINE_MS;
    const rate = (step - from) / (ms / 1000);
    process.stderr.write(`ddpm: step ${step} of ${total}, ${rate.toFixed(1)} steps/s, about ${Math.ceil((total - step) / rate)} s to go\n`);
  };
}

// The PNG encoder (the npm package pngjs), loaded only for --out: the rest of the command line
// needs no npm package, and a clone built with `make` alone ran none of it (a trial: even --help
// failed on the import). Missing, --out is refused before training.
let PNG;
async function loadPngEncoder() {
  try {
    ({ PNG } = await import('pngjs'));
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    fail('--out writes its PNGs with the npm package pngjs, which is not installed here: run npm install ' +
      '(make test runs it), or leave out --out');
  }
}

function pngBytes(rgba, width, height, factor) {
  const png = new PNG({ width: width * factor, height: height * factor });
  png.data = Buffer.from(upscale(rgba, width, height, factor));
  return PNG.sync.write(png);
}

// set as training ends, when the outputs begin: what a run that fails before then made (--out's
// folders) it removes
let outputsBegan = false;

// the files --out writes, in its folder (--save must not name one of them), as the summary lists them
const OUT_FILES = ['sample.png', 'trajectory.png', 'x0_pred.png', 'target.png', 'loss.csv', 'chain.csv'];

// A file of --out is written whole or not at all, as a checkpoint is: to a new file beside it,
// renamed over it, so a full disk leaves no half-written PNG or curve (an empty loss.csv and a
// truncated trajectory.png were left). A write that fails throws OutputFailed, which says why.
class OutputFailed extends Error {}
function writeOutput(dir, name, bytes) {
  let partial = null;
  try {
    partial = writeNew(join(dir, name), bytes);
    renameSync(partial, join(dir, name));
  } catch (e) {
    if (partial) try { rmSync(partial, { force: true }); } catch { /* gone already */ }
    throw new OutputFailed(`--out ${dir}: cannot write ${name}: ${sysError(e)}`);
  }
}

// Where the results go is checked before training, so a bad path costs no run: the folder of
// --save must be a folder that takes files (and --save must not name a folder); --out is made
// now, one level at a time (Node's recursive mkdir loops for ever where a level cannot be made,
// as under /proc).
function checkOutputs(opts) {
  const folder = (dir, what) => {
    let isDir;
    try { isDir = statSync(dir).isDirectory(); } catch (e) {
      // (--save makes no folders, where --out makes its own: a trial read 'cannot write in' as a permission)
      fail(e.code === 'ENOENT' ? `${what}: the folder ${dir} does not exist: make it first` : `${what}: cannot write in ${dir}: ${sysError(e)}`);
    }
    if (!isDir) fail(`${what}: ${dir} is not a folder`);
    try { accessSync(dir, constants.W_OK); } catch (e) { fail(`${what}: cannot write in ${dir}: ${sysError(e)}`); }
  };
  // --out first: its folders are there for a --save into them (--save DIR/model --out DIR, DIR new)
  if (opts.out) {
    const missing = [];
    let dir = resolve(opts.out);
    while (!existsSync(dir) && dirname(dir) !== dir) {
      missing.unshift(dir);
      dir = dirname(dir);
    }
    folder(dir, `--out ${opts.out}`);
    // (a command refused before training takes the folders it made away again, empty as they
    // are: --lr 0 --out a/b/c left a/b/c; outputsBegan)
    const made = [];
    process.on('exit', () => {
      if (!outputsBegan) for (const level of [...made].reverse()) try { rmdirSync(level); } catch { /* not ours to remove now */ }
    });
    for (const level of missing) {
      try { mkdirSync(level); } catch (e) { fail(`--out ${opts.out}: cannot make the folder ${level}: ${sysError(e)}`); }
      made.push(level);
    }
  }
  // --save into --out's folder under a name --out writes (the checkpoint was then replaced by a
  // PNG, and the run said it was saved), or --save naming the --out folder itself: refused now.
  // The folders are compared as the system has them (device and inode), --out made: by
  // their names, a link to the folder (--out link) or a '..' after a link passed
  if (opts.save && opts.out) {
    const at = (path) => { try { return statSync(path); } catch { return null; } };
    const out = at(opts.out), { path } = saveTarget(opts.save);
    if (sameNode(at(path), out)) fail(`--save ${opts.save} names the --out folder: save the checkpoint elsewhere`);
    if (OUT_FILES.includes(basename(path)) && sameNode(at(dirname(path)), out)) {
      fail(`--save ${opts.save}: --out ${opts.out} writes a ${basename(path)} there, which would replace the checkpoint: save it under another name`);
    }
  }
  if (opts.save) {
    const what = `--save ${opts.save}`;
    if (opts.save.endsWith('/')) fail(`${what}: a folder, not a file`);
    const { path, stat } = saveTarget(opts.save);
    if (stat?.isDirectory()) fail(`${what}: a folder, not a file`);
    // a socket cannot be opened by its name: stdout's is written through its descriptor (a
    // program that starts this one with pipes may give it a socket), any other is refused now
    if (stat?.isSocket() && !savesToStdout(opts.save)) fail(`${what}: a socket, which only stdout's can be (--save /dev/stdout)`);
    // a file there is replaced by a renamed one, which its folder alone would allow: it must take
    // writes itself too (a read-only checkpoint stays so)
    if (stat) {
      try { accessSync(path, constants.W_OK); } catch (e) { fail(`${what}: cannot write it: ${sysError(e)}`); }
    }
    // a checkpoint there is replaced (said after the save), an empty file too (as a shell's
    // redirection leaves one); anything else is refused before training: a slip of the name
    // (--save loss.csv, --save notes.txt) replaced a file of other work for good (a trial)
    if (stat?.isFile() && stat.size > 0 && startsWithMagic(path) === false) {
      fail(`${what}: ${path === opts.save ? 'a' : `it names ${path}, a`} file that is not a checkpoint (${stat.size} bytes), which --save ` +
        'would replace: remove it first, or save under another name');
    }
    if (!stat || stat.isFile()) {
      folder(dirname(path), what);
      // and it makes a file there now: the folder's mode and access() pass /proc, where nothing
      // can be made, and the write failed only after training
      try { rmSync(writeNew(path, '')); } catch (e) { fail(`${what}: cannot make a file in ${dirname(path)}: ${sysError(e)}`); }
    }
  }
}

// --load's bytes: a file, or a pipe (--load /dev/stdin, --load <(...)), of at most the longest
// checkpoint of this command line's network (the paper's, for both presets: the engine's
// maxCheckpointBytes), refused by its size before it is read whole (one of 2 GB was read, and
// then took the module's memory); not a folder or a device (/dev/zero never ends, and would be
// read until memory ran out). A pipe's length is known only by reading it, so it is read in pieces.
function readCheckpointFile(path, engine) {
  let info;
  try { info = statSync(path); } catch (e) { fail(`cannot read ${path}: ${sysError(e)}`); }
  if (!info.isFile() && !info.isFIFO()) fail(`--load ${path}: not a file or a pipe`);
  const most = engine.maxCheckpointBytes();
  const tooBig = (n, atLeast = false) => fail(`${path}: ${tooLongForModel(n, most, engine.maxSteps, { atLeast })}`);
  if (info.size > most) tooBig(info.size);
  try {
    if (info.isFile()) return new Uint8Array(readFileSync(path));
    const fd = openSync(path, 'r'), pieces = [];
    try {
      const buffer = Buffer.alloc(1 << 20);
      let total = 0;
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (n === 0) break;
        total += n;
        if (total > most) tooBig(total, true);
        pieces.push(Buffer.from(buffer.subarray(0, n)));   // a copy of what came: a pipe gives 64 KB at a time
      }
    } finally { closeSync(fd); }
    return new Uint8Array(Buffer.concat(pieces));
  } catch (e) {
    fail(`cannot read ${path}: ${sysError(e)}`);
  }
}

// frames per row of trajectory.png and x0_pred.png
const TRAJECTORY_COLUMNS = 10;


// The file --save writes: the path itself, or what its links name, followed to the end (a link
// that names no file yet included), with what is there now (null: nothing). A pipe or a device
// at the end is written through the name given: /dev/stdout's link ends in /proc's 'pipe:[N]',
// which names no file (followed, a pipe was taken for a new file, and the write failed after
// training).
function saveTarget(path) {
  let end = null;
  try { end = statSync(path); } catch { /* nothing there yet, or a link to nothing */ }
  if (end && !end.isFile() && !end.isDirectory()) return { path, stat: end };
  for (let links = 0; links < 40; links++) {
    let stat;
    try { stat = lstatSync(path); } catch { return { path, stat: null }; }
    if (!stat.isSymbolicLink()) return { path, stat };
    path = resolve(dirname(path), readlinkSync(path));
  }
  fail(`--save ${path}: too many links`);
}

// The new file a checkpoint is written to before it is renamed over `path`: made new (O_EXCL),
// under a name no one can guess, in the folder of `path`; returns its path. A name with the
// process number alone was a name to plant a link at in a shared folder (/tmp): the checkpoint
// was written through it into the file it named. A name already there is never removed (it may
// be another run's), and another is drawn.
function writeNew(path, bytes, mode = 0o666) {
  for (let tries = 1; ; tries++) {
    const partial = join(dirname(path), `.ddpm-${process.pid}-${randomBytes(8).toString('hex')}.partial`);
    try {
      writeFileSync(partial, bytes, { mode, flag: 'wx' });
      return partial;
    } catch (e) {
      if (e.code === 'EEXIST' && tries < 10) continue;
      // (the part written before the write failed, in a file this call made: any other error
      // than EEXIST means nothing was at the name)
      if (e.code !== 'EEXIST') try { rmSync(partial, { force: true }); } catch { /* nothing was made */ }
      throw e;
    }
  }
}

// A checkpoint is written whole or not at all: to a new file beside the one it replaces (the file
// a link names, not the link), created with that file's permissions, then renamed over it, so a
// full disk or a size limit never leaves the old checkpoint half overwritten. A device or a pipe
// (/dev/stdout) is written in place, stdout's socket through its descriptor.
// A write that fails throws SaveFailed, whose message says why.
class SaveFailed extends Error {}
function saveAtomically(savePath, bytes) {
  const { path, stat } = saveTarget(savePath);
  const why = (e) => new SaveFailed(`--save ${savePath}: cannot write the checkpoint: ${sysError(e)}`);
  if (stat?.isSocket()) {
    // (stdout's socket: checkOutputs refused any other) written through fd 1, which Node may have
    // made non-blocking: a full socket says EAGAIN, and the write waits a millisecond and goes on
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let at = 0; at < bytes.length;) {
      try {
        at += writeSync(1, bytes, at);
      } catch (e) {
        if (e.code !== 'EAGAIN') throw why(e);
        Atomics.wait(pause, 0, 0, 1);
      }
    }
    return;
  }
  if (stat && !stat.isFile()) {
    try { writeFileSync(path, bytes); } catch (e) { throw why(e); }
    return;
  }
  const mode = stat ? stat.mode & 0o7777 : 0o666;
  // (an empty file, as a shell's redirection leaves, is not worth a word)
  const was = stat && stat.size > 0 ? whatIsThere(path) : '';
  let partial = null;
  try {
    partial = writeNew(path, bytes, mode);
    if (stat) chmodSync(partial, mode);   // exactly the old file's, whatever the umask
    renameSync(partial, path);
    // replacing a file is what --save onto one asks for, but not always what was meant: said
    if (was) process.stderr.write(`ddpm: note: --save ${savePath} replaced ${was}\n`);
  } catch (e) {
    // (written, but not renamed into place)
    if (partial) try { rmSync(partial, { force: true }); } catch { /* gone already */ }
    const failed = why(e);
    if (stat) failed.message += ' (the file there is as it was)';
    throw failed;
  }
}

// What a trained model becomes when --save cannot take it (a disk that filled, a folder removed
// during training; the checks before training catch the rest): a file in the system's temporary
// folder, named, so that the training is not lost; returns the words that say where.
function rescue(bytes, step) {
  // (a name no file has yet: one of another run of the same process number may be there)
  for (let k = 1; ; k++) {
    const path = join(tmpdir(), `ddpm-${process.pid}-step${step}${k > 1 ? `-${k}` : ''}.ddpm`);
    try {
      writeFileSync(path, bytes, { flag: 'wx' });
      return `; the trained model is kept in ${path} instead (move it where you want it)`;
    } catch (e) {
      if (e.code === 'EEXIST' && k < 100) continue;
      // (a part written before the write failed; a file of that name already there is not ours)
      if (e.code !== 'EEXIST') try { rmSync(path, { force: true }); } catch { /* nothing was made */ }
      return `; nor could the trained model be kept in ${path}: ${sysError(e)}`;
    }
  }
}

// What C says of a file loaded into a model of these options: null if it loads; { flags } if
// the options alone make no model (the flags' own fault), { file } if C refuses the file
function fileRefusal(engine, options, bytes) {
  let model;
  try {
    model = engine.createModel(options);
  } catch (e) {
    if (!(e instanceof DDPMError)) throw e;
    return { flags: e.message };
  }
  try {
    model.loadCheckpoint(bytes);
    return null;
  } catch (e) {
    if (!(e instanceof DDPMError)) throw e;
    return { file: e.message };
  } finally {
    model.free();
  }
}

// the first `count` bytes of the file at `path` (fewer if it is shorter), or null where it
// cannot be read (a file that takes writes only)
function readHead(path, count) {
  const head = Buffer.alloc(count);
  try {
    const fd = openSync(path, 'r');
    try { return head.subarray(0, readSync(fd, head, 0, count, 0)); } finally { closeSync(fd); }
  } catch { return null; }
}
// whether a file's head is a checkpoint's (its 8-byte marker), whole or not
const hasMagic = (head) => head.length >= 8 && head.toString('latin1', 0, 8) === 'DDPMCKPT';

// whether the file at `path` begins as a checkpoint does; null where it cannot be read to tell
function startsWithMagic(path) {
  const head = readHead(path, 8);
  return head && hasMagic(head);
}

// the file --save is about to replace, in words: a checkpoint at its step (as its header reads),
// a damaged one, or another file
function whatIsThere(path) {
  const head = readHead(path, 164);   // (the header of version 2, and its checksum)
  if (!head) return 'a file it could not read';
  try {
    return `a checkpoint at step ${checkpointHeader(new Uint8Array(head)).step}`;
  } catch {
    return hasMagic(head) ? 'a damaged checkpoint' : 'a file that was not a checkpoint';
  }
}

// whether --save names the file stdout goes to (--save /dev/stdout > FILE, or | ...)
function savesToStdout(path) {
  try { return sameNode(fstatSync(1), statSync(path)); } catch { return false; }
}

// whether two stats are of one file or folder, as the system has it (device and inode): names
// can differ by links and '..'
const sameNode = (a, b) => !!a && !!b && a.dev === b.dev && a.ino === b.ino;

// the wasm module, which `make` builds into web/wasm/: a clone not built yet is told so, not
// shown Node's stack trace for a missing module
async function loadBuiltEngine(simd) {
  try {
    return await loadEngine({ simd });
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' && e?.code !== 'ENOENT') throw e;
    fail(`the wasm module is not built (${e.path ?? /'([^']*)'/.exec(e.message)?.[1] ?? e.message} is missing): run make first`);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // (pngjs first: a command refused for it has made no folder and no file)
  if (opts.out) await loadPngEncoder();
  checkOutputs(opts);
  // (before --load's file is read: the longest file the model could take is the engine's to say)
  const engine = await loadBuiltEngine(!opts.scalar);
  // the summary goes to stdout, unless the checkpoint does: then to stderr, not into the file
  const say = opts.save && savesToStdout(opts.save) ? (text) => process.stderr.write(`${text}\n`) : (text) => console.log(text);
  const options = { preset: opts.preset ?? 'recommended', ...opts.config };
  // The EMA starts at the initial weights and has no warm-up: after N steps, decay^N of it is
  // still those weights, and the sampler uses the EMA. Said, not changed: it is what was asked for.
  const decay = options.ema_decay ?? 0, planned = options.steps ?? PRESETS[options.preset].config.steps;
  // (only for values C will take: one it refuses is named by the refusal, not by this note; C
  // takes the decay as a float, and 0.99999999999 rounds to 1)
  const valid = decay > 0 && Math.fround(decay) < 1 && Number.isInteger(planned) && planned >= 0;
  if (valid && decay ** planned > 0.1 && !opts.load) {  // (a loaded model brings its own EMA)
    process.stderr.write(`ddpm: note: with --ema ${decay} and ${planned} steps, ${(100 * decay ** planned).toFixed(0)}% of the ` +
      'EMA the sampler uses is still the initial weights (more steps, or a smaller decay, e.g. 1 - 10/steps)\n');
  }
  // what this run will do with the file --load names, said once C has loaded it (a file then
  // refused had been described first, its EMA note and all)
  let load, header;
  const fileNotes = [];
  if (opts.load) {
    load = readCheckpointFile(opts.load, engine);
    try { header = checkpointHeader(load); } catch (e) { fail(`${opts.load}: ${e.message}`); }
    // without --preset, the preset whose model the file holds (a paper run loads as one)
    if (opts.preset === undefined) options.preset = checkpointPreset(header) ?? options.preset;
    // without --steps, on to the steps the file's run planned (version 2), at least those it has
    // taken (a version 1 file: no further than them), and at most C's limit: the header is not
    // checked yet, and a damaged step or plan is for the loader's checksum to name
    if (options.steps === undefined) options.steps = Math.min(Math.max(header.settings?.steps ?? 0, header.step), engine.maxSteps);
    // --seed: training goes on with the file's randomness, so the seed the run was started with
    // stays the file's (its summary and the file this run saves name that one), and the flag
    // seeds the sample, unless --sample-seed does
    const flagSeed = opts.config.seed, sampleSeedGiven = opts.sampleSeed !== undefined;
    delete opts.config.seed;
    delete options.seed;
    if (flagSeed !== undefined && !sampleSeedGiven) opts.sampleSeed = flagSeed;
    const seedNote = flagSeed === undefined ? ''
      : !sampleSeedGiven ? `; --seed ${flagSeed} sets only the sample seed: training goes on with the file's randomness`
      : `; --seed ${flagSeed} does nothing here: training goes on with the file's randomness, and --sample-seed seeds the sample`;
    if (header.settings) {
      // a version 2 file carries the settings of the run that wrote it: the run goes on with
      // them (its planned steps aside: --steps, above), each flag given in place of the file's,
      // and the flags that change one are named
      const { steps: _planned, ...fileSettings } = header.settings;
      const changed = Object.entries(opts.config).filter(([k, v]) => k in fileSettings && String(v) !== String(fileSettings[k]))
        .map(([k, v]) => `${k} ${fileSettings[k]} -> ${v}`);
      Object.assign(options, fileSettings, opts.config);
      // a cosine learning rate decays over the plan (c/optimizer.c): a new plan re-plans it (a
      // review: --steps 20 then --load --steps 40 went from 0.006 lr to 0.5 lr unsaid, MSE 0.14
      // where the run in one go gives 0.05); with a floor of the whole lr it does not decay
      const plan = header.settings.steps, replanned = fileSettings.lr_schedule === 'cosine' && options.lr_schedule === 'cosine' &&
        Number(options.lr_min_frac) < 1 && options.steps !== plan && options.steps > header.step
        ? `; steps ${plan} -> ${options.steps} re-plans the cosine learning rate over ${options.steps} steps, where the file's ` +
          `${header.step} steps followed a plan of ${plan} (this is not the run of ${options.steps} steps in one go)` : '';
      if (changed.length || seedNote || replanned) {
        fileNotes.push(`ddpm: note: this run goes on with the settings ${opts.load} was trained with` +
          (changed.length ? `, except those the flags change: ${changed.join(', ')}` : '') + `${seedNote}${replanned}\n`);
      }
    } else if (header.version === 1) {
      // a version 1 file carries no settings of the run that wrote it (README "Checkpoint
      // format"): the ones this run takes are named, or a resumed run would change them unseen (a
      // trial saved at lr 3e-3, cosine, and resumed at the defaults without a word). (A file of
      // another version is refused by C, and nothing of it is named here.)
      const used = { ...PRESETS[options.preset].config, ...options };
      // (what it holds from its flags: the README's own writer makes one of weights alone)
      const held = ['weights', ...(header.hasAdam ? ['AdamW state'] : []), 'step', ...(header.hasHistory ? ['loss curve'] : []), 'training randomness'];
      fileNotes.push(`ddpm: note: ${opts.load} (a version 1 file) holds the ${held.slice(0, -1).join(', ')} and ${held.at(-1)}, ` +
        `not the settings it was trained or sampled with; this run uses lr ${used.lr} (${used.lr_schedule}), ` +
        `weight decay ${used.weight_decay}, batch ${used.batch}, sigma ${used.sigma}, ${Number(used.clip_x0) ? 'clipping' : 'no clipping'} ` +
        `(the flags given, else the ${options.preset} preset's)${seedNote}\n`);
    }
    // a file of weights alone (the page's Save without the AdamW state, or another program's):
    // training from it starts AdamW afresh, which a resumed run would otherwise take for exact
    // (a research trial: MSE 0.0033 where the file with its state gives 0.0010)
    if (!header.hasAdam && header.step > 0 && options.steps > header.step && (header.settings || header.version === 1)) {
      fileNotes.push(`ddpm: note: ${opts.load} holds no AdamW state: AdamW starts afresh (its moments at zero, its bias ` +
        `correction counted from this run's first update), so this is not the run in one go\n`);
    }
    if (header.hasEma && !(options.ema_decay > 0) && (header.settings || header.version === 1)) {
      fileNotes.push(header.settings ? `ddpm: note: ${opts.load} holds EMA weights, which --ema 0 leaves out: the raw weights are sampled\n`
        : `ddpm: note: ${opts.load} holds EMA weights, which are used only with --ema DECAY; without it the raw weights are sampled\n`);
    }
  }
  // (with --json too, on stderr, a line every 10 s off a terminal: stdout holds the JSON alone,
  // and a long run was silent for minutes)
  const showProgress = !opts.json && process.stderr.isTTY, progress = showProgress ? progressBar : progressLines();
  // The trained model is saved as soon as training ends, before sampling (which can still
  // fail), and also when training diverged, with the weights of the last good step that C keeps
  // (unless the weights themselves hold NaN or Inf: then nothing is kept, and C says so).
  let saveNote = '', outNote = '', divergedHint = '', trainedLines = null;
  // the exit status of a run that failed: 1 diverged, 128 + the signal's number for a run
  // stopped by one (as a shell reports it), 2 refused
  let stoppedBy = null;
  const statusOf = (e) => (e instanceof Interrupted ? 128 + osConstants.signals[stoppedBy] : e?.code === 'DIVERGED' ? 1 : 2);
  // Ctrl-C (or a TERM) stops training at a whole step, and the model goes where a finished one
  // would (--save, --out's loss.csv), with the step it reached: a long run lost everything to it
  // (a trial). Once training has ended (stopped so or not), the signals are the default's again:
  // what follows (the save, sampling, the PNGs) runs without a turn of the event loop, where a
  // handler would never run and a stalled --save /dev/stdout could not be stopped (a review)
  const SIGNALS = ['SIGINT', 'SIGTERM'], stop = new AbortController();
  const defaultSignals = () => { for (const signal of SIGNALS) process.removeAllListeners(signal); };
  for (const signal of SIGNALS) {
    process.once(signal, () => {
      stoppedBy = signal;
      stop.abort();
      defaultSignals();   // (a second one ends the process at once)
    });
  }
  // Writes that failed after training (the checkpoint, files of --out) end the run with their
  // messages, exit status 2 (or the status of a training that had failed before them), and with
  // --json the run's summary, as any failed run gives: status 'write_failed', or, where training
  // had failed first, its own status with the writes' messages as write_error (a run lost its
  // JSON, and a Node stack trace stood in for the message)
  const writeFailed = (failures, error, summary) => {
    const writes = failures.join('; ');
    if (opts.json) say(JSON.stringify(error ? { ...summary, write_error: writes } : { ...summary, status: 'write_failed', error: writes + saveNote }));
    fail(error ? `${error.message}${saveNote}; then ${writes}` : writes + saveNote, error ? statusOf(error) : 2);
  };
  const onTrained = (model, error, trainMs, summary) => {
    outputsBegan = true;
    // training done: its account, for the summary should sampling then fail
    if (!error) trainedLines = trainingLines(summary(), model.lossHistory(), model.T, model.config, { given: opts.config, loaded: !!opts.load, simd: engine.simd });
    // what to try after training diverged, as the page says it: a smaller rate, unless it was the
    // first step on a loaded file's weights, which may be far out themselves (a trial was told only
    // to run it again with --save, as if to keep them)
    if (error instanceof DDPMError && error.code === 'DIVERGED') {
      divergedHint = opts.load && model.step === header.step
        ? `. It was the first step on the weights of ${opts.load}, which may themselves be far out (a file saved after a run ` +
          'blew up keeps the weights it had then): start from fresh weights, or load another file'
        : `. Try a smaller learning rate (--lr ${model.config.lr} now)`;
    }
    defaultSignals();
    if (showProgress) process.stderr.write('\n');
    // the checkpoint first, the costliest thing to lose (a loss.csv that could not be written
    // used to end the run before the save); then the loss curve goes to --out, so a run that then
    // fails (training or sampling diverged) leaves it where it is wanted most: every step from 1,
    // a loaded file's included; a loss the file did not record is left empty. A write that fails
    // does not stop the other.
    const failures = [];
    const saveFailure = saveModel(model, error);
    if (saveFailure) failures.push(saveFailure);
    if (opts.out) {
      try {
        writeOutput(opts.out, 'loss.csv', 'step,loss\n' +
          Array.from(model.lossHistory(), (l, i) => `${i + 1},${Number.isNaN(l) ? '' : l}`).join('\n') + '\n');
        outNote = ` (the loss curve is in ${join(opts.out, 'loss.csv')})`;
      } catch (e) {
        if (!(e instanceof OutputFailed)) throw e;
        failures.push(e.message);
      }
    }
    if (failures.length) writeFailed(failures, error, summary());
  };
  // the checkpoint to --save, and saveNote set to say where it went; the failure's words if the
  // write failed (the model is then kept in the temporary folder: rescue)
  const saveModel = (model, error) => {
    if (error && !model.params().every(Number.isFinite)) return null;
    if (!opts.save) {
      if (error instanceof Interrupted) saveNote = '; this run saves nothing (with --save FILE, a run stopped so is kept)';
      else if (error) saveNote = ', but this run saves nothing: run it again with --save FILE to keep them';
      return null;
    }
    const bytes = model.saveCheckpoint();
    try {
      saveAtomically(opts.save, bytes);
    } catch (e) {
      if (!(e instanceof SaveFailed)) throw e;
      return e.message + rescue(bytes, model.step);
    }
    saveNote = error instanceof Interrupted ? `; the model at step ${model.step} is saved to ${opts.save} (go on with --load ${opts.save})`
      : error ? `, and saved to ${opts.save}` : ` (the trained model is saved to ${opts.save})`;
    return null;
  };
  let run;
  try {
    run = await runExperiment(engine, options, {
      load, sampleSeed: opts.sampleSeed, onProgress: progress, onTrained, signal: stop.signal,
      onLoaded: () => { for (const text of fileNotes) process.stderr.write(text); },
    });
  } catch (e) {
    // a run that failed sums up as far as it went, for a program reading --json (it printed
    // nothing, and a sweep of runs lost its failed ones: a trial)
    if (e.summary && opts.json) say(JSON.stringify(e.summary));
    // sampling failed after a training that went through: what the training did, then why
    if (!opts.json && trainedLines && e instanceof DDPMError && e.code === 'DIVERGED') for (const line of trainedLines) say(line);
    if (e instanceof Interrupted) fail(e.message + saveNote + outNote, statusOf(e));
    if (e instanceof DDPMError && (saveNote || outNote)) fail(e.message + saveNote + outNote + divergedHint, statusOf(e));
    // a config refused with the file's settings in it: a damaged file, whose settings are read
    // before its checksum is checked (C's load names the damage, in a model of the flags' and the
    // preset's settings alone), or the file's settings beside a flag that does not go with them
    if (e instanceof DDPMError && e.code === 'CONFIG' && header?.settings) {
      const refusal = fileRefusal(engine, { preset: options.preset, ...opts.config, steps: Math.min(header.step, engine.maxSteps) }, load);
      if (refusal?.flags) fail(refusal.flags);
      if (refusal?.file) fail(`${opts.load}: ${refusal.file}`);
      fail(`${e.message} (the flags not given take the settings ${opts.load} was trained with)`);
    }
    // a plan below the steps the file has taken: the flag that raises it
    if (e instanceof DDPMError && header && /more than this model's planned \d+ \(raise steps\)$/.test(e.message)) {
      fail(e.message.replace(/\(raise steps\)$/, `(give --steps ${header.step} or more)`));
    }
    // a sound file of another model: what would load it
    if (e instanceof DDPMError && header && /checkpoint: mismatched /.test(e.message)) {
      const preset = checkpointPreset(header), field = /checkpoint: mismatched (\w+)/.exec(e.message)[1];
      // the network's size has no flag here: the command line builds the paper's network only
      if (['image_size', 'hidden', 'temb_dim'].includes(field)) {
        fail(`${opts.load}: ${e.message} (this command line builds the paper's network only: image_size ${DEFAULTS.image_size}, ` +
          `hidden ${DEFAULTS.hidden}, temb_dim ${DEFAULTS.temb_dim}; the file's has image_size ${header.image_size}, ` +
          `hidden ${header.hidden}, temb_dim ${header.temb_dim})`);
      }
      fail(`${opts.load}: ${e.message}` + (preset && preset !== options.preset
        ? ` (the file holds a model of the ${preset} preset: load it with --preset ${preset}, or without --preset)`
        : ` (give the settings the file was trained with: its header has ${CHECKPOINT_ARCHITECTURE.map((k) => `${k} ${header[k]}`).join(', ')})`));
    }
    // any other refusal of the file: named with the file, as a header the reader refused is
    if (e instanceof DDPMError && e.code === 'CHECKPOINT' && opts.load) fail(`${opts.load}: ${e.message}`);
    // a value C refused, named by the flags that gave it (C names its config keys: "config:
    // ema_decay must be in [0, 1)" answered --ema 1, a trial; "lr * weight_decay must be < 1"
    // names two, of which either or both may be flags)
    const keys = e instanceof DDPMError && e.code === 'CONFIG' ? /^config: (\w+(?: \* \w+)*) /.exec(e.message)?.[1].split(' * ') ?? [] : [];
    const flags = Object.keys(VALUE_FLAGS).filter((f) => keys.includes(VALUE_FLAGS[f][0]) && VALUE_FLAGS[f][0] in opts.config);
    // C quotes the number it was given, which is not always what was typed (99999999999999999999
    // reaches it as 100000000000000000000, --ema 0.99999999999999999 as 1, unquoted): with one
    // flag, its text is quoted
    const said = e.message.replace(/^config: /, '');
    if (flags.length) fail(`${flags.join(', ')}: ${flags.length === 1 ? said.replace(/\(got [^)]*\)$/, `(got '${opts.typed[VALUE_FLAGS[flags[0]][0]]}')`) : said}`);
    throw e;
  }
  const { summary, model, sample, image, losses } = run;
  try {
    if (opts.out) try {
      const S = Number(model.config.image_size), T = model.T, D = model.D;
      const one = strip([[sample.final, 0]], S);
      writeOutput(opts.out, 'sample.png', pngBytes(one.rgba, one.width, one.height, 16));
      const target = strip([[image, 0]], S);
      writeOutput(opts.out, 'target.png', pngBytes(target.rgba, target.width, target.height, 16));
      // the whole trajectory x_T .. x_0, and the predicted x0 at each step, one frame per step,
      // in rows of 10 (t = T .. T-9 in the first)
      const frames = [], x0frames = [];
      for (let t = T; t >= 0; t--) { frames.push([sample.x, t * D]); x0frames.push([sample.x0Pred, t * D]); }
      const traj = grid(frames, S, TRAJECTORY_COLUMNS), x0s = grid(x0frames, S, TRAJECTORY_COLUMNS);
      writeOutput(opts.out, 'trajectory.png', pngBytes(traj.rgba, traj.width, traj.height, 4));
      writeOutput(opts.out, 'x0_pred.png', pngBytes(x0s.rgba, x0s.width, x0s.height, 4));
      // the chain against the forward process, as the page plots it: the image's coefficient in
      // each x_t and the size of the rest, beside sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t)
      const sched = model.schedule(), rows = [];
      for (let t = T; t >= 0; t--) {
        const { signal, noise } = alongImage(sample.x, image, t * D);
        rows.push(`${t},${signal},${noise},${sched.sqrt_alpha_bar[t]},${sched.sqrt_one_minus_alpha_bar[t]}`);
      }
      writeOutput(opts.out, 'chain.csv', 't,image,noise,sqrt_alpha_bar,sqrt_one_minus_alpha_bar\n' + rows.join('\n') + '\n');
    } catch (e) {
      if (!(e instanceof OutputFailed)) throw e;
      writeFailed([e.message], null, summary);
    }
  } finally {
    model.free();
  }
  if (opts.json) {
    say(JSON.stringify(summary));
  } else {
    const s = summary;
    for (const line of trainingLines(s, losses, model.T, model.config, { given: opts.config, loaded: !!opts.load, simd: engine.simd })) say(line);
    say(`sampled in ${s.sample_ms} ms (sample seed ${s.sample_seed}): MSE against the training image ${s.mse.toPrecision(3)} ${s.mse < MSE_BAR ? `(< ${MSE_BAR}: the red square is back)` : `(>= ${MSE_BAR}: not the training image)`}`);
    const [lo, hi] = s.sample_range;
    if (lo < -FAR_OUTSIDE || hi > FAR_OUTSIDE) {
      say(`the sample's pixels run from ${lo.toPrecision(3)} to ${hi.toPrecision(3)}, far outside [-1, 1]; the PNGs clip them to it` +
        (s.mse >= MSE_BAR && s.mse_clipped < MSE_BAR ? `, and clipped it looks like the square (MSE ${s.mse_clipped.toPrecision(3)}), which it is not` : ''));
    }
    if (s.output_blown_up) {
      // (a blown-up network's chain unclipped runs away and C refuses it, unless the blow-up is mild)
      say(`the network's output reached ${s.output_peak_in_range.toPrecision(3)} at t=${s.output_peak_in_range_t}, from an x_t within ` +
        `+-${s.output_peak_in_range_input.toPrecision(3)}, where it was trained to give ` +
        `${s.config.predict === 'eps' ? 'noise from N(0, 1)' : 'an image in [-1, 1]'}: its weights have blown up, as a ` +
        `training that ran away leaves them, and this sample says nothing of what it learnt` +
        (s.config.clip_x0 ? ` (x0 was clipped, so the chain stayed finite, but the clipping, not the network, set every pixel of x0)` : ''));
    }
    if (opts.out) say(`wrote ${opts.out}/${OUT_FILES.join(', ')}`);
    if (opts.save) say(`saved checkpoint ${opts.save}`);
  }
}

// The text summary's account of training (the preset, the steps, the loss and what its curve
// did), for a run sampled or one whose sampling then failed: the failure alone read as if the
// run had nothing to say (a trial's --preset paper --lr 0.1 printed only C's message). s: the
// run's summary; T, config: the model's; given: the flags' settings; loaded: a --load run; simd:
// the build
function trainingLines(s, losses, T, config, { given, loaded, simd }) {
  const lines = [], first = firstLossStep(losses);
  // the values that differ from the preset's, by what set them: the flags, or with --load the
  // file's settings (a trial's --load alone read "changed: steps 300", as if a flag had)
  const listed = (keys) => keys.map((k) => `${k} ${s.preset_changes[k]}`).join(', ');
  const keys = Object.keys(s.preset_changes), byFlags = keys.filter((k) => k in given), byFile = keys.filter((k) => !(k in given));
  const changed = !keys.length ? '' : !loaded ? ` (changed: ${listed(keys)})`
    : ` (${[byFile.length && `the file's settings: ${listed(byFile)}`, byFlags.length && `changed by the flags: ${listed(byFlags)}`].filter(Boolean).join('; ')})`;
  lines.push(`preset ${s.preset}${changed}: ${s.params.toLocaleString('en-US')} parameters, T=${T}, alpha_bar_T=${s.alpha_bar_T.toPrecision(4)}`);
  const from = s.steps - s.steps_run;
  const trained = s.steps_run === 0 ? `no training steps run (the model is at step ${s.steps})`
    : `trained ${!from ? `to step ${s.steps}` : from + 1 === s.steps ? `step ${s.steps}` : `steps ${from + 1} to ${s.steps}`} in ${(s.train_ms / 1000).toFixed(1)} s (${simd ? 'SIMD' : 'scalar'} wasm)`;
  // (the steps the mean is over, and how many of them the curve holds: a version 1 file's
  // steps have no loss, and "the last 10% of all 52 steps" was the mean of 2)
  const w = finalLossWindow(losses);
  const over = w.from === w.to ? `at step ${w.to}, the last 10%` : w.recorded === w.to - w.from + 1
    ? `mean of steps ${w.from} to ${w.to}, the last 10%` : `mean of the ${w.recorded} recorded of steps ${w.from} to ${w.to}, the last 10%`;
  // four decimals where a loss lives; out of that range, the page's figures (a blown-up run read
  // "-> 816130824.8000", and a loss below 1e-4 "0.0000")
  const lossText = (v) => (v >= 1e-3 && v < 1e4 ? v.toFixed(4) : formatNumber(v));
  // beside it the figure the page's Done line ends on, the loss's moving average (web/plot.mjs):
  // a trial read 0.0073 here, 0.00305 on the page, and could not tell why
  const curve = first ? lossCurve(movingGeoMean(losses.subarray(first - 1)), first - 1) : null;
  lines.push(trained + (s.loss_first === null ? '' : `: loss ${lossText(s.loss_first)} at step ${first} -> ${lossText(s.loss_final)} ` +
    `(${over}; the page's moving average ${formatNumber(curve.end)})`));
  // what the loss curve says, in the page's words (web/loss-words.mjs), where it has not fallen
  // or blew up on the way (a trial: --lr 1 read "1.0078 -> 2.7801", and nothing more)
  if (curve) {
    // (why noise prediction from one example a step stays stuck: README "Presets" measures it)
    if (curve.end >= UNLEARNT_LOSS) {
      const tooSmall = learningRateTooSmall(curve, config);
      lines.push(`the loss's moving average ${unlearntLoss(curve)}${tooSmall ? `.${tooSmall}` : unlearntWhy(curve, config) ? ' (README, "Presets", measures why)' : ''}`);
    } else if (blewUpOnTheWay(curve)) lines.push(`the loss's moving average ${blowUpRecovered(curve, s.steps)}`);
  }
  return lines;
}

main().catch((e) => {
  if (e instanceof DDPMError) fail(e.message, e.code === 'DIVERGED' ? 1 : 2);
  throw e;
});
