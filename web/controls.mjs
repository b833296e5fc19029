// controls.mjs -- the page's state machine and the controls it sets. setState moves the page to
// a state (loading, ready, running, paused, done, error) and enables what that state allows; the
// train form's notes and hints say why. The Save and Load buttons are set here too, because
// setState and the training statistics redraw them; what they do is in checkpoints.mjs.
import { PRESETS } from './ddpm.mjs';
import { FIELDS, presetDefaults, parseField } from './settings.mjs';
import { $, app, showMessage, setLiveText, setStatus, savedStatus } from './state.mjs';

// ---------------------------------------------------------------------------------------------
// the train form: its fields, the preset's description, the note and hints on what can change

// what a running page lets change, said in the settings note and in Steps' tooltip
const PAUSE_TO_CHANGE = 'Pause to change Steps; Reset to change the other settings.';

export function trainSettings() {
  const s = app.settings;
  return { preset: s.preset, steps: s.steps, batch: s.batch, lr: s.lr, seed: s.seed };
}

export function fillForm() {
  const s = app.settings;
  $(`preset-${s.preset}`).checked = true;
  $('steps').value = String(s.steps);
  $('batch').value = String(s.batch);
  $('lr').value = String(s.lr);
  $('seed').value = String(s.seed);
  drawSeedField();
  $(s.sigma === 'beta' ? 'sigma-beta' : 'sigma-tilde').checked = true;
  $('clip').checked = s.clip;
  $('sample-seed').value = String(s.sample);
  $('speed').value = s.speed;
  // each value written is a setting's, so valid: a refusal a field still carried (a bad Batch
  // typed, then another preset picked) would keep Train disabled beside a good value
  for (const id of [...TRAIN_FIELDS, 'sample-seed']) $(id).setCustomValidity('');
  const message = $('sample-message');
  if (message.textContent.startsWith('The sample seed must be')) showMessage(message, '');
}

export function describePreset() {
  const s = app.settings, p = PRESETS[s.preset];
  // the presets' texts are constants typeset in HTML (PRESETS, ddpm.mjs)
  $('preset-summary').innerHTML = p.summary;
  document.body.dataset.predict = p.config.predict;
  const list = $('preset-changes');
  list.textContent = '';
  if (p.changes.length) {
    $('preset-changes-title').textContent = 'Where it differs from the paper:';
    for (const [key, value, why] of p.changes) {
      const li = document.createElement('li');
      const k = document.createElement('strong');
      k.textContent = key;
      const details = document.createElement('details');
      const summary = document.createElement('summary');
      summary.textContent = 'why';
      summary.setAttribute('aria-label', `why: ${key}`);   // two toggles, each named for its change
      const w = document.createElement('p');
      w.innerHTML = why;
      const v = document.createElement('span');
      v.innerHTML = `: ${value} `;
      details.append(summary, w);
      li.append(k, v, details);
      list.append(li);
    }
  } else {
    $('preset-changes-title').textContent = 'No differences: these are the settings of the paper\'s table. ' +
      'Measured here, they do not give its results: the loss stays near 1 and the samples are noise. ' +
      'Train and sample to see it; the page shows why as it goes.';
  }
  drawSettingsNote();
}

function drawSettingsNote() {
  const s = app.settings, d = presetDefaults(s.preset);
  // (a higher Steps typed after Done is said below, as what Resume does: "steps 200 → 20" beside
  // "Resume trains steps 21 to 50" read as a contradiction)
  const typedAbove = app.state === 'done' && stepsTypedAbove();
  const changed = ['steps', 'batch', 'lr'].filter((k) => s[k] !== d[k] && !(k === 'steps' && typedAbove)).map((k) => `${k} ${d[k]} → ${s[k]}`);
  // every field refused, not the first alone: fixing one should not reveal the next
  const invalid = TRAIN_FIELDS.map((id) => $(id)).filter((el) => !el.checkValidity());
  // A refusal is spoken as it appears; the rest of the note (what a state allows, a file's
  // settings) is there to be read, not spoken beside the status line at every change of state,
  // which says what happened (an accessibility trial heard both at every Train, Pause and Load)
  $('settings-note').setAttribute('aria-live', invalid.length ? 'polite' : 'off');
  if (invalid.length) {
    setLiveText($('settings-note'), invalid.map((el) => el.validationMessage).join(' '));
    return;
  }
  // (after a Load, the differences are the file's as much as the user's)
  let text = !changed.length ? '' : app.loadedFrom ? `Differences from the ${s.preset} preset: ${changed.join(', ')}.`
    : `Your changes to the ${s.preset} preset: ${changed.join(', ')}.`;
  if (app.loadedFrom) {
    text = `${text} Loaded from ${app.loadedFrom}: training goes on with the file's random state, not a seed, ` +
      'and the link in the address bar gives these settings, not this model.';
  }
  // Steps can change once training is paused or done (see replanModel, checkpoints.mjs). The
  // note sits below the buttons, so that its length (a refusal while typing is two lines) never
  // moves them: a click begun on Resume as a typed Steps is refused lands on Resume.
  if (typedAbove) {
    // a higher Steps typed, not yet taken: what Resume now does (the note said "raise Steps"
    // beside a Steps just raised, until the field lost the focus: a trial)
    const to = parseField('steps', $('steps').value);
    text = `${text} Resume trains steps ${app.model.step + 1} to ${to}; Reset to change the rest.`.trim();
  } else if (app.state === 'done') {
    text = `${text} Training is done: raise Steps to train further, or Reset to change the rest.`.trim();
  } else if (app.state === 'running') {
    // (said of the state the page is in: "can change while paused" read, to a trial, as if the
    // page said it was paused)
    text = `${text} ${PAUSE_TO_CHANGE}`.trim();
  } else if (app.state === 'paused') {
    text = `${text} Steps can change while paused; Reset to change the other settings.`.trim();
  } else if (app.state === 'error') {
    text = `${text} The settings are locked while a model exists; Reset to change them.`.trim();
  }
  setLiveText($('settings-note'), text);
}

