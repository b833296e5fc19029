// sample-view.mjs -- the sample panel: the reverse chain, computed a few steps per animation
// frame and then played back (or scrubbed) from pure noise to the sample; the three images of
// each step, the MSE plot, the chain against the forward process, the variance plot, and what
// the final MSE means. Its settings (sigma, clip, seed, speed) take effect here too.
import { DDPMError, PRESETS, mse, alongImage, extent, clipped, FAR_OUTSIDE, xtFarBound, MSE_BAR, reverseStepCoefficients, outputBlownUp } from './ddpm.mjs';
import { parseField, describeField, SAMPLE_DEFAULTS } from './settings.mjs';
import { drawImage, strip, upscale } from './draw.mjs';
import { linePlot, setMarker, movingGeoMean, theme, formatNumber } from './plot.mjs';
import { $, settingsToURL, app, showMessage, errorText, sentence, setStatus, dropSampleHint, bringOnScreen } from './state.mjs';
import { ABAR_T_FAR } from './panels.mjs';
import { trainSettings, setState } from './controls.mjs';
import { replacePageModel, recordedLosses, drawSampleAge, finishHalfDone } from './train-view.mjs';
import { UNLEARNT_LOSS, stepsInWords, unlearntLoss, unlearntWhy, blewUpOnTheWay, lossBlewUp, blowUpRecovered, lossCurve } from './loss-words.mjs';

// Images are drawn clipped to [-1, 1], the training image's range. A clean image (the sample,
// a predicted x0) that leaves [-X0_FAR, X0_FAR] gets a badge, and the verdict gives the
// sample's range: clipped, a chain that ran away to +-900 can be drawn as the very square. x_t
// gets one beyond xtFarBound (ddpm.mjs), which allows for the noise it holds.
const X0_FAR = FAR_OUTSIDE;
// a number in running text, with a true minus sign as the page's [&minus;1, 1] has
const inText = (v) => formatNumber(v).replace(/-/g, '&minus;');

// the model to sample: the one being trained, or a fresh (untrained) one with the settings
function modelForSampling() {
  if (!app.model || (app.state === 'ready' && app.modelKey !== JSON.stringify(trainSettings()))) replacePageModel();
  app.modelUnused = false;
  return app.model;
}

export function clearTrajectory() {
  app.traj = null;
  app.sampling = null;
  stopPlaying();   // a chain cleared while it played: its button reads Play again
  app.play.shownT = null;
  // no image yet: the panel's grid colour, which no image of the chain can be taken for (black
  // is the training image's own background)
  const empty = theme().grid;
  for (const id of ['sample-xt', 'sample-eps', 'sample-x0']) {
    const c = $(id), ctx = c.getContext('2d');
    ctx.fillStyle = empty;
    ctx.fillRect(0, 0, c.width, c.height);
  }
  $('sample-strip-labels').textContent = '';
  const sc = $('sample-strip');
  sc.getContext('2d').clearRect(0, 0, sc.width, sc.height);
  for (const id of ['stat-mse', 'stat-sample-ms', 'stat-ms-step', 'stat-sample-step']) $(id).textContent = '–';
  $('sample-verdict').textContent = '';
  $('sample-verdict').classList.remove('veiled');   // (a chain cleared while its verdict waited)
  showMessage($('sample-message'), '');   // (a sample's failure goes with the model it was of, as its chain does)
  drawSampleAge();
  $('scrub').disabled = true;
  $('scrub').value = '0';   // at the left, x_T, where the next chain starts
  $('btn-play').disabled = true;
  $('btn-step').disabled = true;
  $('scrub-out').textContent = 't = –';
  $('scrub').removeAttribute('aria-valuetext');
  drawCaptions(null);
  document.body.dataset.sample = 'none';
  drawMSEPlot();
  drawChainPlot();
  drawSigmaPlot();
}

// ---------------------------------------------------------------------------------------------
// computing the chain

// Sampling runs the reverse chain a few steps per animation frame (about 8 ms of work each),
// so the page never stalls, however large T is. Training waits while a chain is computed: a
// weight update in the middle would mix two models in one trajectory.
const SAMPLE_BUDGET_MS = 8;

// doSample(before): before, what a change of this panel's settings redid (changedFrom), for the
// verdict to compare with
export function doSample(before = null) {
  showMessage($('sample-message'), '');
  try {
    const m = modelForSampling();
    // an AdamW update half done would mix old and new weights: finish it first (any split of a
    // step gives the same bits, so training continues exactly as it would have)
    if (m.updating) {
      const paused = app.state === 'paused';
      if (!finishHalfDone(m, { wholeStep: false })) return;
      if (paused && m.done) {
        setStatus(`Done: the weight update of step ${m.step}, the last, was half done, so it was finished before sampling.`);
      } else if (paused) {
        setStatus(`Paused at step ${m.step}: its weight update was half done, so it was finished before sampling. ` +
          'Resume continues exactly where it stopped.');
      }
    }
    const s = app.settings;
    const t0 = performance.now();
    m.sampleBegin({ seed: s.sample, sigma: s.sigma, clip: s.clip });
    app.sampling = { m, computeMs: performance.now() - t0, sigma: s.sigma, clip: s.clip, seed: s.sample, before };
  } catch (e) {
    sampleFailed(e);
    return;
  }
  stopPlaying({ reveal: false });   // (the chain replaced: its result, if still to come, stays so)
  // the status line's "press Sample" is done: gone now, before the page is brought to the chain,
  // which its going would move
  dropSampleHint();
  document.body.dataset.sample = 'computing';
  $('stat-sample-step').textContent = 'computing…';
  const job = app.sampling;
  requestAnimationFrame(() => sampleFrame(job));
}

