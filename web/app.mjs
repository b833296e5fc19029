// app.mjs -- the page: it reacts and draws. Every number it shows comes from the wasm module
// through web/ddpm.mjs (the same wrapper the CLI and the tests use); the page's modules only
// schedule the work into animation frames, keep the settings in the address bar, and draw.
// This one is the entry point index.html loads: the train panel's fields, Train and Reset, the
// wiring of every event, and main(). The others, each importing only from those above it:
//   pacing.mjs       how much training work each animation frame takes (no DOM: tested in Node)
//   state.mjs        the one state object the modules share; messages, focus, the address bar
//   panels.mjs       the views of the preset alone: schedule, forward process, embedding
//   controls.mjs     setState, what each state enables; the train form's notes and hints
//   train-view.mjs   the model Train trains, the loop in animation frames, statistics, loss curve
//   sample-view.mjs  the reverse chain over frames, its playback, plots and verdict
//   checkpoints.mjs  Save, Load, and a new Steps for a model on the page
import { loadEngine, wasmSimdSupported, moduleFiles } from './ddpm.mjs';
import { presetDefaults, parseField, describeField, ignoredText, SAMPLE_DEFAULTS } from './settings.mjs';
import { $, settingsFromURL, settingsToURL, app, newRun, showMessage, errorText, setStatus, passFocus, focusGuard, bringOnScreen, dropUndo, focusMovedTo } from './state.mjs';
import { theme } from './plot.mjs';
import { buildView, drawSchedulePlots, markSchedule, drawForward, drawEmbedding } from './panels.mjs';
import { fillForm, describePreset, stepsOpen, stepsProblem, TRAIN_FIELDS, TRAIN_INPUTS, setState, fieldChanges,
  stepsRefusalText, refuseSteps, clearStepsRefusal, trainSettings } from './controls.mjs';
import { replacePageModel, setPageModel, prepareModel, preparedModelFits, resume, pause, drawTrainStats, drawLoss, focusOnTheWayToSample,
  unsavedTrainingMs } from './train-view.mjs';
import { clearTrajectory, doSample, forgetKeptHeights, showStep, drawMSEPlot, drawChainPlot, drawSigmaPlot, play, stopPlaying,
  onSampleField, onStripClick, restoreSample, showSampleView, drawSampleVerdict } from './sample-view.mjs';
import { saveCheckpoint, replanModel, loadCheckpointFile, putModelOnPage } from './checkpoints.mjs';

// ---------------------------------------------------------------------------------------------
// the train panel: its fields, Train and Reset

const READY = 'Ready. Press Train.';

function onTrainField(ev) {
  const el = ev.target;
  if (el.name === 'preset') {
    const preset = el.value, old = { ...app.settings };
    Object.assign(app.settings, { preset, ...presetDefaults(preset) });
    const changed = fieldChanges(old, app.settings);  // the training fields the preset reset
    // the line names this preset's changes, or none: never those of the preset picked before;
    // and the Sample panel's own choices, which stay (a trial picked the paper preset beside
    // beta tilde and clipping, and only the verdict said so, after sampling)
    const kept = [app.settings.sigma !== SAMPLE_DEFAULTS.sigma && 'σₜ² = β̃ₜ', app.settings.clip && 'clipping of x̂₀'].filter(Boolean);
    setStatus((changed.length ? `The ${preset} preset's own values: ${changed.join(', ')}.` : READY) + (kept.length
      ? ` The Sample panel keeps its ${kept.join(' and ')}, where the paper samples with σₜ² = βₜ and no clipping.` : ''));
    fillForm();
    describePreset();
    dropUntrainedSample();
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
      // a refusal of an earlier Steps is old news once a valid one is being typed
      if (key === 'steps' && v !== undefined) clearStepsRefusal();
      setState(app.state);
      return;
    }
    if (key === 'steps' && stepsOpen()) {
      changeSteps(v);
      return;
    }
    if (v !== undefined && key === 'seed' && v !== app.settings.seed) dropUntrainedSample();
    if (v !== undefined) app.settings[key] = v;
  }
  setState(app.state);
  settingsToURL(app.settings);
  drawTrainStats(true);  // the progress line's "0 / steps"
  drawLoss(true);
  prepareModel();
}