// Steps stays open while a model exists and training is not running: a new plan is carried
// out by replanModel (checkpoints.mjs). The field's tooltip says what it takes (the settings note says why).
export function stepsOpen(state = app.state) {
  return !!app.model && (state === 'done' || state === 'paused');
}

// Done, with a higher Steps typed and not yet taken (it is when the field loses the focus): Resume
// opens already, so that Tab from Steps goes on to it, as the note below the buttons says
function stepsTypedAbove() {
  const el = $('steps'), v = parseField('steps', el.value);
  return !!app.model && v !== undefined && v > app.model.step && el.checkValidity();
}

// A refused Steps (app.mjs changeSteps; checkpoints.mjs replanModel when C refuses the plan)
// names the steps taken then. app.stepsRefusal = { at, typed, kept }: when it was made, the text
// refused (none for C's refusal), and whether the Resume click that made it kept it (app.mjs).
const STEPS_REFUSAL = 'Could not change Steps';
export function stepsRefusalText(typed, taken) {
  // a number field holding text reads as empty: there is no value to quote then
  const why = typed === '' ? `: the field held no number, where it takes ${stepsProblem(typed, taken)}`
    : ` to "${typed}": it must be ${stepsProblem(typed, taken)}`;
  return `${STEPS_REFUSAL}${why}. Nothing on the page changed.`;
}
export function refuseSteps(text, typed) {
  showMessage($('train-message'), text);
  app.stepsRefusal = { at: performance.now(), typed, kept: false };
}
export function clearStepsRefusal() {
  if ($('train-message').textContent.startsWith(STEPS_REFUSAL)) showMessage($('train-message'), '');
  app.stepsRefusal = null;
}
// training has gone on since the refusal: at Pause it goes; at Done one that the Resume click of
// this run kept stays, with the steps taken now (it may be only a moment old: a short run)
export function settleStepsRefusal(atDone) {
  const r = app.stepsRefusal;
  if (atDone && r?.kept && r.typed !== undefined && $('train-message').textContent.startsWith(STEPS_REFUSAL)) {
    showMessage($('train-message'), stepsRefusalText(r.typed, app.model.step));
  } else {
    clearStepsRefusal();
  }
}

export function stepsRule(taken) {
  const max = FIELDS.steps.max;
  // a file from the command line can be at or past the page's bound: no Steps here goes further
  if (taken >= max) return `more than the ${taken} steps already taken, and the page's Steps stops at ${max}: this model trains on only on the command line`;
  return `more than the ${taken} steps already taken (a whole number from ${taken + 1} to ${max})`;
}

// what is wrong with a Steps value refused while a model exists, as "it must be ..." finishes it:
// the rule it breaks first (1e9 is more than the steps taken, but above the page's bound)
export function stepsProblem(text, taken) {
  const n = Number(text), max = FIELDS.steps.max, range = `from ${taken + 1} to ${max}`;
  if (taken >= max) return stepsRule(taken);
  if (text.trim() === '' || !Number.isFinite(n)) return `a whole number ${range}`;
  if (n > max) return `at most ${max} (a whole number ${range})`;
  if (!Number.isInteger(n)) return `a whole number (${range})`;
  return stepsRule(taken);
}

function drawStepsHint() {
  const el = $('steps'), m = app.model;
  let hint = '';
  if (app.state === 'done') hint = `Training is done: raise Steps above ${m.step} to train further, from step ${m.step} on.`;
  else if (app.state === 'paused') hint = `Steps can change to ${stepsRule(m.step)}; Resume then trains to it.`;
  else if (app.state === 'running') hint = PAUSE_TO_CHANGE;
  else if (app.state === 'error') hint = 'Locked: Reset to change the settings.';
  if (hint) el.title = hint;
  else el.removeAttribute('title');
  const resume = $('btn-resume');
  if (app.state === 'paused' && m) resume.title = `Trains steps ${m.step + 1} to ${m.config.steps}.`;
  else resume.removeAttribute('title');
}