function sampleFrame(job) {
  if (job !== app.sampling) return;  // replaced by a newer Sample, or the model was reset
  const m = job.m, t0 = performance.now();
  let t;
  try {
    do t = m.sampleContinue(1); while (t > 0 && performance.now() - t0 < SAMPLE_BUDGET_MS);
  } catch (e) {
    app.sampling = null;
    sampleFailed(e);
    return;
  }
  job.computeMs += performance.now() - t0;
  if (t > 0) {
    // (no t beside it: "computing… t = 57" took a second line on a phone, and the figures moved)
    requestAnimationFrame(() => sampleFrame(job));
    return;
  }
  app.sampling = null;
  showSample(m, job);
  if (job.reveal) showSampleView();   // (Sample pressed, not a setting changed)
}

// compute the rest of a chain being computed now, in one go (the model is about to change)
export function finishSampling() {
  const job = app.sampling;
  if (!job) return;
  app.sampling = null;   // its frames stop
  const t0 = performance.now();
  try {
    while (job.m.sampleContinue(job.m.T) > 0);
  } catch (e) {
    sampleFailed(e);
    return;
  }
  job.computeMs += performance.now() - t0;
  showSample(job.m, job);
}

function sampleFailed(e) {
  clearTrajectory();
  // a model whose training diverged keeps the weights it diverged on (the Train panel's "the
  // weights of step N are kept"): said so, or they would read as usable ones (a trial)
  const hint = !(e instanceof DDPMError && e.code === 'DIVERGED') ? ''
    : app.state === 'error' ? ` This model's training diverged at step ${app.model.step + 1} (the Train panel says how): ` +
      'the weights it stopped with give no usable reverse chain either.'
    : ' The model at this step does not give a usable reverse chain.';
  showMessage($('sample-message'), sentence(errorText(e)) + hint);
}

// the moving average of the loss, as unlearntLoss reads it (its end NaN without one)
function modelLossCurve(m) {
  const { from, losses } = recordedLosses(m);
  return lossCurve(movingGeoMean(losses), from);
}

function showSample(m, { computeMs, sigma, clip, seed, before }) {
  const r = { final: m.sampleImages(), ...m.sampleTrajectory() };
  const image = m.image(), T = m.T, D = m.D;
  const mseCurve = new Float32Array(T + 1), signal = new Float64Array(T + 1), noise = new Float64Array(T + 1);
  for (let t = 0; t <= T; t++) {
    mseCurve[t] = mse(r.x0Pred, image, t * D);
    ({ signal: signal[t], noise: noise[t] } = alongImage(r.x, image, t * D));
  }
  app.traj = { ...r, T, D, S: m.config.image_size, ms: computeMs, mseCurve, along: { signal, noise }, finalMse: mse(r.final, image), sigma, clip, seed,
    step: m.step, steps: m.config.steps, config: m.config, lossCurve: modelLossCurve(m), model: m, preset: app.settings.preset,
    // the sample a change of the panel's settings replaced, if it was of this model at this step
    before: before && before.model === m && before.step === m.step ? before : null,
    // step 0 is untrained only for a model made here: a file at step 0 (one written by another
    // program, README "Checkpoint format") holds weights trained elsewhere
    untrained: m.step === 0 && !app.loadedFrom,
    // the smallest t of the chain shown so far (reveal): none yet
    revealed: T + 1 };
  const tr = app.traj;
  tr.finalRange = extent(r.final, 0, D);
  tr.sched = m.schedule();  // the sampled model's own (a loaded file's, whatever the preset shows)
  tr.outputPeak = m.sampleOutputPeak();
  // what the clipped drawing of the sample scores: the square, or not
  tr.clippedMse = mse(clipped(r.final), image);
  drawSample();
  app.play.shownT = null;
  app.play.pos = 0;
  // the chain plays from noise to the sample, unless the system asks for less motion: then the
  // sample is shown at once, and Play runs the chain on request
  if (matchMedia('(prefers-reduced-motion: reduce)').matches) {
    app.play.pos = tr.T;
    stopPlaying();
    showStep(0);
  } else {
    showStep(tr.T);
    play();
  }
}

