// state.mjs -- what every part of the page shares: the one state object (app) that its modules
// read and write, and the few helpers that write to the page (messages, the status line, the
// focus) and to the address bar. It imports only the pure settings.mjs (for the query string) and
// pacing.mjs (the pacing's state); the modules with page state import it (not the pure ones:
// settings.mjs, pacing.mjs, plot.mjs, draw.mjs).
import { settingsFromQuery, settingsToQuery } from './settings.mjs';
import { newPacing } from './pacing.mjs';

export const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// settings: what the address bar holds (their schema and parsing: settings.mjs)

export function settingsFromURL() { return settingsFromQuery(location.search); }

export function settingsToURL(s) {
  const url = `${location.pathname}?${settingsToQuery(s)}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(null, '', url);
}

// ---------------------------------------------------------------------------------------------
// state

// The record of one training run (timing, frame pacing, what was last drawn). loop numbers the
// chains of animation frames that train: a frame of an older chain sees another number and
// stops. It only ever counts up, across runs too: a new run starting from 0 could meet a frame
// of the run before it that still carries the same number.
function runRecord(loop) {
  return { activeMs: 0, startedAt: 0, lastFrameTs: null, lossDrawnAt: 0, statsAt: 0, lossStep: -1, loop, lastWork: 0, progressAt: 0,
    rateMarks: [],  // (training ms, step) pairs of the last few seconds, for steps/s (train-view.mjs)
    savedAtMs: 0 };  // its training ms when it was last saved (train-view.mjs: leaving the page asks first)
}

export const app = {
  engine: null,
  settings: null,
  state: 'loading',          // loading | ready | running | paused | done | error
  model: null,               // the model being trained and sampled
  modelKey: null,            // the settings the model was made with (JSON), to tell whether they still hold
  modelUnused: false,        // made ahead for Train (prepareModel) and not yet trained or sampled
  loadedFrom: null,          // the file the model came from (Load), while it is on the page: its training
                             // randomness is the file's, not the Seed's (see drawSeedField, controls.mjs)
  startStep: 0,              // the step it started from: 0, or a loaded checkpoint's step
  lossFrom: 0,               // the first step whose loss the model holds (a checkpoint may have none)
  sampling: null,            // a reverse chain being computed over frames (see doSample, sample-view.mjs)
  pausedByHidden: false,
  stepsRefusal: null,        // a refused Steps on screen: { at, typed, kept } (controls.mjs refuseSteps)
  status: null,              // the train status line: { text, toSample } (setStatus)
  statusBeforeWait: null,    // its words while Train waits for a refused field (controls.mjs drawTrainWaits)
  resumePressedAt: undefined, // when the mouse last went down on Resume (app.mjs)
  view: null,                // schedule + forward-process data of the current preset
  otherSchedule: null,       // the other preset's schedule, drawn faintly for comparison
  embedding: null,           // (T+1) x 128
  fwdT: 30,
  // the cost of training work, measured as it runs (train-view.mjs: the median of the last few
  // measurements in sampleCosts and paramCosts); until then a guess: 8 ms
  // for a sample's forward and backward pass, 8 ms for AdamW over the 2.7 M parameters; and the
  // step of the browser's clock, the least time a slice is taken to have lasted
  timing: { msPerSample: 8, msPerParam: 8 / 2.7e6, sampleCosts: [], paramCosts: [],
    poolMs: 0, poolParams: 0, batch: null, clockStep: null },
  run: runRecord(0),        // the training run under way (see newRun)
  pace: newPacing(),   // how much work each frame of training takes (pacing.mjs)
  redraws: 0,                // plots redrawn for a new width (app.mjs)
  frames: [],                // rAF intervals (ms) while training runs
  frameWork: [],             // the time (ms) the frame before each interval spent on training and drawing
  traj: null,                // the last sampled trajectory
  lastSeen: {},              // per preset, the last sample whose result showed: { mse, step } (the verdict compares)
  undo: null,                // what Reset set aside, for Undo Reset (app.mjs): the model and the page's record of it
  keyPress: null,            // the button a key is pressing, until the click it makes is handled (app.mjs)
  focusMoved: null,          // { to, at }: the button a key's press last moved the focus to, and when (focusMovedTo)
  play: { pos: 0, playing: false, loop: 0, shownT: null },
};

// ---------------------------------------------------------------------------------------------
// messages

// Undo Reset is offered until a new model is trained or loaded: then the model Reset set aside is
// freed (its ~49 MB of wasm memory)
export function dropUndo() {
  app.undo?.model.free();
  app.undo = null;
}

// a new run on the model on the page (Train, a loaded checkpoint): its clock, frame record and
// pace start afresh; the loop number carries on (runRecord)
export function newRun() {
  app.run = runRecord(app.run.loop);
  app.frames = [];
  app.frameWork = [];
  app.pace = newPacing();
}

export function showMessage(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

export function errorText(e) {
  return e && e.message ? e.message : String(e);
}

// a message that other sentences follow ends with a full stop
export function sentence(text) {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

// The text of a live region (role=status, aria-live), written only when it changes: a screen
// reader speaks a region again whenever its text is set, even to the same words.
export function setLiveText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// The train status line. A closing hint to press Sample (toSample) stays only until Sample is
// pressed: after it, "Now press Sample." beside the sample would read as if it had not been. The
// hint is a span of its own, so that removing it leaves the rest of the line (a live region)
// untouched, not spoken again.
export function setStatus(text, toSample = '') {
  // (setStatus is the line's only writer, so the record says what it shows)
  if (app.status?.text === text && app.status.toSample === toSample) return;
  const el = $('train-status');
  app.status = { text, toSample };
  el.textContent = text;
  if (toSample) {
    const hint = document.createElement('span');
    hint.textContent = ` ${toSample}`;
    el.append(hint);
  }
  $('to-sample-row').hidden = !toSample;   // (shown on one column only: style.css)
}
export function dropSampleHint() {
  if (!app.status?.toSample) return;
  app.status = { text: app.status.text, toSample: '' };
  $('train-status').querySelector('span')?.remove();
  $('to-sample-row').hidden = true;
}
// what the status line says, to put it back as it was (setStatus(...saved))
export function savedStatus() { return app.status ? [app.status.text, app.status.toSample] : [$('train-status').textContent]; }

// Bring the part of the page from the top of element `top` to the bottom of `bottom` on screen,
// unless it is already: scrolled no further than needed, with a small margin; `bottom` may be a
// list, most wanted first, and the first part that fits the screen is shown; where none does,
// `fallback` at its top. For what changes after a press (training's progress and loss, the
// sample's chain and verdict), which on a phone starts below the button.
export function bringOnScreen(top, bottom, fallback) {
  const from = top.getBoundingClientRect().top, margin = 8;
  for (const el of [bottom].flat()) {
    const to = el.getBoundingClientRect().bottom;
    if (to - from + 2 * margin > window.innerHeight) continue;
    if (from < 0 || to > window.innerHeight) window.scrollBy(0, from < margin ? from - margin : to + margin - window.innerHeight);
    return;
  }
  fallback.scrollIntoView({ block: 'start' });
}

export function wholeOnScreen(el) {
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight;
}

// move the focus from a button that just became disabled to the one that now matters
export function passFocus(from, to) {
  const active = document.activeElement;
  if (active === $(from) || active === document.body || active === null) {
    // Without scrolling for a pointer: on a phone the next button can be a screen away from what
    // just finished, and the page must not jump. A keyboard user (the focus ring showing) is
    // taken to it: a focus they cannot see would leave them pressing a button off the screen.
    const keyboard = active === $(from) && active.matches(':focus-visible');
    if (!$(to).disabled) {
      $(to).focus({ preventScroll: !keyboard });
      focusMovedTo($(to));
    }
  }
}

// The page moved the focus to a button, or changed what the button under it does: after a key's
// press, a key press that follows at once was most likely meant for the button before (a second
// Enter), and the key press guard (app.mjs, oneKeyPressOneAction) holds it back for a moment. A
// move at an event (Done, a divergence) is not recorded: a press after it is a reply to it.
export function focusMovedTo(button, { byKey = false } = {}) {
  // (byKey: a key press moved it that was not on a button, as Enter in a field that trains)
  if (app.keyPress || byKey) app.focusMoved = { to: button, at: performance.now() };
}

// Disabling the control that has the focus drops the focus to <body>, and a keyboard user loses
// their place. Call this before a change of state that may do that (one the user did not ask for
// by pressing that control: a failed step, a hidden tab); the function it returns hands the focus
// to `to` only if the control that had it is disabled now.
export function focusGuard() {
  const had = document.activeElement;
  return (to) => {
    if (had && had !== document.body && had.disabled && !$(to).disabled) {
      $(to).focus({ preventScroll: true });
      focusMovedTo($(to));
    }
  };
}
