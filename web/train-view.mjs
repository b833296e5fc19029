// train-view.mjs -- training on the page: the model Train trains (made ahead while the page is
// idle), the loop that trains it a slice at a time in animation frames (backing off when frames
// come late), and what the train panel shows of it: progress, statistics and the loss curve.
// Train and Reset themselves are in app.mjs: they also clear the sample panel.
import { DDPMError } from './ddpm.mjs';
import { linePlot, movingGeoMean, theme, formatNumber, formatDuration, growingAxisEnd } from './plot.mjs';
import { $, app, showMessage, errorText, sentence, setStatus, passFocus, focusGuard, bringOnScreen, wholeOnScreen } from './state.mjs';
import { trainSettings, setState, drawCheckpointControls, settleStepsRefusal } from './controls.mjs';
import { LEVELS, pace } from './pacing.mjs';
import { UNLEARNT_LOSS, lossCurve, unlearntLoss, unlearntWhy, blewUpOnTheWay, blowUpRecovered, thisRunsPart, fellOrRose, stepsInWords } from './loss-words.mjs';

// Finish what the model has half done: its weight update (enough for a sample: a batch partly
// gathered does not touch the weights), or its whole step (C saves and loads only between
// steps). The work the next frames would have done, and any split of a step gives the same
// bits. False if C refused it (trainingFailed says why).
export function finishHalfDone(m, { wholeStep }) {
  try {
    while (wholeStep ? m.midStep : m.updating) m.trainWork(m.config.batch, m.numParams);
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

// ---------------------------------------------------------------------------------------------
// the model Train trains

// The one place the page's model is replaced (Reset, a new model for Train, a loaded file): the
// one before is freed, and all the page knew of it goes with it. m: the new model, or null;
// unused, made ahead and not yet trained or sampled; loadedFrom, the file it came from;
// lossFrom, the first step whose loss it holds. Its key is the train settings shown, so a
// loaded model's settings are app.settings before this is called.
export function setPageModel(m, { unused = false, loadedFrom = null, lossFrom = 0 } = {}) {
  if (app.model && app.model !== m) app.model.free();
  app.model = m;
  app.modelKey = m ? JSON.stringify(trainSettings()) : null;
  app.modelUnused = unused;
  app.loadedFrom = loadedFrom;
  app.startStep = m ? m.step : 0;
  app.lossFrom = lossFrom;
}

// the page's model replaced by a new one of the settings shown
export function replacePageModel({ quiet = false } = {}) {
  setPageModel(null);   // freed first: if the new one cannot be made, none is left half-known
  if (!quiet) showMessage($('train-message'), '');
  setPageModel(app.engine.createModel(trainSettings()), { unused: true });
  return app.model;
}

// Creating a model takes 25-30 ms, and 50-80 ms the first time in a page (its ~49 MB of wasm
// memory touched for the first time): too long for the Train click to do it and stay a short
// task. So while the page is ready and idle it makes the model for the settings shown, and Train
// takes it if it is still the model Train would create: the same settings, never trained or
// sampled. Called after load, Reset and every change of a training setting.
export function prepareModel() {
  const needed = () => app.state === 'ready' && !(app.model && (!app.modelUnused || preparedModelFits()));
  if (!needed()) return;
  const whenIdle = window.requestIdleCallback?.bind(window) ?? ((callback) => setTimeout(callback, 200));
  whenIdle(() => {
    if (!needed()) return;
    try {
      replacePageModel({ quiet: true });  // frees one made for other settings first
    } catch (e) {
      // nothing to show here: Train creates the model again and says why it cannot
    }
  }, { timeout: 2000 });
}

export function preparedModelFits() {
  return !!app.model && app.state === 'ready' && app.modelUnused && app.modelKey === JSON.stringify(trainSettings());
}

// ---------------------------------------------------------------------------------------------
// the training loop, in animation frames

export function resume() {
  if (!app.model || app.model.done) return;
  setState('running');
  app.run.startedAt = performance.now();
  app.run.lastFrameTs = null;
  const loop = ++app.run.loop;
  requestAnimationFrame((ts) => trainFrame(ts, loop));
}

export function pause(reason) {
  if (app.state !== 'running') return;
  app.run.activeMs += performance.now() - app.run.startedAt;
  app.run.loop++;
  // Steps is locked while training runs: a refusal still on screen is from before this run
  // (kept by the Resume click that made it) and names the steps taken then
  settleStepsRefusal(false);
  setState('paused');
  drawTrainStats(true);
  drawLoss(true);
  // A pause between two frames can leave a step part done: said now, or the Sample or Save that
  // finishes it would seem to move a paused model on unasked (a trial saw "Paused at step 57",
  // then a Sample said step 58)
  const m = app.model, k = m.step;
  const part = m.updating ? ` The weight update of step ${k + 1} is half done: Sample and Save finish it first.`
    : m.midStep ? ` Step ${k + 1} is part done: Save finishes it first.` : '';
  setStatus(reason ? `${reason}${part}` : `Paused at step ${k}.${part} Resume continues exactly where it stopped.`);
}

// the training time of a run (ms), the part under way included
export function runMs(run = app.run) {
  return run.activeMs + (run === app.run && app.state === 'running' ? performance.now() - run.startedAt : 0);
}

// Leaving the page (closing it, reloading it, Back to the page before) loses the model on it and
// the one Reset set aside. A short run costs little to redo: the address holds its settings, and
// the same settings train the same bits. After more training than this not kept by a Save, the
// browser asks first (its own "Leave site?" dialog; a page cannot word it).
const ASK_BEFORE_LEAVING_MS = 10000;

// the training time (ms) of the runs on the page, the model's and the one set aside, since each
// was last saved
export function unsavedTrainingMs() {
  return Math.max(...[app.run, app.undo?.run].filter(Boolean).map((run) => runMs(run) - run.savedAtMs));
}

// that training time where it is past the mark (worth a question before it is lost), else 0:
// leaving the page and a Load that would replace the model ask on the same rule
export function unsavedWorthAsking() {
  const ms = unsavedTrainingMs();
  return ms > ASK_BEFORE_LEAVING_MS ? ms : 0;
}

function askBeforeLeaving(event) {
  event.preventDefault();
  event.returnValue = true;   // (browsers before the preventDefault rule: Chrome 119)
}

// The question is put only while it stands: the listener is added once a run passes the mark and
// removed when a Save, a Load or a new run takes it away (Firefox keeps no page with a
// beforeunload listener in its back/forward cache, and Back would then lose even a saved model).
// Called with the training statistics, which every change of the run redraws.
let asking = false;
export function guardLeaving() {
  const ask = unsavedWorthAsking() > 0;
  if (ask === asking) return;
  asking = ask;
  if (ask) window.addEventListener('beforeunload', askBeforeLeaving);
  else window.removeEventListener('beforeunload', askBeforeLeaving);
}

// parameters in the first AdamW slice at a batch (and the fewest whose time updates the estimate)
const PROBE_PARAMS = 65536;
// A browser coarsens performance.now() (Chromium: to 100 us outside cross-origin isolation,
// others to 1 ms or more), so a fast slice can read 0 ms. Counted as 0 it made the cost per unit
// 0 and the next slice Infinity, which reached C as 0 and stopped training ("max_params must be
// >= 1"); counted as less than the clock's step it makes the next slice too large (a batch-64
// update after a probe that read 0: 60 ms in one frame). A slice is taken to have lasted at
// least one step of the clock (app.timing.clockStep), measured when training first runs.
export function measureClockStep(now = () => performance.now()) {
  // the smallest of 3 whole steps (from one change of the clock to the next; the first change may
  // come mid-step), as a step read across a pause of this thread spans two (a CI run on a busy
  // machine measured 0.2 ms of Chromium's 0.1 from one); a clock that does not move within a few
  // million reads is taken as 1 ms. (now: the clock, for the tests)
  const change = (from) => {
    for (let i = 0; i < 5e6; i++) { const t = now(); if (t !== from) return t; }
    return null;
  };
  let t = change(now()), step = Infinity;
  for (let k = 0; k < 3 && t !== null; k++) {
    const next = change(t);
    if (next !== null) step = Math.min(step, next - t);
    t = next;
  }
  return Number.isFinite(step) ? Math.min(step, 20) : 1;
}
const perUnit = (ms, units) => Math.max(ms, app.timing.clockStep) / units;

// A cost per unit of work (ms per sample, ms per parameter) is the median of its last few
// measurements, `recent`, to which this adds `per`. A slice the machine preempted can read ten
// times its cost; weighted into a moving average (0.2), one such slice showed "ms per AdamW
// update" at 67 ms between readings of 4, for seconds, and shrank the slices sized by it.
const COST_WINDOW = 9;
export function recordCost(recent, per) {
  recent.push(per);
  if (recent.length > COST_WINDOW) recent.shift();
  return recent.slice().sort((a, b) => a - b)[recent.length >> 1];   // the upper one of an even count: smaller slices
}

// One animation frame of training: slices of work until the budget is spent. A slice is a
// number of samples of the batch (forward + backward) or, once the batch is complete, a range
// of parameters for AdamW; both are sized from the time measured for the previous slices.
function trainFrame(ts, loop) {
  if (loop !== app.run.loop || app.state !== 'running') return;
  if (app.run.lastFrameTs !== null) {
    app.frames.push(ts - app.run.lastFrameTs);
    app.frameWork.push(app.run.lastWork);
    if (ts > app.pace.calmUntil) pace(app.pace, ts - app.run.lastFrameTs);   // not a resize's late frames (app.mjs)
  }
  app.run.lastFrameTs = ts;
  const m = app.model, tm = app.timing, [budget, every] = LEVELS[app.pace.level];
  tm.clockStep ??= measureClockStep();
  const start = performance.now(), deadline = start + budget;
  // AdamW forms each weight's gradient from the batch's samples (c/optimizer.c), so its cost per
  // parameter grows with the batch: an estimate made at another batch is no guide, and the first
  // slice is a probe (sized by the batch-1 guess, a batch-64 update took 60 ms in one frame)
  if (tm.batch !== m.config.batch) {
    tm.batch = m.config.batch;
    tm.paramCosts = [];
    tm.poolMs = tm.poolParams = 0;
  }
  const trainThisFrame = app.pace.frame++ % every === 0 && !app.sampling;
  let worked = false;
  try {
    while (trainThisFrame && !m.done) {
      const left = deadline - performance.now();
      if (m.updating) {
        // at most the whole model: C takes an int, and a larger number would wrap
        let n = tm.paramCosts.length ? Math.min(m.numParams, Math.floor(left / tm.msPerParam)) : PROBE_PARAMS;
        if (n < 4096) {
          if (worked) break;
          n = 4096;
        }
        const a = performance.now();
        const done = m.trainWork(1, n);
        // slices are pooled until they hold PROBE_PARAMS parameters, and the pool's time updates
        // the estimate: timed alone, a small slice reads too coarsely; left out, a first probe
        // that read slow (memory touched for the first time) sized every later slice just below
        // the threshold, and the estimate, on screen as "ms per AdamW update", stayed 60x too high
        tm.poolMs += performance.now() - a;
        tm.poolParams += done;
        if (tm.poolParams >= PROBE_PARAMS) {
          const per = perUnit(tm.poolMs, tm.poolParams);
          tm.msPerParam = recordCost(tm.paramCosts, per);
          tm.poolMs = tm.poolParams = 0;
        }
      } else {
        if (worked && left < tm.msPerSample) break;
        const n = Math.max(1, Math.min(m.config.batch, Math.floor(left / tm.msPerSample)));
        const a = performance.now();
        const done = m.trainWork(n, m.numParams);
        const per = perUnit(performance.now() - a, done);
        tm.msPerSample = recordCost(tm.sampleCosts, per);
      }
      worked = true;
    }
  } catch (e) {
    trainingFailed(e, m);
    return;
  }
  if (m.done) {
    finishRun(m);
    return;
  }
  drawTrainStats(false);
  drawLoss(false);
  app.run.lastWork = performance.now() - start;
  requestAnimationFrame((t) => trainFrame(t, loop));
}

// The plan is done: the page at Done, and the status line's summary of the run
function finishRun(m) {
  app.run.activeMs += performance.now() - app.run.startedAt;
  settleStepsRefusal(true);
  setState('done');
  drawTrainStats(true);
  drawLoss(true);
  const secs = app.run.activeMs / 1000;
  // the thick line of the loss plot, from its first step to its last: like with like (the raw
  // loss of one step jumps with its t)
  const { from: lossFrom, losses } = recordedLosses(m), average = movingGeoMean(losses), end = average.at(-1);
  const curve = lossCurve(average, lossFrom);
  const from = app.startStep;
  const which = !from ? stepsInWords(m.step) : from + 1 === m.step ? `step ${m.step}` : `steps ${from + 1} to ${m.step}`;
  const own = thisRunsPart(average, lossFrom, from, curve);
  const curveSeen = wholeOnScreen($('plot-loss'));
  setStatus(`Done: ${which} in ${formatDuration(secs)} (${((m.step - from) / secs).toFixed(1)} steps/s on average). ` + (end < UNLEARNT_LOSS
    ? `The loss's moving average ${blewUpOnTheWay(curve) ? blowUpRecovered(curve, m.step)
      : `${fellOrRose(average[0], end)} from ${formatNumber(average[0])} at step ${lossFrom + 1} to ${formatNumber(end)} at step ${m.step}`}${own}.`
    : `The loss's moving average ${unlearntLoss(curve)}${own}.${unlearntWhy(curve, m.config)}`),
    end < UNLEARNT_LOSS ? 'Now press Sample.' : 'Press Sample to see what this model draws.');
  // The Done line is longer than the line it replaces (on a phone four lines, and Go to Sample
  // under them), so the loss curve being watched went 123 px down, half off the screen: where it
  // was all on screen and no longer is, the page scrolls as far as it takes to show the line and
  // the curve. Where both do not fit (the paper preset's line is ~480 px tall on a phone), the
  // line and what leads on from it, Go to Sample, which takes the focus: the curve alone at the
  // top left the result and the focused button above the screen (a trial). A curve still on
  // screen is left where it is (a trial reading the caption under it was pulled 228 px away).
  if (curveSeen && !wholeOnScreen($('plot-loss'))) {
    const lineEnd = $('btn-to-sample').offsetParent !== null ? $('to-sample-row') : $('train-status');
    bringOnScreen($('train-status'), [$('plot-loss'), lineEnd], $('train-status'));
  }
  focusOnTheWayToSample('btn-pause');
}

// After a result the next thing is Sample. On one column (a phone) it is a screen or more below:
// the focus goes to Go to Sample, under the status line, and not past the line and the loss curve
// to Sample (a keyboard trial at 640 px was taken 1,487 px down, the result off screen).
export function focusOnTheWayToSample(from) {
  const oneColumn = $('btn-to-sample').offsetParent !== null;
  passFocus(from, oneColumn ? 'btn-to-sample' : 'btn-sample');
}

// Training refused a step (C reports why: a diverged loss or gradient); the model keeps the
// weights of its last good step and can still be sampled and saved.
function trainingFailed(e, m) {
  if (app.state === 'running') app.run.activeMs += performance.now() - app.run.startedAt;
  app.run.loop++;
  const refocus = focusGuard();   // Pause (or Steps) is disabled now
  setState('error');
  refocus('btn-reset');
  // weights that hold NaN or Inf cannot be saved (C refuses them): leaving has nothing to ask about
  if (!m.params().every(Number.isFinite)) app.run.savedAtMs = runMs();
  drawTrainStats(true);
  drawLoss(true);
  // The first step on a loaded file's weights may diverge for the weights' sake, not the rate's: a
  // file saved after a run blew up keeps the weights it had then (an expert trial was told to try a
  // smaller rate at 0.001, on weights that lr 99.99 had thrown off)
  const onLoaded = app.loadedFrom && m.step === app.startStep;
  const hint = !(e instanceof DDPMError && e.code === 'DIVERGED') ? ' Reset to start over.'
    : onLoaded ? ` It was the first step on the weights of ${app.loadedFrom}, which may themselves be far out (a file saved ` +
      'after a run blew up keeps the weights it had then): Reset to start from fresh weights, or load another file.'
    : ' Try a smaller learning rate: Reset, change it, and Train again.';
  showMessage($('train-message'), sentence(errorText(e)) + hint);
  setStatus(`Stopped at step ${m.step}.`);
}

// The loss of each step the model holds. A checkpoint carries the loss curve of its steps, unless
// it was written by a program that kept none (then the wrapper gives NaN for those steps, and
// they are left out).
export function recordedLosses(m) {
  const from = app.lossFrom;
  const losses = m && m.step > from ? m.lossHistory().subarray(from) : new Float32Array(0);
  return { from, losses };
}

function percentile(values, p) {
  if (!values.length) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// The training work of a frame at a pacing level, short enough for one line of its cell at any
// width: "2 ms on 1 frame in 3" took two on a phone, and the loss curve below moved as the pacing
// stepped down (a trial). The cell's title says it in words.
export function paceNote(level) {
  const [budget, every] = LEVELS[level];
  return every > 1 ? `${budget} ms/${every} frames` : `${budget} ms/frame`;
}
export const PACE_LEVEL_COUNT = LEVELS.length;
function paceTitle(level) {
  const [budget, every] = LEVELS[level];
  return `Training works about ${budget} ms ${every > 1 ? `on one animation frame in ${every}` : 'in each animation frame'}, ` +
    'less when its work makes frames come late, so that the page keeps drawing';
}

// ---------------------------------------------------------------------------------------------
// what the train panel shows: progress, statistics, the loss curve

// The model whose training the train panel shows: none while the page is ready (a model made
// ahead for Train, or sampled untrained, has trained nothing, and may be for other settings).
function shownModel() {
  return app.state === 'ready' ? null : app.model;
}

// Steps per second of training time over the last few seconds: the speed now, for the ETA too.
// An average since the start would carry the first frames (compiling, warming the caches, the
// pacing finding its budget) for the whole run: 62 steps/s shown against 72 reached, once.
const RATE_WINDOW_MS = 3000;
function recentRate(step) {
  const now = runMs(), marks = app.run.rateMarks;
  if (!marks.length || now > marks[marks.length - 1].ms) marks.push({ ms: now, step });
  while (marks.length > 2 && now - marks[1].ms >= RATE_WINDOW_MS) marks.shift();
  const first = marks[0];
  return now - first.ms > 500 && step > first.step ? (step - first.step) / ((now - first.ms) / 1000) : NaN;
}

export function drawTrainStats(force) {
  const m = shownModel(), now = performance.now();
  // a change on screen costs the compositor a frame's work too: ten updates a second are plenty
  if (!force && now - app.run.progressAt < 100) return;
  app.run.progressAt = now;
  guardLeaving();
  const steps = m ? m.config.steps : app.settings.steps;
  const step = m ? m.step : 0;
  const progress = $('train-progress');
  progress.max = steps;
  progress.value = step + (m && m.updating ? 0.99 : m ? m.batchFilled / m.config.batch : 0);
  $('train-step').textContent = `${step} / ${steps}`;
  if (!force && now - app.run.statsAt < 250) return;
  app.run.statsAt = now;
  drawCheckpointControls();
  drawSampleAge();
  // the speed now: none once the plan is done (the Done line gives the run's average), nor while
  // nothing runs (paused, a trial read "38.79 steps/s now" beside "Paused"); the ETA then keeps
  // the training time still needed at the speed before the pause, and does not count down
  const rate = m && !m.done ? recentRate(step) : NaN;
  $('stat-rate').textContent = Number.isFinite(rate) && app.state === 'running' ? rate.toFixed(2) : '–';
  $('stat-eta').textContent = !m ? '–' : m.done ? 'done' : Number.isFinite(rate) ? formatDuration((steps - step) / rate) : '–';
  // the work figures once this model has trained on the page (the pacing's estimates outlive a
  // Reset or a Load, but a model that has not trained here has no work to show)
  const tm = app.timing, trained = m && (step > app.startStep || m.midStep);
  $('stat-ms-sample').textContent = tm.sampleCosts.length && trained ? tm.msPerSample.toFixed(2) : '–';
  $('stat-ms-update').textContent = tm.paramCosts.length && trained ? (tm.msPerParam * m.numParams).toFixed(2) : '–';
  const { losses } = recordedLosses(m);
  $('stat-loss').textContent = losses.length ? formatNumber(losses[losses.length - 1]) : '–';
  const recent = app.frames.slice(-600);
  $('stat-frame').textContent = recent.length > 10
    ? `${percentile(recent, 0.95).toFixed(1)} ms` : '–';
  $('stat-budget').textContent = trained ? paceNote(app.pace.level) : '–';   // no training yet: no work to pace
  if (trained) $('stat-budget').title = paceTitle(app.pace.level);
  else $('stat-budget').removeAttribute('title');
}

export function drawLoss(force) {
  const m = shownModel(), now = performance.now();
  const step = m ? m.step : 0;
  if (!force && (step === app.run.lossStep || now - app.run.lossDrawnAt < 200)) return;
  app.run.lossStep = step;
  app.run.lossDrawnAt = now;
  const th = theme();
  const { from, losses } = recordedLosses(m), x = losses.map((_, i) => from + i + 1);
  const average = movingGeoMean(losses);
  // the curve in words, for a screen reader (the canvas is an image)
  const last = from + losses.length;
  $('plot-loss').setAttribute('aria-label', 'Training loss per step, log scale: ' + (losses.length
    ? `steps ${from + 1} to ${last}; the moving average ${formatNumber(average[0])} at step ${from + 1}, ${formatNumber(average.at(-1))} at step ${last}`
    : 'no step yet'));
  linePlot($('plot-loss'), {
    height: 234, xRange: [0, growingAxisEnd(step, m ? m.config.steps : app.settings.steps)], yLog: true, xLabel: 'step',
    empty: from ? `The checkpoint held no loss curve: the loss of each step after ${from} appears here.`
      : 'Press Train: the loss of every step appears here.',
    series: [
      // (at 0.7 the line is 3.4:1 on the panel, at 0.5 it was 2.3:1, below the 3:1 graphics need)
      { y: losses, x, color: th.accent2, width: 1, alpha: 0.7, label: 'loss per step' },
      { y: average, x, color: th.accent, width: 2.5, label: 'moving average (geometric)' },
    ],
  });
}

// A sample drawn in the middle of a run stays on screen while training goes on; only its
// "trained steps" statistic would tell that the model has moved on since. Say it beside the
// images (and in that statistic), and only then: a sample of the model as it is needs no note.
// (It is redrawn with the training statistics, hence here; the rest of the sample panel is in
// sample-view.mjs.)
export function drawSampleAge() {
  const tr = app.traj, m = shownModel(), since = tr && m && m.step > tr.step;
  const text = since ? `Drawn from the model at step ${tr.step}; it has trained to step ${m.step} since. Press Sample for a fresh one.` : '';
  // written only when it changes: this runs with the training statistics, several times a second
  if ($('sample-age').textContent !== text) showMessage($('sample-age'), text);
  // the statistic too: "200 of 200", the plan when the sample was drawn, read as stale beside a
  // plan raised to 260 and trained to it (a trial)
  if (!tr) return;
  // (of the model's plan now: a plan raised while paused read "200 of 200" beside 260, a review)
  const box = since ? `${tr.step} (model now ${m.step})` : tr.untrained ? '0 (untrained)'
    : `${tr.step} of ${m === tr.model ? m.config.steps : tr.steps}`;
  if ($('stat-sample-step').textContent !== box) $('stat-sample-step').textContent = box;
}
