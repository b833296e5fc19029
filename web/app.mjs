// app.mjs -- the page: it reacts and draws. Every number it shows comes from the wasm module
// through web/ddpm.mjs (the same wrapper the CLI and the tests use); this file only schedules
// the work into animation frames, keeps the settings in the address bar, and draws.
import { loadEngine, PRESETS, checkpointHeader } from './ddpm.mjs';
import { FIELDS, presetDefaults, parseField, describeField } from './settings.mjs';
import { $, settingsFromURL, settingsToURL, app, showMessage, errorText, sentence, setStatus,
  passFocus } from './state.mjs';
import { buildView, drawSchedulePlots, markSchedule, drawForward, drawEmbedding } from './panels.mjs';
import { trainSettings, fillForm, describePreset, stepsOpen, stepsRule, TRAIN_FIELDS, TRAIN_INPUTS, setState,
  canSave } from './controls.mjs';
import { createModel, prepareModel, preparedModelFits, resume, pause, trainingFailed, drawTrainStats,
  drawLoss } from './train-view.mjs';
import { clearTrajectory, doSample, finishSampling, showStep, drawMSEPlot, drawSigmaPlot, play, stopPlaying,
  onSampleField } from './sample-view.mjs';

// ---------------------------------------------------------------------------------------------
// the train panel

function onTrainField(ev) {
  const el = ev.target;
  if (el.name === 'preset') {
    const preset = el.value, old = app.settings;
    // the training fields the preset resets, named as the form labels them
    const changed = Object.entries(presetDefaults(preset))
      .filter(([k, v]) => TRAIN_FIELDS.includes(k) && old[k] !== v)
      .map(([k, v]) => `${$(k).labels[0].textContent.toLowerCase()} ${old[k]} → ${v}`);
    Object.assign(app.settings, { preset, ...presetDefaults(preset) });
    if (changed.length && app.state === 'ready') setStatus(`The ${preset} preset's own values: ${changed.join(', ')}.`);
    fillForm();
    describePreset();
    try {
      buildView(preset);
    } catch (e) {
      showMessage($('global-message'), errorText(e));
    }
    drawSigmaPlot();
  } else {
    const key = el.id, v = checkField(el);
    // while typing ('input') only say whether the text is valid: a half-typed number is often
    // valid too (4294967296 passes through 429496729), and must not reach the settings or the
    // address bar; the value is taken when it is complete ('change': Enter, or leaving the field)
    if (ev.type === 'input') {
      setState(app.state);
      return;
    }
    if (key === 'steps' && stepsOpen()) {
      changeSteps(v);
      return;
    }
    if (v !== undefined) app.settings[key] = v;
  }
  setState(app.state);
  settingsToURL(app.settings);
  drawTrainStats(true);  // the progress line's "0 / steps"
  drawLoss(true);
  prepareModel();
}

// a training field's value if valid (and the field marked valid), else undefined (marked invalid)
function checkField(el) {
  const v = parseField(el.id, el.value);
  if (el.id === 'steps' && stepsOpen()) {
    // a model cannot take back steps it has taken (its own plan, unchanged, is fine)
    const ok = v !== undefined && (v > app.model.step || v === app.model.config.steps);
    el.setCustomValidity(ok ? '' : `Steps must be ${stepsRule(app.model.step)}`);
    return ok ? v : undefined;
  }
  el.setCustomValidity(v === undefined ? `${el.labels[0].textContent} must be ${describeField(el.id)}` : '');
  return v;
}

// Steps committed while a model exists (done or paused): a new plan for the same run, or, for
// a value the model cannot take, a refusal that changes nothing
function changeSteps(v) {
  const el = $('steps'), typed = el.value.trim();
  if (v === undefined) {
    const taken = app.model.step;
    el.value = String(app.settings.steps);
    el.setCustomValidity('');
    showMessage($('train-message'), `Could not change Steps to "${typed}": it must be ${stepsRule(taken)}. Nothing on the page changed.`);
    setState(app.state);
    return;
  }
  if (v === app.model.config.steps) {
    setState(app.state);
    return;
  }
  replanModel(v);
}