// Before training, a sample on screen is of the untrained model of the preset and seed shown
// (its weights come from them; steps, batch and learning rate do not touch it). When either
// changes it is no longer the model the page would sample, and its verdict and plots would sit
// beside the other preset's explanations: it goes.
function dropUntrainedSample() {
  if (app.state === 'ready' && (app.traj || app.sampling)) clearTrajectory();
}

// a training field's value if valid (and the field marked valid), else undefined (marked invalid)
function checkField(el) {
  const v = parseField(el.id, el.value);
  if (el.id === 'steps' && stepsOpen()) {
    // a model cannot take back steps it has taken (its own plan, unchanged, is fine)
    const ok = v !== undefined && (v > app.model.step || v === app.model.config.steps);
    el.setCustomValidity(ok ? '' : `Steps must be ${stepsProblem(el.value, app.model.step)}`);
    return ok ? v : undefined;
  }
  el.setCustomValidity(v === undefined
    ? `${el.labels[0].textContent} must be ${describeField(el.id)}. It stays ${app.settings[el.id]} until it is.` : '');
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
    refuseSteps(stepsRefusalText(typed, taken), typed);
    setState(app.state);
    return;
  }
  if (v === app.model.config.steps) {
    clearStepsRefusal();
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
  // A sample of the untrained model stays on screen while it trains: the "before" of a before and
  // after (a trial lost it to Train). The weights at step 0 depend on the preset and the seed
  // alone, not on the steps, batch or learning rate (tests/determinism.test.mjs), and sampling
  // touches nothing training uses (the chain has random streams of its own): so the model Train
  // trains, the one sampled or one made anew for a new plan, is the model of that sample, and
  // trains bit for bit as a fresh one (tested).
  const made = app.modelKey ? JSON.parse(app.modelKey) : null, shown = trainSettings();
  const keepSample = !!app.traj?.untrained && app.traj.model === app.model && !app.sampling && app.model.step === 0 &&
    made.preset === shown.preset && made.seed === shown.seed;
  try {
    if ((keepSample && app.modelKey === JSON.stringify(shown)) || preparedModelFits()) showMessage($('train-message'), '');
    else replacePageModel();
    app.modelUnused = false;
    dropUndo();   // a new model trains: the one Reset set aside goes
  } catch (e) {
    showMessage($('train-message'), `${errorText(e)}. Change the settings and press Train again.`);
    return;
  }
  if (keepSample) Object.assign(app.traj, { model: app.model, steps: app.model.config.steps, config: app.model.config });
  else clearTrajectory();
  newRun();
  setStatus(`Training ${app.model.config.steps} steps of batch ${app.model.config.batch}…`);
  resume();   // first: the state it sets redraws the settings note
  if (keepSample) drawSampleVerdict();   // (its "press Train" is for a ready page)
  showTrainingView();
  passFocus('btn-train', 'btn-pause');
}

// bring the progress, the statistics and the loss curve on screen together (they are what
// changes while training runs), with the buttons above them (Pause, which now has the focus);
// on a screen too short for all of it, the buttons at its top: Pause stays in reach (a trial at
// 360 x 640 found it a screen above, with the progress row at the top), the progress below it
function showTrainingView() {
  const buttons = document.querySelector('#train-form .buttons');
  bringOnScreen(buttons, $('plot-loss'), buttons);
}