// The panel's figures, verdict, strip and MSE plot for the sample app.traj (the images of a step:
// showStep)
function drawSample() {
  const tr = app.traj;
  $('stat-sample-ms').textContent = `${tr.ms.toFixed(1)} ms`;
  $('stat-ms-step').textContent = `${(tr.ms / tr.T).toFixed(2)} ms`;
  $('scrub').max = String(tr.T);
  $('scrub').disabled = false;
  $('btn-play').disabled = false;
  $('btn-step').disabled = false;
  drawSampleVerdict();
  showResult(tr.revealed === 0);
  drawSampleAge();   // (and the "trained steps" statistic)
  drawSampleStrip();
  drawMSEPlot();
  drawChainPlot();
  // the captions and the step formula at the end, at the longest formula line and at the middle,
  // before playback, so that keepHeights starts from about their tallest: the page is brought on
  // screen as the chain starts (showSampleView) and nothing below should move after that (a
  // sample brought back by Undo Reset too: without this, its playback moved the page 19 px on a
  // phone)
  for (const t of [1, longestFormulaT(tr.T), Math.round(tr.T / 2)]) drawCaptions(t);
}

// A sample set aside with its model by Reset, and back with it by Undo Reset: drawn as it was
// left, at the step shown then, without playing (a trial found the model back and its sample gone)
export function restoreSample(tr, shownT) {
  app.traj = tr;
  drawSample();
  const t = shownT ?? 0;
  app.play.pos = tr.T - t;
  stopPlaying();   // (the page's mark of a sample on screen, not playing)
  showStep(t);
}

// Bring the three images and the player on screen as a sample asked for starts to play, unless
// they already are: the chain plays for a second or two, and on a phone it begins below the
// Sample button. With them, where the screen has room, the step formula, the final MSE and the
// verdict (an expert trial at 1280 x 900 found all three below the screen). Once, when the chain
// is computed: a scroll at the press too moved the page twice (a trial).
export function showSampleView() {
  const traj = document.querySelector('#sample .traj');
  bringOnScreen(traj, [$('sample-verdict'), $('sample-stats'), document.querySelector('#sample .scrub-row')], traj);
}

// ---------------------------------------------------------------------------------------------
// what the panel draws: the verdict, the strip, the images of one step, the two plots

// A network whose weights blew up, named by what it said (with x0 clipped its chain stays
// finite: a trial's lr 0.1 sampled at MSE 2.15 from an output of 1e5, named by nothing but the
// loss); '' for any other
function blownUpText(tr) {
  if (!outputBlownUp(tr.outputPeak)) return '';
  const { peak, t, input } = tr.outputPeak.inRange;
  return ` The network's output reached ${inText(peak)} at <var>t</var> = ${t}, from an <var>x<sub>t</sub></var> within ` +
    `&plusmn;${inText(input)}, where it was trained to give ${tr.config.predict === 'eps' ? 'noise from N(0, 1)' : 'an image in [&minus;1, 1]'}: ` +
    'its weights have blown up, as a training that ran away leaves them, and this sample says nothing of what it learnt' +
    (tr.clip ? ' (with <var>x&#770;<sub>0</sub></var> clipped the chain stayed finite, but the clipping, not the network, set every pixel of it).' : '.');
}