function startTraining() {
  // a value typed and not yet committed by a 'change' (Train pressed from the keyboard)
  for (const id of TRAIN_FIELDS) {
    const v = checkField($(id));
    if (v === undefined) return;  // Train is disabled while a field is invalid; nothing to start
    app.settings[id] = v;
  }
  settingsToURL(app.settings);
  try {
    if (preparedModelFits()) showMessage($('train-message'), '');
    else createModel();
    app.modelUnused = false;
  } catch (e) {
    showMessage($('train-message'), `${errorText(e)}. Change the settings and press Train again.`);
    return;
  }
  clearTrajectory();
  app.run = { activeMs: 0, startedAt: 0, lastFrameTs: null, lossDrawnAt: 0, statsAt: 0, lossStep: -1, loop: 0, lastWork: 0, progressAt: 0 };
  app.frames = [];
  app.frameWork = [];
  app.pace = { level: 0, frame: 0, recent: [], onTime: 0 };
  setStatus(`Training ${app.model.config.steps} steps of batch ${app.model.config.batch}…`);
  resume();   // first: the state it sets redraws the note above the buttons
  showTrainingView();
  passFocus('btn-train', 'btn-pause');
}

// bring the progress, the statistics and the loss curve on screen together (they are what
// changes while training runs), unless they already are: with the buttons above them (Pause,
// which now has the focus), scrolled no further than needed, where the screen is tall enough
function showTrainingView() {
  const buttons = document.querySelector('#train-form .buttons').getBoundingClientRect();
  const progress = document.querySelector('#train .progress-row');
  const bottom = $('plot-loss').getBoundingClientRect().bottom;
  if (buttons.top >= 0 && bottom <= window.innerHeight) return;
  const margin = 8;
  if (bottom - buttons.top + 2 * margin <= window.innerHeight) {
    window.scrollBy(0, buttons.top < margin ? buttons.top - margin : bottom + margin - window.innerHeight);
  } else {
    progress.scrollIntoView({ block: 'start' });
  }
}

function reset() {
  app.run.loop++;
  app.pausedByHidden = false;
  if (app.model) app.model.free();
  app.model = null;
  app.modelKey = null;
  app.startStep = 0;
  app.lossFrom = 0;
  app.frames = [];
  app.frameWork = [];
  clearTrajectory();
  showMessage($('train-message'), '');
  $('steps').setCustomValidity('');   // the rule of a model's steps taken goes with the model
  setState('ready');
  drawTrainStats(true);
  drawLoss(true);
  setStatus('Ready. Press Train.');
  passFocus('btn-reset', 'btn-train');
  prepareModel();
}

// ---------------------------------------------------------------------------------------------
// checkpoints: Save downloads the model as a .ddpm file, Load puts one on the page. The format
// and every check of it belong to the wrapper and C (README "Checkpoint format").

// the settings that decide a model's architecture and schedule, as the checkpoint header names them
const ARCHITECTURE = ['image_size', 'hidden', 'temb_dim', 'activation', 'predict', 'T', 'schedule', 'beta_start', 'beta_end'];
// a downloaded file's object URL lives this long: long enough for any browser to start saving
const DOWNLOAD_URL_MS = 60000;

function downloadBytes(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_MS);
}

// C saves only between optimiser steps. Between two frames of training a step is often half
// done: finish it here, which is the work the next frames would have done (any split of a step
// gives the same bits). Not while a sample is being computed: the weights would change under it.
function saveCheckpoint() {
  if (!canSave()) return;
  const m = app.model;
  const halfDone = m.batchFilled > 0 || m.updating;
  if (halfDone && app.sampling) {
    showMessage($('train-message'), `Not saved: step ${m.step + 1} is half done and finishing it now would change the ` +
      'weights under the sample being computed. Save again once the sample is drawn.');
    return;
  }
  if (halfDone && !finishStep(m)) return;
  let bytes;
  try {
    bytes = m.saveCheckpoint({ optimizer: true });
  } catch (e) {
    showMessage($('train-message'), `Not saved: ${errorText(e)}`);
    return;
  }
  const name = `ddpm-${app.settings.preset}-step${m.step}.ddpm`;
  downloadBytes(bytes, name);
  if (app.state !== 'error') showMessage($('train-message'), '');
  setStatus(`Saved ${name} (${(bytes.length / 1e6).toFixed(1)} MB): the weights and AdamW state at step ${m.step}.` +
    (halfDone ? ` Step ${m.step} was half done, so it was finished first.` : '') +
    (app.state === 'running' ? ' Training goes on.' : ''));
}