// Reset sets a model that has trained aside rather than free it: Reset sits beside Pause and
// Resume, and one slip would lose a run (minutes of training, or a loaded file). The button then
// reads Undo Reset until a new model is trained or loaded.
function reset() {
  app.run.loop++;
  app.pausedByHidden = false;
  const m = app.model;
  if (m && (m.step > 0 || m.midStep)) {
    // (a run reset while it trains comes back paused: its clock stops here, as Pause stops it)
    if (app.state === 'running') app.run.activeMs += performance.now() - app.run.startedAt;
    app.undo = { model: m, settings: { ...app.settings }, loadedFrom: app.loadedFrom, lossFrom: app.lossFrom,
      startStep: app.startStep, run: app.run, frames: app.frames, frameWork: app.frameWork,   // (its frame interval p95)
      // its sample, where one of it is on screen (a chain still being computed is dropped)
      traj: app.traj?.model === m && !app.sampling ? app.traj : null, shownT: app.play.shownT,
      // a model whose training failed comes back stopped, with the reason it was stopped for
      failure: app.state === 'error' ? $('train-message').textContent : null };
    app.model = null;   // set aside: setPageModel below frees nothing
  }
  setPageModel(null);   // (the Seed field shows the seed again: the next run uses it)
  app.frames = [];
  app.frameWork = [];
  clearTrajectory();
  showMessage($('train-message'), '');
  app.stepsRefusal = null;
  $('steps').setCustomValidity('');   // the rule of a model's steps taken goes with the model
  setState('ready');
  drawTrainStats(true);
  drawLoss(true);
  setStatus(app.undo ? `Reset: the model at step ${app.undo.model.step} is set aside until a new one trains or loads ` +
    '(Undo Reset brings it back). Press Train.' : READY);
  passFocus('btn-reset', 'btn-train');
  prepareModel();
}

// Undo Reset: the model set aside comes back with the training settings, file name, loss curve
// and run record it had, paused (or done, or stopped) where it was; the model made since for
// Train is freed. The sample panel's settings are the user's since, and stay.
function undoReset() {
  const u = app.undo, m = u.model;
  app.undo = null;
  const settings = { ...app.settings, preset: u.settings.preset };
  for (const key of TRAIN_FIELDS) settings[key] = u.settings[key];
  // what was chosen in the form since the Reset, which the model's own settings replace (said: a
  // trial's typed learning rate went without a word)
  const typed = [...(settings.preset !== app.settings.preset ? [`preset ${app.settings.preset} → ${settings.preset}`] : []),
    ...fieldChanges(app.settings, settings, TRAIN_FIELDS.filter((k) => k !== 'seed' || !u.loadedFrom))];
  app.frames = u.frames;
  app.frameWork = u.frameWork;
  putModelOnPage(m, settings, { loadedFrom: u.loadedFrom, lossFrom: u.lossFrom, startStep: u.startStep, run: u.run,
    state: u.failure !== null ? 'error' : m.done ? 'done' : 'paused' });
  // its sample too, if the sample panel still asks for what it was drawn with (a new value there
  // redoes a sample on screen: one of other settings would misread as theirs)
  const s = app.settings, tr = u.traj;
  const sampleBack = tr && tr.sigma === s.sigma && tr.clip === s.clip && tr.seed === s.sample;
  if (sampleBack) restoreSample(tr, u.shownT);
  const back = `Reset undone: the model at step ${m.step} of ${m.config.steps} is back` +
    (typed.length ? `, with its own settings in place of those chosen since: ${typed.join(', ')}` : '');
  if (u.failure !== null) {
    // stopped as before the Reset, with its reason; the focus stays on Reset, as it was then
    showMessage($('train-message'), u.failure);
    setStatus(`${back}, stopped where its training stopped.`);
    focusMovedTo($('btn-reset'));   // (Undo Reset under the focus is Reset now: a second Enter would reset again)
  } else if (m.done && sampleBack && tr.step === m.step) {
    // its sample is back with it: nothing to press Sample for (a trial read "Press Sample" beside
    // it), and the focus stays on Reset, as after a failure
    setStatus(`${back}, with its sample. Raise Steps to train it further.`);
    focusMovedTo($('btn-reset'));
  } else if (m.done) {
    setStatus(`${back}.`, 'Press Sample, or raise Steps to train further.');
    focusOnTheWayToSample('btn-reset');
  } else {
    setStatus(`${back}; Resume trains on.`);
    passFocus('btn-reset', 'btn-resume');
  }
}

// Sample, from its button or Enter: the chain's images come on screen as it starts to play (a
// refused sample leaves the page where it is, by its message)
function sampleInView() {
  doSample();
  if (app.sampling) app.sampling.reveal = true;
}

// ---------------------------------------------------------------------------------------------
// wiring

