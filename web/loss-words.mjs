// loss-words.mjs -- what a run's loss curve says, in words: a moving average of the loss read as
// learnt, begun to fall, stuck, blown up (and back) or too short to tell, for the page's Done line
// and sample verdict and the command line's summary alike. Words and thresholds only: no drawing.
import { formatNumber } from './plot.mjs';

// Predicting all zeros scores a loss of 1 for either target (eps ~ N(0, I); x0 is all +-1): a loss
// still above half of that means the network has not learnt its target.
export const UNLEARNT_LOSS = 0.5;
// a loss still above UNLEARNT_LOSS that has fallen below this share of where it started is said
// to have begun to fall (the paper preset at batch 16: 1.01 to 0.85), not to be stuck
const LOSS_BEGUN_TO_FALL = 0.9;

// a moving average of the loss that rose above this many times what predicting all zeros scores
// blew up: the steps threw the weights off (lr = 0.05 took it to 2.6e7, lr = 1 to 8e12)
const BLOWN_UP_LOSS = 10;

// What the words below need of a moving average of the loss whose first value is that of step
// from + 1: its value after its first EARLY_STEPS steps (one step's loss moves by a few percent
// with its draw, enough to fake a fall from step 1 alone), its highest value and that step, its
// last, and the steps it holds.
const EARLY_STEPS = 10;
export function lossCurve(average, from = 0) {
  let peakAt = 0;
  for (let i = 1; i < average.length; i++) if (average[i] > average[peakAt]) peakAt = i;
  return {
    early: average[Math.min(EARLY_STEPS - 1, average.length - 1)] ?? NaN,
    peak: average[peakAt] ?? NaN, peakStep: from + peakAt + 1,
    end: average.at(-1) ?? NaN, from, steps: average.length,
  };
}

// A moving average of the loss (lossCurve) that went past BLOWN_UP_LOSS on its way: blown up,
// whether or not it came back (the sample's verdict then gives no "train it on")
export const lossBlewUp = (curve) => curve.peak > BLOWN_UP_LOSS;

// Which way a moving average of the loss (lossCurve) that ends above UNLEARNT_LOSS went: blown up,
// begun to fall, stuck, or too short to tell. A blow-up is said first: measured from its peak, the
// fall back to about 1 read as a network that had "begun to learn". Before EARLY_STEPS steps there
// is no early value to compare with: a run of 2 steps, its average 0.852, was called "still about
// what predicting all zeros scores" (a trial); and until as many again, the early value is too
// near the end to compare (10 to 12 steps falling from 1.0 to 0.6 read "still": a review).
function lossTrend(curve) {
  const { early, end, steps } = curve;
  if (lossBlewUp(curve)) return 'blown up';
  if (steps < 2 * EARLY_STEPS) return 'too short';
  return end < LOSS_BEGUN_TO_FALL * early ? 'begun to fall' : 'stuck';
}

// A moving average that blew up on the way and came back down below UNLEARNT_LOSS: said so, or
// the run would read as healthy (an expert trial: lr 0.01 rose to 310 at step 9, and the Done line
// said only that it fell from 1.01 to 0.123)
export function blewUpOnTheWay(curve) {
  return curve.end < UNLEARNT_LOSS && lossBlewUp(curve);
}
const THREW_OFF = 'updates too large for this model threw its weights off';
const IN_CHECK = 'a smaller learning rate keeps them in check';
export function blowUpRecovered({ peak, peakStep, end }, lastStep) {
  return `rose to ${formatNumber(peak)} at step ${peakStep}, far above what predicting all zeros scores (1), before it fell ` +
    `to ${formatNumber(end)} at step ${lastStep}: ${THREW_OFF} on the way; ${IN_CHECK}`;
}

// The way a curve went from a to b, in its words (b no higher as written: fell). A run can end
// above where it began: AdamW afresh after a weights-only file (a trial read "fell from 0.00204
// at step 101 to 0.0172 at step 150", and one read "fell ... (in this run, from 0.0828 at step 30)")
export const fellOrRose = (a, b) => (b > a && formatNumber(b) !== formatNumber(a) ? 'rose' : 'fell');

// Where the curve (lossCurve of the moving average `average`, its first value step lossFrom + 1)
// began before this run, which began after step `from` (a loaded file's steps), this run's own
// part in words: it can go the other way (AdamW afresh after a weights-only file), and it can
// blow up on its own. Said with the whole alone, a file that blew up at step 9 and was resumed
// at lr 0.01, rising past 10 again, read as one blow-up, at step 9. Empty for a run of its own.
export function thisRunsPart(average, lossFrom, from, curve) {
  const start = from - lossFrom;   // this run's first average: average[start] is step from + 1
  if (start < 1 || start >= average.length) return '';
  // a rise is one above where this run began: a file saved soon after a blow-up starts this run
  // high, and the part's first, falling, value is then its highest (a review)
  const part = lossCurve(average.slice(start), from);
  const rise = part.peak > BLOWN_UP_LOSS && part.peak > average[start - 1] && part.peakStep !== curve.peakStep
    ? `; it rose to ${formatNumber(part.peak)} at step ${part.peakStep}` : '';
  // a part that ends above where it began, with no blow-up to name, is said to rise: the whole
  // can fall while this run's part goes up (AdamW afresh after a weights-only file: a trial read
  // "fell ... (in this run, from 0.0828 at step 30)" of a run that rose to 0.119)
  const first = formatNumber(average[start - 1]);
  const up = !rise && fellOrRose(average[start - 1], average[average.length - 1]) === 'rose' ? ' it rose' : '';
  return ` (in this run${up}, from ${first} at step ${from}${rise})`;
}