// finish a half-done step (see saveCheckpoint); false if C refused it (the page says why)
function finishStep(m) {
  try {
    while (m.batchFilled > 0 || m.updating) m.trainWork(m.config.batch, m.numParams);
  } catch (e) {
    trainingFailed(e, m);
    return false;
  }
  // paused in the last step: finishing it finished the run (running, the next frame sees it)
  if (m.done && app.state === 'paused') setState('done');
  drawTrainStats(true);
  drawLoss(true);
  return true;
}

// A new plan for the model on the page. C sizes a model's loss history by its planned steps
// and trains no further, so the page builds a model with the new plan from the current one's
// checkpoint, as Load does: the weights, the AdamW state, the step, the loss curve and the
// training RNG all carry over, and (the learning rate of both presets being constant) the run
// goes on exactly as one planned that long from the start. Only when C has accepted the
// checkpoint does the new model replace the old; on any error the old one stays.
function replanModel(steps) {
  const old = app.model, from = old.config.steps;
  // a chain being computed is finished on the model it started from, and drawn
  finishSampling();
  // C saves only between steps: a step half done is finished first, as Save does
  const halfDone = old.batchFilled > 0 || old.updating;
  if (halfDone && !finishStep(old)) {
    $('steps').value = String(app.settings.steps);
    return;
  }
  let next = null;
  try {
    const bytes = old.saveCheckpoint({ optimizer: true });
    next = app.engine.createModel({ ...trainSettings(), steps });
    next.loadCheckpoint(bytes);
  } catch (e) {
    next?.free();
    $('steps').value = String(app.settings.steps);
    showMessage($('train-message'), `Could not change Steps to ${steps}: ${sentence(errorText(e))} ` +
      `The model on the page is kept, at step ${old.step} of ${from}.`);
    setState(app.state);
    return;
  }
  // the run goes on: its clock, its first step and its loss curve stay as they were
  old.free();
  app.model = next;
  app.settings.steps = steps;
  app.modelKey = JSON.stringify(trainSettings());
  settingsToURL(app.settings);
  showMessage($('train-message'), '');
  setState(next.done ? 'done' : 'paused');
  drawTrainStats(true);
  drawLoss(true);
  const k = next.step;
  setStatus(`Steps ${from} → ${steps}: the model at step ${k} goes on with the same weights, AdamW state and loss curve.` +
    (halfDone ? ` Step ${k} was half done, so it was finished first.` : '') +
    (next.done ? ' Press Sample, or raise Steps to train further.' : ` Resume trains steps ${k + 1} to ${steps}.`));
  passFocus('steps', 'btn-resume');
}

// the page preset whose model a checkpoint header describes, if any
function presetOf(header) {
  return Object.keys(PRESETS).find((p) => ARCHITECTURE.every((k) => header[k] === PRESETS[p].config[k]));
}

// Load: read the file, build a model for it and load it there. Only when C has accepted every
// byte does the new model replace the one on the page; a refused file changes nothing.
async function loadCheckpointFile(file) {
  let next = null, settings, header;
  const statusBefore = $('train-status').textContent;
  const loading = `Loading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`;
  try {
    refuseWhileRunning();
    // reading and checking tens of MB blocks the page for a moment: say so first, and let it paint
    setStatus(loading);
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
    const bytes = new Uint8Array(await file.arrayBuffer());
    // Resume may have been pressed while the file was read
    refuseWhileRunning();
    header = checkpointHeader(bytes);
    // a checkpoint names its architecture and step, not the batch, learning rate or seed: keep
    // the page's for its own preset, take the preset's for the other one (as the preset radio
    // does), and plan at least the steps already taken (more than the Steps field allows is
    // left for C to refuse)
    const preset = presetOf(header) ?? app.settings.preset;
    const base = preset === app.settings.preset ? app.settings : { ...app.settings, preset, ...presetDefaults(preset) };
    settings = { ...base, steps: Math.min(FIELDS.steps.max, Math.max(base.steps, header.step)) };
    const { steps, batch, lr, seed } = settings;
    // a model made ahead for Train (prepareModel) gives its memory to the file's
    if (app.state === 'ready' && app.model && app.modelUnused) {
      app.model.free();
      app.model = null;
    }
    next = app.engine.createModel({ preset, steps, batch, lr, seed });
    next.loadCheckpoint(bytes);
  } catch (e) {
    next?.free();
    const hint = header && !presetOf(header)
      ? ' This page builds the models of its two presets only; the command line loads others (node scripts/ddpm.mjs --load FILE).' : '';
    // unless something else (Resume) has said what the page is doing since
    if ($('train-status').textContent === loading) setStatus(statusBefore);
    showMessage($('train-message'), `Could not load ${file.name}: ${sentence(errorText(e))}${hint} Nothing on the page changed.`);
    $('train-message').scrollIntoView({ block: 'nearest' });
    prepareModel();
    return;
  }
  adoptModel(next, settings, file.name, header);
}