// what the final MSE means, and, when the sample failed, the reasons this page can show
export function drawSampleVerdict() {
  const tr = app.traj, el = $('sample-verdict'), good = tr.finalMse < MSE_BAR, blownUp = blownUpText(tr);
  const abarT = tr.sched.alpha_bar[tr.T];
  let text = `Final MSE ${formatNumber(tr.finalMse)}: ${good ? 'below' : 'above'} ${MSE_BAR}, the paper's bar, ` +
    // above the bar is not always far from the square (0.02 still looks like it): say only what it misses
    (good ? 'so this sample is the red square.' : 'which this sample misses.');
  if (tr.before) text += ` Before this panel's last change (${tr.before.what}), the MSE was ${formatNumber(tr.before.mse)}.`;
  // the two presets side by side: what the other one's last sample came to on this page
  const other = tr.preset === 'paper' ? 'recommended' : 'paper', seen = app.lastSeen[other];
  if (seen) text += ` The ${other} preset's last sample here (its model at step ${seen.step}): MSE ${formatNumber(seen.mse)}.`;
  if (!good) {
    // (said of the model as it was: the sample stays on screen while it trains, app.mjs
    // startTraining, which redraws this; why it is grey where noise was expected, for
    // x0-prediction, a trial asked; the way on only while Train can be pressed)
    if (tr.untrained) text += ' The model was untrained when this sample was drawn' +
      (tr.config.predict === 'x0' ? ' (its predicted <var>x&#770;<sub>0</sub></var> is near 0, mid-grey, at every step, and the last step returns it)' : '') +
      (app.state === 'ready' ? ': press <a href="#train">Train</a>, then Sample again.' : '.');
    else if (tr.step > 0 && tr.step < tr.steps) text += ` The model had trained only ${tr.step} of ${tr.steps} steps when this sample was drawn.`;
    // a run of the recommended preset planned shorter than the preset's, ended: the likeliest
    // reason, and the way on (a trial's 20-step run got the bar alone, and with sigma^2 = beta
    // tilde only that choice named). Not for the paper preset, whose full run misses too (README
    // "Presets"): more steps are no way on there, and its schedule's reason follows. Nor for a run
    // whose loss blew up: more steps at that learning rate are no way on (a trial read "raise Steps"
    // beside "a smaller learning rate keeps them in check")
    else if (tr.preset === 'recommended' && tr.step === tr.steps && tr.steps < PRESETS[tr.preset].config.steps &&
      !lossBlewUp(tr.lossCurve) && !blownUp) {
      text += ` The model trained ${stepsInWords(tr.steps)}, fewer than the ${PRESETS[tr.preset].config.steps} of the ${tr.preset} ` +
        'preset: raise Steps and press Resume to train it on.';
    }
    if (!tr.untrained && tr.lossCurve.end >= UNLEARNT_LOSS) {
      text += ` The loss's moving average ${unlearntLoss(tr.lossCurve)} (see the loss curve).${unlearntWhy(tr.lossCurve, tr.config, { brief: true })}`;
    } else if (!tr.untrained && blewUpOnTheWay(tr.lossCurve)) {
      text += ` The loss's moving average ${blowUpRecovered(tr.lossCurve, tr.step)} (see the loss curve).`;
    }
    text += blownUp;
    const [lo, hi] = tr.finalRange;
    if (lo < -X0_FAR || hi > X0_FAR) {
      text += ` The sample's pixels run from ${inText(lo)} to ${inText(hi)}, outside the image's [&minus;1, 1], and the ` +
        'images show them clipped to it (badge: clipped)' + (tr.clippedMse < MSE_BAR
        ? `: clipped, the sample looks like the square (MSE ${formatNumber(tr.clippedMse)}), but it is not.` : '.');
    }
    // (not the reason for a network that blew up)
    if (!tr.untrained && abarT > ABAR_T_FAR && !blownUp) {
      text += ` And the chain starts from pure noise, which training never showed the network: ` +
        `<var>&alpha;&#772;<sub>T</sub></var> = ${formatNumber(abarT)} (see the noise schedule, and the plot of the chain ` +
        'against the forward process, below: the chain starts with none of the image, where the forward process keeps ' +
        `${formatNumber(tr.sched.sqrt_alpha_bar[tr.T])} of it).`;
    }
    // both presets sample as the paper does (SAMPLE_DEFAULTS) unless this panel says otherwise:
    // say so if it did
    const own = [tr.sigma !== SAMPLE_DEFAULTS.sigma && '&sigma;<sub>t</sub><sup>2</sup> = &beta;&#771;<sub>t</sub>',
      tr.clip && 'the predicted <var>x&#770;<sub>0</sub></var> clipped'].filter(Boolean);
    if (own.length) {
      text += ` It was drawn with ${own.join(' and ')} (this panel's choice), where the paper samples with ` +
        '&sigma;<sub>t</sub><sup>2</sup> = &beta;<sub>t</sub> and no clipping.';
    }
  }
  // a sample on the square from a model whose loss says it has not learnt its target: the
  // sample passes, and the loss's words stay (a trial: 3 steps with x0 clipped gave MSE 0.00926,
  // where 1 and 10 steps gave 0.965 and 0.488, and the page said only "this sample is the red
  // square", the Done line's "too few to tell" gone)
  if (good && !tr.untrained && tr.lossCurve.end >= UNLEARNT_LOSS) {
    text += ` Yet the loss's moving average ${unlearntLoss(tr.lossCurve)} (see the loss curve): one sample this close ` +
      'says little of such a model; sample other seeds to see more of it.';
  }
  if (good) text += blownUp;
  el.innerHTML = text;
  el.classList.toggle('good', good);
  el.classList.toggle('bad', !good);
}

// the t of frame k of the sample strip (k = 0 is x_T)
const STRIP_STRIDES = 10;
const stripT = (T, k) => T - Math.round((k * T) / STRIP_STRIDES);

function drawSampleStrip() {
  const tr = app.traj, images = [], labels = $('sample-strip-labels');
  labels.textContent = '';
  for (let k = 0; k <= STRIP_STRIDES; k++) {
    const t = stripT(tr.T, k);
    images.push(t >= tr.revealed ? [tr.x, t * tr.D] : null);   // (not reached yet: left empty)
    const label = document.createElement('span');
    label.textContent = String(t);
    labels.append(label);
  }
  const st = strip(images, tr.S, 2), f = 4;
  const c = $('sample-strip');
  c.width = st.width * f; c.height = st.height * f;
  const rgba = upscale(st.rgba, st.width, st.height, f);
  // the gaps between images are transparent in the strip; show them as the panel background
  c.getContext('2d').putImageData(new ImageData(rgba, st.width * f, st.height * f), 0, 0);
  markStripLabel(app.play.shownT);   // (the labels are new)
}

// a click on a frame of the strip shows that step above (the slider does the same), and brings
// it on screen where it is not: the strip sits under the step formula, the final MSE and the
// verdict, a few hundred px below the images (at the foot of the panel it was 1,900 px below
// them on a phone, and a tap scrolled that far)
export function onStripClick(ev) {
  const tr = app.traj, c = $('sample-strip');
  if (!tr) return;
  const k = Math.min(STRIP_STRIDES, Math.floor((ev.offsetX / c.clientWidth) * (STRIP_STRIDES + 1)));
  const t = stripT(tr.T, k);
  stopPlaying();
  app.play.pos = tr.T - t;
  showStep(t);
  const traj = document.querySelector('#sample .traj');
  bringOnScreen(traj, [c, document.querySelector('#sample .scrub-row')], traj);   // with the strip, where both fit
}