export const stepsInWords = (n) => (n === 1 ? '1 step' : `${n} steps`);

// The words for it
export function unlearntLoss(curve) {
  const { early, peak, peakStep, end } = curve, trend = lossTrend(curve);
  if (trend === 'blown up') {
    return `rose to ${formatNumber(peak)} at step ${peakStep}, far above what predicting all zeros scores (1), and ended at ` +
      `${formatNumber(end)}: ${THREW_OFF}; ${IN_CHECK}`;
  }
  if (trend === 'too short') {
    // (the steps of the curve: a file's may begin at its step, with no losses before it)
    const over = curve.from ? `over steps ${curve.from + 1} to ${curve.from + curve.steps}` : `after ${stepsInWords(curve.steps)}`;
    return `is ${formatNumber(end)} ${over}, too few to tell whether the network is learning its target`;
  }
  return trend === 'begun to fall'
    ? `fell from ${formatNumber(early)} to ${formatNumber(end)}, but is still more than half of what predicting all zeros ` +
      'scores (1): the network has only begun to learn its target'
    : `is still ${formatNumber(end)}, about what predicting all zeros scores: the network has not learnt its target`;
}

// A learning rate too small to learn with: AdamW moves a weight by at most lr (1 - beta1) /
// sqrt(1 - beta2) a step where 1 - beta1 > sqrt(1 - beta2), else by lr (Kingma & Ba's bound; 3.2
// lr at the presets' betas), and weights that start at a few hundredths (up to 1 / sqrt(fan_in):
// 0.031 to 0.088 here) must move far more than a thousandth to learn. A trial's lr 1e-30 was
// accepted, and the run was told only that the network had not learnt. Empty unless the loss is
// stuck and the bound over the steps taken is under a thousandth. config is a model's (its betas
// always there: a missing one makes the bound NaN, and nothing is said).
const TOO_LITTLE_MOVEMENT = 1e-3;
export function learningRateTooSmall(curve, config) {
  if (lossTrend(curve) !== 'stuck') return '';
  const lr = Number(config.lr), b1 = Number(config.beta1), b2 = Number(config.beta2);
  const perStep = lr * Math.max(1, (1 - b1) / Math.sqrt(1 - b2)), steps = curve.from + curve.steps;
  if (!(perStep * steps < TOO_LITTLE_MOVEMENT)) return '';
  return ` At a learning rate of ${formatNumber(lr)}, AdamW moves a weight by at most ${formatNumber(perStep)} a step, ` +
    `${formatNumber(perStep * steps)} in ${stepsInWords(steps)}, where the weights start at a few hundredths: too little to learn ` +
    'anything (the presets train at 1e-3).';
}

// Why a loss stuck at about 1 is stuck, where this page knows: a learning rate too small to move
// the weights (above), or noise prediction from one example per step (the paper preset), which
// does not learn here, as README "Presets" measures with the command line. Empty for anything
// else (a blow-up has its own words, and other settings no measurement).
export function unlearntWhy(curve, config, { brief = false } = {}) {
  const tooSmall = learningRateTooSmall(curve, config);
  if (tooSmall) return tooSmall;
  if (lossTrend(curve) !== 'stuck' || config.predict !== 'eps' || Number(config.batch) !== 1) return '';
  // the sample's verdict, often read after the Done line: the same in fewer words (the Done line
  // may be gone, after a Save or for a loaded file, so it does not point there), as HTML; the
  // Done line is plain text (a live region's), which writes x_t as xₜ
  if (brief) {
    return ' Noise prediction from one example per step does not learn here (on the command line: about 1 after 6,400 ' +
      'steps, 0.73 with the same examples in batches of 16), most likely because the gradient of one example varies too much ' +
      'from step to step: the target is a new vector each time, tied to <var>x<sub>t</sub></var> by a gain of up to 100.';
  }
  // (not label noise: for one image the target is exact, a function of x_t and t)
  return ' Noise prediction from one example per step does not learn here: on the command line the loss stays at ' +
    'about 1 for 6,400 steps, where the same 6,400 examples in batches of 16 bring it to 0.73. Most likely the gradient ' +
    'of one example varies too much from step to step: the target is exact (the noise that made xₜ from the image), but ' +
    'a new vector every step, tied to xₜ by a gain from 1.25 to 100 that changes with t, and 16 examples average what one ' +
    'cannot. The recommended preset predicts the clean image instead, the same target at every step.';
}