// One key press, one action. The focus moves on after a press (Train to Pause, Reset to Train),
// so a key pressed twice quickly, or held, pressed the button it had moved to as well: a trial
// lost a run to Enter pressed twice on Reset (the second pressed Train, and a new run frees the
// model Reset set aside), and a held Enter toggled Pause and Resume at the key's repeat rate. So
// a key's press (Enter's keypress, Space coming up) on the button a key's press has just moved
// the focus to (focusMovedTo) is held back for KEY_PRESS_GAP_MS, and a held Enter's repeats press
// nothing, except on a button made for it (data-repeat: Step, held, steps on through the chain).
// Only clicks that a key makes are held back: the mouse, assistive technology's clicks and
// focus moves (Tab, a screen reader) are left alone.
const KEY_PRESS_GAP_MS = 300;
function oneKeyPressOneAction() {
  // (set where the click is made: Enter's at its keypress, Space's at its keyup, each in the same
  // dispatch as the click; a real keyboard sends keydown and keypress as two events, and a mark
  // set at keydown was often gone by the click: a review)
  const pressing = (button) => {
    app.keyPress = button;
    setTimeout(() => { app.keyPress = null; });
  };
  document.addEventListener('keydown', (ev) => {
    // (preventing a repeat's keydown prevents its keypress, and so its click)
    if (ev.key === 'Enter' && ev.repeat && ev.target instanceof HTMLButtonElement && !('repeat' in ev.target.dataset)) ev.preventDefault();
  }, true);
  document.addEventListener('keypress', (ev) => {
    if (ev.key === 'Enter' && ev.target instanceof HTMLButtonElement) pressing(ev.target);
  }, true);
  document.addEventListener('keyup', (ev) => {
    if (ev.key === ' ' && ev.target instanceof HTMLButtonElement) pressing(ev.target);
  }, true);
  document.addEventListener('click', (ev) => {
    if (ev.target !== app.keyPress) return;
    const moved = app.focusMoved;
    if (moved?.to === ev.target && performance.now() - moved.at < KEY_PRESS_GAP_MS) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);
}

const RESIZE_SETTLE_MS = 150;   // no new width for this long: the resize is over
const RESIZE_CALM_MS = 500;     // frames this long after a resize or its redraw are not paced

function redrawAll() {
  if (!app.view) return;
  forgetKeptHeights();
  drawSchedulePlots();
  drawEmbedding();
  drawLoss(true);
  drawMSEPlot();
  drawChainPlot();
  drawSigmaPlot();
}

function onResumeClick(ev) {
  // (open at Done while a higher Steps is typed: the 'change' that plans it comes first, as the
  // field loses the focus; if that plan was refused, the model is still done, and its refusal says why)
  if (!app.model || app.model.done) return;
  app.pausedByHidden = false;
  // what was refused while paused (a file, a Steps typed before) is past; a Steps refusal made
  // by this click stays, or the user would never see why the value went back (it goes at the
  // next Pause or at Done). A click from the keyboard (detail 0) blurs nothing: it made none
  const refusedByThisClick = ev.detail > 0 && app.stepsRefusal?.at > (app.resumePressedAt ?? Infinity);
  app.resumePressedAt = undefined;
  if (refusedByThisClick) app.stepsRefusal.kept = true;
  else {
    showMessage($('train-message'), '');
    app.stepsRefusal = null;
  }
  setStatus(`Training on from step ${app.model.step} to step ${app.model.config.steps}…`);
  resume();
  showTrainingView();   // as Train does: on a phone, Steps and Resume can be a screen above the progress
  passFocus('btn-resume', 'btn-pause');
}

// a hidden tab gets no animation frames: pause explicitly, and carry on when it is back
function onVisibilityChange() {
  if (document.visibilityState === 'hidden') {
    if (app.state === 'running') {
      const refocus = focusGuard();   // on Pause, which the pause disables
      pause(`Paused at step ${app.model.step} while the tab was hidden.`);
      app.pausedByHidden = true;
      refocus('btn-resume');
    }
  } else if (app.pausedByHidden && app.state === 'paused') {
    app.pausedByHidden = false;
    setStatus(`Training on from step ${app.model.step} to step ${app.model.config.steps} (the tab is visible again)…`);
    const refocus = focusGuard();   // on Resume, which the run disables
    resume();
    refocus('btn-pause');
  }
}

function wire() {
  oneKeyPressOneAction();
  // Back or Forward between entries of this page (the intro's link to #train made one) shows an
  // entry's address, written before the settings changed: the address is rewritten to the
  // settings in use, which a link must give (a trial's Back showed seed=0 beside seed 42)
  window.addEventListener('popstate', () => settingsToURL(app.settings));
  for (const id of TRAIN_INPUTS) {
    $(id).addEventListener('change', onTrainField);
    if (TRAIN_FIELDS.includes(id)) $(id).addEventListener('input', onTrainField);
  }
  $('btn-train').addEventListener('click', startTraining);
  // Enter in a typed training field commits its value ('change'); ready, with every field valid,
  // it trains too, as the form's one action (Enter in the sample seed samples; a trial found Enter
  // here did nothing). The check waits a task, so that the 'change' is handled first. The focus
  // goes to Pause, where Train's press sends it, and a second quick Enter there is held back as
  // any key press's (oneKeyPressOneAction); a held Enter's repeats do nothing. Paused or done,
  // Enter only commits: Resume stays a press of its own. So it does while Undo Reset is offered:
  // a new run frees the model Reset set aside, which a stray Enter must not do (a review).
  for (const id of TRAIN_FIELDS) {
    $(id).addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter' || ev.isComposing || ev.repeat) return;
      setTimeout(() => {
        if (app.state !== 'ready' || $('btn-train').disabled) return;
        // (said, or the Enter seemed lost: a trial)
        if (app.undo) {
          setStatus('Enter does not train while Undo Reset is offered: a new run frees the model Reset set aside. ' +
            'Press Train to start one.');
          return;
        }
        startTraining();
        if (app.state !== 'running') return;
        $('btn-pause').focus({ preventScroll: true });
        focusMovedTo($('btn-pause'), { byKey: true });
      });
    });
  }
  $('btn-pause').addEventListener('click', () => { app.pausedByHidden = false; pause(); passFocus('btn-pause', 'btn-resume'); });
  // the mouse going down on Resume takes the focus from Steps, which commits a value typed there:
  // a refusal made after this press comes from this very click
  $('btn-resume').addEventListener('pointerdown', () => { app.resumePressedAt = performance.now(); });
  $('btn-resume').addEventListener('click', onResumeClick);
  // (the second click of a double click does nothing: it would undo the Reset the first made, or
  // reset again the model the first brought back)
  $('btn-reset').addEventListener('click', (ev) => {
    if (ev.detail > 1) return;
    if (app.state !== 'ready' || !app.undo) reset();
    else undoReset();
  });
  $('btn-save').addEventListener('click', saveCheckpoint);
  // what leaving the AdamW state out means, said while it is left out (and to a screen reader always)
  $('save-adam').addEventListener('change', () => { $('save-note').hidden = $('save-adam').checked; });
  // Enter opens the file picker, as Enter presses every other button here: Chromium's file input
  // takes only Space, and this one looks like a button (a keyboard trial found it dead). The click
  // comes a moment after the key: made inside the keydown, it opened no picker in headless
  // Chromium at some window sizes (the key's user activation still holds a moment later)
  $('load-file').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || $('load-file').disabled) return;
    e.preventDefault();
    setTimeout(() => $('load-file').click());
  });
  $('load-file').addEventListener('change', () => {
    const file = $('load-file').files[0];
    $('load-file').value = '';   // so that choosing the same file again is a change too
    if (file) loadCheckpointFile(file);
  });

  for (const id of ['sigma-beta', 'sigma-tilde', 'clip', 'speed']) $(id).addEventListener('change', onSampleField);
  $('sample-seed').addEventListener('input', onSampleField);
  $('sample-seed').addEventListener('change', onSampleField);
  // Enter commits the seed ('change', which redoes a trajectory on screen with it); with none on
  // screen or being computed, Enter samples, as the form's one action. The check waits a task,
  // so the 'change' that Enter fires after this keydown has been handled first
  $('sample-seed').addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.isComposing) return;
    setTimeout(() => {
      if (!app.traj && !app.sampling && !$('btn-sample').disabled) sampleInView();
    });
  });
  $('btn-sample').addEventListener('click', sampleInView);
  // (its move of the focus is not recorded for the key press guard: Go to Sample leads to Sample
  // to press it, and a second Enter there is meant)
  $('btn-to-sample').addEventListener('click', () => {
    $('sample').scrollIntoView({ block: 'start' });
    $('btn-sample').focus({ preventScroll: true });
  });
  $('btn-play').addEventListener('click', () => (app.play.playing ? stopPlaying() : play()));
  $('btn-step').addEventListener('click', () => {
    if (!app.traj) return;
    stopPlaying();
    // one reverse step; at the sample (t = 0) it starts over from x_T, as Play does
    app.play.pos = app.play.pos >= app.traj.T ? 0 : Math.floor(app.play.pos) + 1;
    showStep(app.traj.T - app.play.pos);
  });
  $('scrub').addEventListener('input', () => {
    if (!app.traj) return;
    stopPlaying();
    app.play.pos = Number($('scrub').value);
    showStep(app.traj.T - app.play.pos);
  });

  $('sample-strip').addEventListener('click', onStripClick);
  $('fwd-t').addEventListener('input', () => {
    app.fwdT = Number($('fwd-t').value);
    // the slider works from the first paint; before the module has loaded there is nothing to
    // draw yet (the view, once built, draws at this t)
    if (!app.view) return;
    drawForward();
    markSchedule();
    drawEmbedding();
  });

  document.addEventListener('visibilitychange', onVisibilityChange);

  // The chain's images, on screen when a resize begins, are on screen once it settles: a window
  // turned or narrowed to one column mid-play carried them a screen below while they played (a
  // trial). On screen means half of them at least (a sliver at the foot of the screen, below
  // the Train panel being read, is not). Whether they were is the intersection observer's last
  // word: its notes come after the resize observer's in a frame, so at a resize's first width it
  // still tells the layout before it.
  // So is the loss curve of a run (a trial's 1366 -> 800 px mid-run left the progress row at the
  // screen's foot and the curve below it): while it trains the curve comes first, as what is
  // changing (a sample on screen beside it is of an earlier step), and otherwise the images.
  const trajImages = document.querySelector('#sample .traj');
  let trajSeen = false, trajSeenBefore = null, lossSeen = false, lossSeenBefore = null;
  new IntersectionObserver((entries) => { trajSeen = entries.at(-1).intersectionRatio >= 0.5; }, { threshold: [0, 0.5, 1] })
    .observe(trajImages);
  new IntersectionObserver((entries) => { lossSeen = entries.at(-1).intersectionRatio >= 0.5; }, { threshold: [0, 0.5, 1] })
    .observe($('plot-loss'));
  const training = () => app.state === 'running' || app.state === 'paused';

  // A new width redraws every plot, once the width has settled: a window dragged wider redraws
  // once, not on every frame of the drag. The frames of a resize come late for the browser's own
  // layout and this redraw, not for training, so the pacing does not count them (pacing.mjs):
  // counted, a drag makes it step down to its slowest level, ~15x fewer steps/s for ~10 s.
  let lastWidth = document.documentElement.clientWidth, timer = 0;
  new ResizeObserver(() => {
    if (document.documentElement.clientWidth === lastWidth) return;
    if (trajSeenBefore === null) trajSeenBefore = trajSeen && !!app.traj;
    if (lossSeenBefore === null) lossSeenBefore = lossSeen && training();
    app.pace.calmUntil = performance.now() + RESIZE_CALM_MS;
    clearTimeout(timer);
    timer = setTimeout(() => {
      lastWidth = document.documentElement.clientWidth;
      redrawAll();
      app.redraws++;
      if (lossSeenBefore && app.state === 'running') showTrainingView();
      else if (trajSeenBefore && app.traj) showSampleView();
      else if (lossSeenBefore && training()) showTrainingView();
      trajSeenBefore = lossSeenBefore = null;
      app.pace.calmUntil = performance.now() + RESIZE_CALM_MS;
    }, RESIZE_SETTLE_MS);
  }).observe(document.body);
}