// Load is disabled while training runs (see LOAD_WAITS); this holds the rule for a file that
// comes anyway, and for a run resumed while the file was being read
function refuseWhileRunning() {
  if (app.state === 'running') {
    throw new Error('training is running, and loading would replace the model being trained; Pause first, then load the file');
  }
}

// the loaded model replaces the page's: stop what ran on the old one, then redraw everything
function adoptModel(m, settings, name, header) {
  app.run.loop++;
  app.pausedByHidden = false;
  clearTrajectory();
  if (app.model) app.model.free();
  const presetChanged = settings.preset !== app.settings.preset;
  app.model = m;
  app.settings = settings;
  app.modelKey = JSON.stringify(trainSettings());
  app.startStep = m.step;
  const held = m.lossHistory();
  app.lossFrom = 0;
  while (app.lossFrom < m.step && Number.isNaN(held[app.lossFrom])) app.lossFrom++;
  app.run = { activeMs: 0, startedAt: 0, lastFrameTs: null, lossDrawnAt: 0, statsAt: 0, lossStep: -1, loop: app.run.loop, lastWork: 0, progressAt: 0 };
  app.frames = [];
  app.frameWork = [];
  app.pace = { level: 0, frame: 0, recent: [], onTime: 0 };
  for (const id of ['steps', 'batch', 'lr', 'seed']) $(id).setCustomValidity('');
  fillForm();
  describePreset();
  if (presetChanged) {
    try {
      buildView(settings.preset);
    } catch (e) {
      showMessage($('global-message'), errorText(e));
    }
  }
  drawSigmaPlot();
  settingsToURL(app.settings);
  showMessage($('train-message'), '');
  setState(m.done ? 'done' : 'paused');
  drawTrainStats(true);
  drawLoss(true);
  const fresh = header.flags & 1 ? '' : ' The file holds no AdamW state: the optimiser starts afresh.';
  setStatus(`Loaded ${name}: the ${settings.preset} preset at step ${m.step} of ${m.config.steps}.${fresh} ` + (m.done
    ? `Press Sample, or raise Steps above ${m.step} to train further.`
    : `Resume trains on to step ${m.config.steps} with the batch and learning rate shown.`));
}

// ---------------------------------------------------------------------------------------------
// wiring

function redrawAll() {
  if (!app.view) return;
  drawSchedulePlots();
  drawEmbedding();
  drawLoss(true);
  drawMSEPlot();
  drawSigmaPlot();
}