// the strip's label of the step shown, where the strip has one, marked as such
function markStripLabel(t) {
  const tr = app.traj;
  [...$('sample-strip-labels').children].forEach((label, k) => {
    label.classList.toggle('shown', !!tr && stripT(tr.T, k) === t);
  });
}

// the badge on an image of the trajectory at t that leaves [-bound, bound]: drawn clipped to
// [-1, 1], it is not what it looks like (a corner badge, so that no caption grows a line during
// playback and moves what is below). The range goes in the badge's title and in the label of
// the canvas beside it after its own label (a title is neither spoken nor shown on touch).
function markClipped(id, images, t, bound, label) {
  const badge = $(id), canvas = badge.previousElementSibling;
  let far = false, text = '';
  if (t !== null) {
    const [lo, hi] = extent(images, t * app.traj.D, app.traj.D);
    far = lo < -bound || hi > bound;
    text = `Its values run from ${formatNumber(lo)} to ${formatNumber(hi)}: drawn clipped to [\u22121, 1]`.replace(/-/g, '\u2212');
  }
  badge.hidden = !far;
  if (far) badge.title = text;
  canvas.setAttribute('aria-label', far ? `${label}. ${text}` : label);
}

// The images with their captions, and the step formula, keep the tallest height they have had
// for this sample at this width: their words change with t (on a phone the formula takes five or
// six lines, and four at t = 0; a caption can take a second line), and the figures below jumped
// at the end of playback (a trial). Read before anything is written, the heights cost no layout
// of their own.
let heightsKept = { traj: null, width: 0 };   // the sample and the width the heights are kept for
const keptBoxes = () => [document.querySelector('#sample .traj'), $('rev-formula')];
// (also at a new width, from the resize: the heights kept for the old one go at once, not at the
// next step shown)
export function forgetKeptHeights() {
  for (const box of keptBoxes()) box.style.minHeight = '';
  heightsKept = { traj: null, width: 0 };
}
function keepHeights(t) {
  if (t === null || heightsKept.traj !== app.traj || heightsKept.width !== window.innerWidth) {
    forgetKeptHeights();
    if (t !== null) heightsKept = { traj: app.traj, width: window.innerWidth };
  } else {
    for (const box of keptBoxes()) box.style.minHeight = `${Math.max(parseFloat(box.style.minHeight) || 0, box.getBoundingClientRect().height)}px`;
  }
}

// the three images' captions and labels at timestep t, or with no sample (t null), as index.html
// has them. The labels name the step, which the captions show: a screen reader is told which
// image of the chain it is on. Symbols are written as words there ("x t", not "x_t").
function drawCaptions(t) {
  keepHeights(t);   // first: it reads heights, before anything is written
  drawStepFormula(t);
  $('cap-xt').innerHTML = t === null ? '<var>x<sub>t</sub></var>' : `<var>x<sub>t</sub></var>, t = ${t}`;
  // (at t = 0 no longer than the caption it replaces, or it took a second line at some widths,
  // and everything below moved at the end of playback)
  $('cap-eps').innerHTML = t === 0 ? 'no <var>&epsilon;&#770;</var> at t&nbsp;=&nbsp;0' : 'predicted noise <var>&epsilon;&#770;</var>';
  // at t = 0 the chain has ended: the sample is its own x0 (c/sampler.c)
  $('cap-x0').innerHTML = t === 0 ? 'the sample <var>x<sub>0</sub></var>' : 'predicted <var>x&#770;<sub>0</sub></var>';
  const at = t === null ? '' : ` at t = ${t}`;
  $('sample-eps').setAttribute('aria-label', t === 0 ? 'No predicted noise at t = 0: the chain has ended'
    : `The noise in x t${at}, as the network's prediction has it`);
  // no badge on the noise image: a normal passes 1 a third of the time, so it is clipped as a
  // rule, which the text under the images says
  markClipped('clip-xt', app.traj?.x, t, t === null ? 0 : xtFarBound(app.traj.sched, t),
    t === 0 ? 'The sample x 0, the end of the reverse chain' : `x t${at}, the state of the reverse chain`);
  markClipped('clip-x0', app.traj?.x0Pred, t, X0_FAR,
    t === 0 ? 'The sample x 0 again: at t = 0 it is its own clean image' : `The clean image x 0, as the network's prediction has it${at}`);
}