// No module: nothing on the page can run. Say why, and leave nothing that looks usable (the
// data image comes from the module too). A server that answers 404 for the module's files serves
// a clone not built yet (a trial was told to check the connection; scripts/serve.mjs warns of the
// same files, moduleFiles); simdFailure is the SIMD build's failure, where the scalar build was
// tried after it.
async function engineFailed(e, simdFailure) {
  const served = typeof WebAssembly !== 'undefined' && location.protocol !== 'file:';
  const absent = !served ? [] : (await Promise.all(moduleFiles().map((f) =>
    fetch(f, { method: 'HEAD', cache: 'no-store' }).then((r) => (r.status === 404 ? f : null), () => null)))).filter(Boolean);
  const where = typeof WebAssembly === 'undefined' ? 'This browser has no WebAssembly, which the page needs to run.'
    : location.protocol === 'file:' ? 'A page opened from a file:// address cannot load it: serve the page over http (make serve).'
    : absent.length ? `The server has no ${absent.join(' or ')}: the module is not built. Build it (make serve builds it, then serves) and reload the page.`
    : 'Check the connection and reload the page.';
  const what = simdFailure ? `the SIMD build: ${errorText(simdFailure).replace(/\.$/, '')}; the scalar build: ${errorText(e)}` : errorText(e);
  showMessage($('global-message'), `Could not load the WebAssembly module (${what}). ${where}`);
  $('engine-info').textContent = '';
  const data = $('data-image'), ctx = data.getContext('2d');
  ctx.fillStyle = theme().grid;
  ctx.fillRect(0, 0, data.width, data.height);
  data.setAttribute('aria-label', 'The training image, not drawn: the WebAssembly module that makes it did not load');
  setStatus('Not available: the WebAssembly module did not load.');
}