// A checkpoint carries the state of the training RNG (c/checkpoint.c), so a loaded model trains
// on with the file's randomness whatever the Seed says. While it is on the page the field shows
// no seed it does not use; Reset (or a new model) brings the seed back, as the next run uses it.
const SEED_FROM_FILE = 'from the file';

function drawSeedField() {
  const el = $('seed');
  if (app.loadedFrom) {
    el.value = '';
    el.placeholder = SEED_FROM_FILE;
    el.title = `The loaded model's training randomness comes from ${app.loadedFrom}, not from a seed. Reset to train from a seed.`;
  } else if (el.placeholder) {
    el.value = String(app.settings.seed);
    el.removeAttribute('placeholder');
    el.removeAttribute('title');
  }
}

// ---------------------------------------------------------------------------------------------
// the state machine

export const TRAIN_FIELDS = ['steps', 'batch', 'lr', 'seed'];  // the typed ones

// the training fields whose values differ from `before` to `after`, named as the form labels
// them: ['batch 3 → 1', ...] (what a change of preset, by the radio or by Load, replaced)
export function fieldChanges(before, after, fields = TRAIN_FIELDS) {
  return fields.filter((k) => before[k] !== after[k])
    .map((k) => `${$(k).labels[0].textContent.toLowerCase()} ${before[k]} → ${after[k]}`);
}
export const TRAIN_INPUTS = ['preset-recommended', 'preset-paper', ...TRAIN_FIELDS];

function formValid() {
  return TRAIN_FIELDS.every((id) => $(id).checkValidity());
}

export function setState(state) {
  app.state = state;
  document.body.dataset.train = state;
  const editable = state === 'ready';
  for (const id of TRAIN_INPUTS) $(id).disabled = !(editable || (id === 'steps' && stepsOpen(state)));
  drawSeedField();   // before Train reads the form's validity
  $('btn-train').disabled = !(state === 'ready' && formValid());
  drawTrainWaits(state === 'ready' && !formValid());
  $('btn-pause').disabled = state !== 'running';
  $('btn-resume').disabled = !(state === 'paused' || (state === 'done' && stepsTypedAbove()));
  // ready, with a model Reset set aside, the button undoes that Reset (app.mjs)
  const undo = state === 'ready' && !!app.undo;
  $('btn-reset').textContent = undo ? 'Undo Reset' : 'Reset';
  $('btn-reset').disabled = !(undo || ['running', 'paused', 'done', 'error'].includes(state));
  $('btn-sample').disabled = state === 'loading' || !$('sample-seed').checkValidity();
  drawCheckpointControls();
  drawSettingsNote();
  drawStepsHint();
}

// Ready with a field refused, Train waits: the status line says so in place of "Press Train" (a
// trial read "Ready. Press Train." beside a disabled Train), and has its words back once the
// field is valid, unless something else has written it since
const TRAIN_WAITS = 'Train waits for a valid value: the note below the buttons says which field, and what it takes.';
function drawTrainWaits(waiting) {
  if (waiting && !app.statusBeforeWait) {
    app.statusBeforeWait = savedStatus();
    setStatus(TRAIN_WAITS);
  } else if (!waiting && app.statusBeforeWait) {
    const before = app.statusBeforeWait;
    app.statusBeforeWait = null;
    if (app.status?.text === TRAIN_WAITS) setStatus(...before);
  }
}

// ---------------------------------------------------------------------------------------------
// the checkpoint buttons: whether Save and Load can be used now (what they do: checkpoints.mjs)

export function canSave() {
  return !!app.model && app.model.step >= 1 && ['running', 'paused', 'done', 'error'].includes(app.state);
}

// Load replaces the model on the page. While training runs that would throw the run away
// unasked, so Load waits for Pause, as the settings wait for Reset; a paused, finished or failed
// model is replaced by an explicit load (the user chose the file). The note under the buttons
// is short enough for one line on a phone; the disabled button's tooltip also says why.
const LOAD_WAITS = 'Pause training to load a checkpoint.';
const LOAD_WAITS_WHY = 'Pause training to load a checkpoint: loading replaces the model being trained.';

export function drawCheckpointControls() {
  $('btn-save').disabled = !canSave();
  const running = app.state === 'running';
  $('load-file').disabled = app.state === 'loading' || running;
  // written only when it changes: this runs with the training statistics, several times a second
  const note = running ? LOAD_WAITS : '';
  if ($('load-note').textContent === note) return;
  $('load-note').textContent = note;
  const label = $('load-file').labels[0];
  if (running) label.title = LOAD_WAITS_WHY;
  else label.removeAttribute('title');
}