// The reverse step from the x_t shown, written out with its numbers (reverseStepCoefficients,
// which a test holds to the module's own step, bit for bit); with no sample, its symbols. A
// formula line and a note in every state, in a box whose height keepHeights keeps through a
// sample (and style.css before one).
// four significant digits, or as many more as it takes not to read a whole 1: 1/sqrt(alpha_3) of
// the paper's schedule, 1.00025, read "x2 = 1·(x3 − ...)", as if x_t were not scaled at all
const coef = (v) => {
  let digits = 4;
  while (digits < 9 && v !== 1 && Number(v.toPrecision(digits)) === 1) digits++;
  return String(Number(v.toPrecision(digits)));
};
const xAt = (t) => `x<sub>${t}</sub>`;
// in the page's maths font: a monospace font gives the combining hat a cell of its own, and it
// sat over the bracket after the epsilon (a trial); x's hat there is in place
const EPS_HAT = '<var>&epsilon;&#770;</var>';
function drawStepFormula(t) {
  const { line, note } = stepFormula(t);
  $('rev-formula').innerHTML = `${line}<br><span class="small muted">${note}</span>`;
}
function stepFormula(t) {
  const tr = app.traj;
  let line, note;
  if (t === null) {
    line = `x<sub>t&minus;1</sub> = (x<sub>t</sub> &minus; &beta;<sub>t</sub>/&radic;(1&minus;&alpha;&#772;<sub>t</sub>)&middot;${EPS_HAT})` +
      ' / &radic;&alpha;<sub>t</sub> + &sigma;<sub>t</sub>&middot;z';
    note = 'the reverse step (Ho et al., Algorithm 2), z ~ N(0, I): a sample writes it out with its numbers at each t';
  } else if (t === 0) {
    line = `${xAt(0)}: the sample, where the chain ends`;
    note = 'no step is taken from it';
  } else {
    const k = reverseStepCoefficients(tr.sched, t, { sigma: tr.sigma, clip: tr.clip });
    const noise = k.noise > 0 ? ` + ${coef(k.noise)}&middot;z` : '';
    const sd = tr.sigma === 'beta' ? '&beta;<sub>t</sub>' : '&beta;&#771;<sub>t</sub>';
    const end = t > 1 ? ` and &sigma;<sub>t</sub> = &radic;${sd} at t = ${t}; z ~ N(0, I)` : ' at t = 1; the last step adds no noise';
    if (k.form === 'eps') {
      line = `${xAt(t - 1)} = ${coef(k.scale)}&middot;(${xAt(t)} &minus; ${coef(k.eps)}&middot;${EPS_HAT})${noise}`;
      note = `1/&radic;&alpha;<sub>t</sub>${t > 1 ? ',' : ' and'} &beta;<sub>t</sub>/&radic;(1&minus;&alpha;&#772;<sub>t</sub>)${end}`;
    } else {
      line = `${xAt(t - 1)} = ${coef(k.x0)}&middot;x&#770;<sub>0</sub> + ${coef(k.xt)}&middot;${xAt(t)}${noise}`;
      note = `the mean of q(x<sub>t&minus;1</sub> | x<sub>t</sub>, x&#770;<sub>0</sub>) for the clipped x&#770;<sub>0</sub>${t > 1 ? ',' : ''}${end}`;
    }
  }
  return { line, note };
}
// the step whose formula line is the longest (in characters, which the width follows): where
// the line takes two lines, that one does first (at 390 px, t = 45 did, where t = 1 and 50 did
// not, and the figures below moved a line during playback)
function longestFormulaT(T) {
  let longest = 2, most = 0;
  for (let t = 2; t <= T; t++) {
    const length = stepFormula(t).line.replace(/<[^>]*>/g, '').replace(/&#?\w+;/g, '.').length;
    if (length > most) [longest, most] = [t, length];
  }
  return longest;
}

// show the state of the chain at timestep t (T = pure noise, 0 = the sample)
export function showStep(t) {
  const tr = app.traj;
  if (!tr) return;
  t = Math.max(0, Math.min(tr.T, t));
  if (app.play.shownT === t) return;
  app.play.shownT = t;
  drawImage($('sample-xt').getContext('2d'), tr.x, tr.S, t * tr.D);
  drawImage($('sample-eps').getContext('2d'), tr.epsPred, tr.S, t * tr.D);
  drawImage($('sample-x0').getContext('2d'), tr.x0Pred, tr.S, t * tr.D);
  drawCaptions(t);
  $('scrub').value = String(tr.T - t);
  $('scrub').setAttribute('aria-valuetext', `t = ${t}`);
  $('scrub-out').textContent = `t = ${t}`;
  document.body.dataset.shownT = String(t);
  reveal(t);
  markStripLabel(t);
  markSample();
}

// What the sample comes to (its final MSE and verdict, the strip's frames, the MSE curve) is shown
// as the chain reaches it: while a new chain plays from x_T they wait, so that the square is seen
// to come out of the noise before the page says it did (a trial read "this sample is the red
// square" under pure noise at t = 84, and the strip showed the square from the start). Any stop
// of the playback (its end, Pause, Step, the slider, the strip) shows them all, as does a system
// that asks for less motion (nothing plays); a new sample replacing a chain mid-play does not
// (the old verdict flashed for a few frames). The verdict waiting keeps its place and the curve
// its axes: nothing moves as they come.
function reveal(t) {
  const tr = app.traj;
  if (!tr || t >= tr.revealed) return;
  const frameReached = Array.from({ length: STRIP_STRIDES + 1 }, (_, k) => stripT(tr.T, k)).some((ft) => ft >= t && ft < tr.revealed);
  tr.revealed = t;
  if (frameReached) drawSampleStrip();
  drawMSEPlot();
  drawChainPlot();
  if (t === 0) {
    drawSampleVerdict();   // written again as it shows, for a screen reader to read it then
    showResult(true);
    app.lastSeen[tr.preset] = { mse: tr.finalMse, step: tr.step };
  }
}
// the final MSE ("–" until shown) and the verdict (in its place, unseen until shown)
function showResult(shown) {
  $('stat-mse').textContent = shown ? formatNumber(app.traj.finalMse) : '–';
  $('sample-verdict').classList.toggle('veiled', !shown);
}

// the step shown, marked on the two sampling plots
function markSample() {
  const tr = app.traj, t = tr ? app.play.shownT : null;
  setMarker($('plot-mse'), t, t === null ? '' : `t = ${t}: ${formatNumber(tr.mseCurve[t])}`);
  setMarker($('plot-chain'), t, t === null ? '' : `t = ${t}: image ${tr.along.signal[t].toFixed(2)}, noise ${tr.along.noise[t].toFixed(2)}`);
  // x_0 is the chain's end: no step is taken from it, so no variance applies there; the step from
  // t = 1 adds no noise (the curves stop at t = 2). Elsewhere the variance the sample's step used
  const variance = (t) => (tr.sigma === 'beta' ? tr.sched.beta : tr.sched.posterior_variance)[t];
  setMarker($('plot-sigma'), t, t === null ? '' : t === 0 ? 't = 0: the end, no step' : t === 1 ? 't = 1: no noise added'
    : `t = ${t}: ${formatNumber(variance(t))}`);
}

export function drawMSEPlot() {
  const th = theme(), tr = app.traj;
  const T = tr ? tr.T : app.view ? app.view.T : 100;
  // the curve in words, for a screen reader (the canvas is an image); while the chain plays, as
  // far as it has come (the curve is drawn so far, on the axes of the whole: reveal)
  $('plot-mse').setAttribute('aria-label', 'MSE between the predicted clean image and the training image at each reverse step: ' +
    (!tr ? 'no sample yet' : tr.revealed > 0 ? `drawn as the chain plays, now at t = ${tr.revealed}`
      : `${formatNumber(tr.mseCurve[T])} at t = ${T}, ${formatNumber(tr.mseCurve[Math.round(T / 2)])} at t = ${Math.round(T / 2)}, ` +
        `${formatNumber(tr.mseCurve[1])} at t = 1 and ${formatNumber(tr.mseCurve[0])} for the sample; the paper's bar is ${MSE_BAR}`));
  linePlot($('plot-mse'), {
    height: 194, xRange: [0, T], xReversed: true, yLog: true, xLabel: 't (reverse: T → 0)',
    empty: 'Press Sample.',
    series: tr ? [
      { y: tr.mseCurve, shownFrom: tr.revealed, color: th.accent, width: 2, label: 'MSE(x̂₀, training image)' },
      { y: new Float32Array(T + 1).fill(MSE_BAR), color: th.muted, width: 1, dash: [2, 3], label: `${MSE_BAR} (the paper's bar)`, reference: true },
    ] : [],
  });
  markSample();
}

// The chain against the forward process: how much of the training image each x_t of the chain
// holds, and how much else, beside what the forward process puts in an x_t at that t (alongImage)
export function drawChainPlot() {
  const th = theme(), tr = app.traj;
  const T = tr ? tr.T : app.view ? app.view.T : 100;
  const at = (t) => `t = ${t}: image ${tr.along.signal[t].toFixed(2)} (forward process ${tr.sched.sqrt_alpha_bar[t].toFixed(2)}), ` +
    `noise ${tr.along.noise[t].toFixed(2)} (forward process ${tr.sched.sqrt_one_minus_alpha_bar[t].toFixed(2)})`;
  $('plot-chain').setAttribute('aria-label', 'The image and the noise in each x t of the chain, beside the forward process: ' +
    (!tr ? 'no sample yet' : tr.revealed > 0 ? `drawn as the chain plays, now at t = ${tr.revealed}`
      : [T, Math.round(T / 2), 0].map(at).join('; ')));
  // (the signal in accent2 and the noise in accent, as the noise schedule's plot of the same two
  // coefficients has them: a trial found them the other way round here)
  const forward = { width: 1.25, dash: [5, 4], reference: true };
  linePlot($('plot-chain'), {
    height: 194, xRange: [0, T], xReversed: true, xLabel: 't (reverse: T → 0)',
    empty: 'Press Sample.',
    series: tr ? [
      { y: tr.along.signal, shownFrom: tr.revealed, color: th.accent2, width: 2, label: 'image in xₜ' },
      { y: tr.sched.sqrt_alpha_bar, color: th.accent2, label: '√ᾱₜ (forward)', ...forward },
      { y: tr.along.noise, shownFrom: tr.revealed, color: th.accent, width: 2, label: 'noise in xₜ' },
      { y: tr.sched.sqrt_one_minus_alpha_bar, color: th.accent, label: '√(1−ᾱₜ) (forward)', ...forward },
    ] : [],
  });
  markSample();
}

export function drawSigmaPlot() {
  if (!app.view) return;
  const th = theme(), s = app.view.sched, T = app.view.T;
  const useTilde = app.settings.sigma === 'beta-tilde';
  const chosen = { width: 2.5 }, other = { width: 1.25, dash: [5, 4], alpha: 0.8, reference: true };
  linePlot($('plot-sigma'), {
    height: 194, xRange: [0, T], xReversed: true, yLog: true, xLabel: 't (reverse: T → 0)',
    series: [
      // from t = 2: the step from t = 1 adds no noise whichever is chosen (c/sampler.c), and a
      // point of beta at t = 1 read as a variance it adds (a trial; beta tilde's 0 has no place on
      // a log scale anyway)
      { y: s.beta, from: 2, color: th.accent, label: `σₜ² = βₜ${useTilde ? '' : ' (in use)'}`, ...(useTilde ? other : chosen) },
      { y: s.posterior_variance, from: 2, color: th.accent2, label: `σₜ² = β̃ₜ${useTilde ? ' (in use)' : ''}`, ...(useTilde ? chosen : other) },
    ],
  });
  markSample();
}

// ---------------------------------------------------------------------------------------------
// playback

export function play() {
  const tr = app.traj;
  if (!tr) return;
  if (app.play.pos >= tr.T) app.play.pos = 0;
  app.play.playing = true;
  document.body.dataset.sample = 'playing';
  $('btn-play').textContent = 'Pause';
  // named for what it pauses: while training runs, Train's Pause is a button of the same word
  $('btn-play').setAttribute('aria-label', 'Pause the chain');
  const loop = ++app.play.loop;
  requestAnimationFrame(() => playFrame(loop));
}

export function stopPlaying({ reveal: showAll = true } = {}) {
  app.play.playing = false;
  app.play.loop++;
  if (showAll) reveal(0);
  if (app.traj) document.body.dataset.sample = 'stopped';
  $('btn-play').textContent = 'Play';
  $('btn-play').setAttribute('aria-label', 'Play the chain');
}

function playFrame(loop) {
  const tr = app.traj;
  if (loop !== app.play.loop || !tr || !app.play.playing) return;
  app.play.pos = Math.min(tr.T, app.play.pos + Number(app.settings.speed));
  showStep(tr.T - Math.floor(app.play.pos));
  if (app.play.pos >= tr.T) stopPlaying();
  else requestAnimationFrame(() => playFrame(loop));
}

// ---------------------------------------------------------------------------------------------
// the sample settings

export function onSampleField(ev) {
  const el = ev.target;
  if (el.name === 'sigma') app.settings.sigma = el.value;
  else if (el.id === 'clip') app.settings.clip = el.checked;
  else if (el.id === 'speed') app.settings.speed = el.value;
  else if (el.id === 'sample-seed') {
    const v = parseField('sample', el.value), refusal = `The sample seed must be ${describeField('sample')}. It stays ${app.settings.sample} until it is.`;
    el.setCustomValidity(v === undefined ? refusal : '');
    // as the train fields do: while typing ('input') only mark the field (and Sample) valid or
    // not; a field cleared to type a new seed is not an error yet. The value is taken, or
    // refused aloud, when it is complete ('change': Enter, or leaving the field).
    if (ev.type === 'input') {
      if (v !== undefined && $('sample-message').textContent === refusal) showMessage($('sample-message'), '');
      setState(app.state);
      return;
    }
    if (v === undefined) {
      showMessage($('sample-message'), el.validationMessage);
      setState(app.state);
      return;
    }
    showMessage($('sample-message'), '');
    app.settings.sample = v;
  }
  settingsToURL(app.settings);
  setState(app.state);
  if (el.id === 'speed') return;
  drawSigmaPlot();
  // a trajectory on screen, or one being computed, is redone with the new setting, so the two
  // can be compared at once (the verdict gives the MSE before)
  if ((app.traj || app.sampling) && ev.type === 'change') doSample(changedFrom(app.traj));
}

// what the panel's settings now change from the sample on screen, and that sample's MSE; none
// for a sample whose MSE never showed (replaced mid-play: a trial read a 'was' never seen)
function changedFrom(tr) {
  if (!tr || tr.revealed > 0) return null;
  const s = app.settings, what = [];
  const sigmaName = (v) => (v === 'beta' ? '&beta;<sub>t</sub>' : '&beta;&#771;<sub>t</sub>');
  if (s.sigma !== tr.sigma) what.push(`&sigma;<sub>t</sub><sup>2</sup> = ${sigmaName(s.sigma)}, was ${sigmaName(tr.sigma)}`);
  if (s.clip !== tr.clip) what.push(s.clip ? '<var>x&#770;<sub>0</sub></var> clipped, was not' : '<var>x&#770;<sub>0</sub></var> no longer clipped');
  if (s.sample !== tr.seed) what.push(`sample seed ${s.sample}, was ${tr.seed}`);
  return what.length ? { what: what.join('; '), mse: tr.finalMse, model: tr.model, step: tr.step } : null;
}