// Let the browser run what waits (input, a frame) before the rest of main's work: scheduler.yield()
// where there is one (its continuation goes ahead of other queued tasks), else a new task.
const nextTask = () => globalThis.scheduler?.yield?.() ?? new Promise((done) => setTimeout(done));

async function main() {
  window.addEventListener('error', (ev) => showMessage($('global-message'), `Unexpected error: ${ev.message}`));
  window.addEventListener('unhandledrejection', (ev) => showMessage($('global-message'), `Unexpected error: ${errorText(ev.reason)}`));
  const { settings, ignored } = settingsFromURL();
  app.settings = settings;
  fillForm();
  describePreset();
  wire();
  setState('loading');
  // the SIMD build where the browser has SIMD; the scalar build where it has not, or where the
  // SIMD build did not load (then the page says so: the browser is not to blame)
  let simdFailure = null;
  try {
    if (wasmSimdSupported()) {
      try {
        app.engine = await loadEngine({ simd: true });
      } catch (e) {
        simdFailure = e;
      }
    }
    app.engine ??= await loadEngine({ simd: false });
  } catch (e) {
    await engineFailed(e, simdFailure);
    return;
  }
  const e = app.engine;
  let drawLater = [];
  try {
    drawLater = buildView(settings.preset, { later: true });
  } catch (err) {
    showMessage($('global-message'), errorText(err));
  }
  $('engine-info').textContent = e.simd ? 'Running on the SIMD WebAssembly build (ddpm_simd.wasm).'
    : simdFailure ? `The SIMD build could not be loaded (${errorText(simdFailure)}), so the page runs on the scalar ` +
      'WebAssembly build: training is slower. Reloading the page tries the SIMD build again.'
    : 'Running on the scalar WebAssembly build (this browser has no WebAssembly SIMD): training is slower.';
  settingsToURL(settings);
  // the panels below the first screen are drawn a task each: together they made one task of
  // 150-300 ms. (The preset cannot change meanwhile: its inputs wait for 'ready'; what can, the
  // sample fields, the forward slider, a resize, only redraws from app.view.)
  for (const draw of drawLater) {
    await nextTask();
    draw();
  }
  await nextTask();
  clearTrajectory();
  setState('ready');
  drawTrainStats(true);
  drawLoss(true);
  setStatus(ignored.length ? `Ready. Ignored from the address: ${ignoredText(ignored)}.` : READY);
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
    pacedFrames: () => app.pace.paced,         // frame intervals the pacing has counted
    resizeCalm: () => app.pace.calmUntil > performance.now(),
    redraws: () => app.redraws,
    timing: () => ({ ...app.timing }),
    unsavedTrainingMs,
  };
  document.body.dataset.ready = '1';
}

main();