function wire() {
  for (const id of TRAIN_INPUTS) {
    $(id).addEventListener('change', onTrainField);
    if (TRAIN_FIELDS.includes(id)) $(id).addEventListener('input', onTrainField);
  }
  $('btn-train').addEventListener('click', startTraining);
  $('btn-pause').addEventListener('click', () => { app.pausedByHidden = false; pause(); passFocus('btn-pause', 'btn-resume'); });
  $('btn-resume').addEventListener('click', () => {
    app.pausedByHidden = false;
    showMessage($('train-message'), '');   // what was refused while paused (a file, a Steps value) is past
    setStatus(`Training: resumed at step ${app.model.step}.`);
    resume();
    passFocus('btn-resume', 'btn-pause');
  });
  $('btn-reset').addEventListener('click', reset);
  $('btn-save').addEventListener('click', saveCheckpoint);
  $('load-file').addEventListener('change', () => {
    const file = $('load-file').files[0];
    $('load-file').value = '';   // so that choosing the same file again is a change too
    if (file) loadCheckpointFile(file);
  });

  for (const id of ['sigma-beta', 'sigma-tilde', 'clip', 'speed']) $(id).addEventListener('change', onSampleField);
  $('sample-seed').addEventListener('input', onSampleField);
  $('sample-seed').addEventListener('change', onSampleField);
  $('btn-sample').addEventListener('click', doSample);
  $('btn-play').addEventListener('click', () => (app.play.playing ? stopPlaying() : play()));
  $('btn-step').addEventListener('click', () => {
    if (!app.traj) return;
    stopPlaying();
    app.play.pos = Math.min(app.traj.T, Math.floor(app.play.pos) + 1);
    showStep(app.traj.T - app.play.pos);
  });
  $('scrub').addEventListener('input', () => {
    if (!app.traj) return;
    stopPlaying();
    app.play.pos = Number($('scrub').value);
    showStep(app.traj.T - app.play.pos);
  });

  $('fwd-t').addEventListener('input', () => {
    app.fwdT = Number($('fwd-t').value);
    drawForward();
    markSchedule();
    drawEmbedding();
  });

  // a hidden tab gets no animation frames: pause explicitly, and carry on when it is back
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      if (app.state === 'running') {
        pause(`Paused at step ${app.model.step} while the tab was hidden.`);
        app.pausedByHidden = true;
      }
    } else if (app.pausedByHidden && app.state === 'paused') {
      app.pausedByHidden = false;
      setStatus(`Training: resumed at step ${app.model.step} (the tab is visible again).`);
      resume();
    }
  });

  let lastWidth = document.documentElement.clientWidth, pending = false;
  new ResizeObserver(() => {
    const w = document.documentElement.clientWidth;
    if (w === lastWidth || pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; lastWidth = document.documentElement.clientWidth; redrawAll(); });
  }).observe(document.body);
}

async function main() {
  window.addEventListener('error', (ev) => showMessage($('global-message'), `Unexpected error: ${ev.message}`));
  window.addEventListener('unhandledrejection', (ev) => showMessage($('global-message'), `Unexpected error: ${errorText(ev.reason)}`));
  const { settings, ignored } = settingsFromURL();
  app.settings = settings;
  fillForm();
  describePreset();
  wire();
  setState('loading');
  try {
    try {
      app.engine = await loadEngine({ simd: true });
    } catch (e) {
      app.engine = await loadEngine({ simd: false });
    }
  } catch (e) {
    showMessage($('global-message'), `Could not load the WebAssembly module: ${errorText(e)}. ` +
      'Serve the page over http (make serve), not from a file:// address, and use a browser with WebAssembly.');
    $('engine-info').textContent = '';
    setStatus('Not available.');
    return;
  }
  const e = app.engine;
  try {
    buildView(settings.preset);
  } catch (err) {
    showMessage($('global-message'), errorText(err));
  }
  $('engine-info').textContent = e.simd
    ? 'Running on the SIMD WebAssembly build (ddpm_simd.wasm).'
    : 'Running on the scalar WebAssembly build (this browser has no WebAssembly SIMD): training is slower.';
  settingsToURL(settings);
  clearTrajectory();
  setState('ready');
  drawTrainStats(true);
  drawLoss(true);
  setStatus(ignored.length ? `Ready. Ignored from the address: ${ignored.join('; ')}.` : 'Ready. Press Train.');
  prepareModel();

  // for the browser tests and the curious: the engine, the model and the frame record
  window.ddpmPage = {
    get engine() { return app.engine; },
    get model() { return app.model; },
    get state() { return app.state; },
    get settings() { return { ...app.settings }; },
    get trajectory() { return app.traj; },
    frameIntervals: () => app.frames.slice(),
    frameWork: () => app.frameWork.slice(),
    pace: () => app.pace.level,
    timing: () => ({ ...app.timing }),
  };
  document.body.dataset.ready = '1';
}

main();
