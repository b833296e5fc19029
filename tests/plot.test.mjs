// The page's drawing helpers that hold a number (web/plot.mjs): the loss curve's moving average, and
// how a number is written on screen; and from train-view.mjs, the words for a loss that stays high
// and the cost estimates that size the work per frame and show on screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { movingGeoMean, formatNumber, formatDuration, logTicks, growingAxisEnd } from '../web/plot.mjs';
import { recordCost, measureClockStep } from '../web/train-view.mjs';
import { unlearntLoss, unlearntWhy, learningRateTooSmall, lossCurve, thisRunsPart } from '../web/loss-words.mjs';

test('the loss curve\'s moving average is a geometric mean: a lone spike lifts it by a factor, briefly', () => {
  const losses = new Float32Array(60).fill(0.1);
  losses[10] = 15;   // one step's draw answered badly, 150 times the others
  const avg = movingGeoMean(losses);
  assert.ok(Math.abs(avg[9] - 0.1) < 1e-6, 'a constant series is its own average (bias-corrected from step 1)');
  // at the spike, the 11th value, weighted 0.1 / (1 - 0.9^11) after bias correction: the mean of
  // the logs moves by that share of ln 150, so the average is 0.1 * 150^share (0.21), where a
  // plain average would read 0.1 + share * 14.9 (2.3)
  const share = 0.1 / (1 - 0.9 ** 11);
  assert.ok(Math.abs(avg[10] - 0.1 * 150 ** share) < 1e-5, `${avg[10]}`);
  // ten steps on, 22% above the points around it (150^(0.1 0.9^10 / (1 - 0.9^21))), where a plain
  // average would still read 0.68, almost 7 times them
  assert.ok(Math.abs(avg[20] - 0.1 * 150 ** (0.1 * 0.9 ** 10 / (1 - 0.9 ** 21))) < 1e-5, `${avg[20]}`);
  // a geometric mean of the same numbers in any order lies between their smallest and largest
  const noisy = Float32Array.from({ length: 200 }, (_, i) => 0.01 * (1 + (i * 7919 % 13)));
  for (const v of movingGeoMean(noisy)) assert.ok(v >= 0.01 - 1e-9 && v <= 0.13 + 1e-9);
});

test('numbers on screen: rounding carries into the exponent, and nothing short of 1 reads 1', () => {
  const cases = [
    [9.996e-5, '1.0e-4'], [1e-4, '1e-4'], [Math.fround(1e-4), '1e-4'], [-Math.fround(1e-4), '-1e-4'], [2e-5, '2e-5'], [2.04e-5, '2.0e-5'], [3.6e-5, '3.6e-5'],
    [99999, '1.0e5'], [12345, '1.2e4'], [-9.96e-4, '-1.0e-3'],
    [0.9999, '0.9999'], [0.99997, '0.99997'], [1, '1'], [0.36356, '0.364'], [0.00681, '0.00681'], [0, '0'],
    // a diverged value named as such (Infinity read 'InfinityeNaN')
    [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [NaN, 'NaN'],
  ];
  for (const [v, text] of cases) assert.equal(formatNumber(v), text, `${v}`);
});

// the trial read "ETA 0:41 min" and "Done: 600 steps in 0:14 min"
// (and a run of a few steps, a few ms, read "3 steps in 0.0 s": milliseconds below 0.05 s)
test('durations on screen: ms below 0.05 s, tenths below 10 s, seconds below a minute, then m:ss and h:mm:ss', () => {
  const cases = [
    [0, '0 ms'], [0.0123, '12 ms'], [0.0494, '49 ms'], [0.05, '0.1 s'], [3.14, '3.1 s'], [9.94, '9.9 s'], [9.96, '10 s'], [14.4, '14 s'], [41, '41 s'], [59.4, '59 s'],
    [59.6, '1:00 min'], [65, '1:05 min'], [3599, '59:59 min'], [3600, '1:00:00 h'], [7384, '2:03:04 h'],
    [-2, '0 ms'], [Infinity, '\u2013'], [NaN, '\u2013'],
  ];
  for (const [v, text] of cases) assert.equal(formatDuration(v), text, `${v}`);
});

test('a log axis has no more ticks than its height holds: a diverged loss spans 20 decades', () => {
  // a loss that blew up to 1e20 (lr = 1): one label per decade piled 22 labels into 160 px
  const wide = logTicks(1, 1e21, 10);
  assert.deepEqual(wide, [1, 1e3, 1e6, 1e9, 1e12, 1e15, 1e18, 1e21]);
  assert.deepEqual(logTicks(1e-3, 1e40, 6), [1e-0, 1e10, 1e20, 1e30, 1e40]);
  // room for every decade: every decade
  assert.deepEqual(logTicks(1e-4, 10, 10), [1e-4, 1e-3, 1e-2, 0.1, 1, 10]);
  // a narrow range keeps its 1, 2, 5 ticks while they fit, and falls back to decades when not
  assert.deepEqual(logTicks(0.01, 1, 10), [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
  assert.deepEqual(logTicks(0.01, 1, 4), [0.01, 0.1, 1]);
  // an axis with room for one label still gets two here (every 20th decade); the steps of 1, 2,
  // 3, 5 x 10^n can leave one tick on a very short axis (48 px or less: no plot here is)
  assert.deepEqual(logTicks(1, 1e21, 1), [1, 1e20]);
});

test('a loss stuck at about 1 at a learning rate too small to move the weights says so, and only then', () => {
  const flat = lossCurve(movingGeoMean(new Float32Array(200).fill(1)), 0);
  const paper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, predict: 'eps', batch: 1 };
  assert.equal(learningRateTooSmall(flat, paper), '');
  assert.match(unlearntWhy(flat, paper), /^ Noise prediction from one example per step/);
  // a trial's lr 1e-30: AdamW moves a weight by at most lr (1 - 0.9) / sqrt(1 - 0.999) = 3.16 lr a step
  const tiny = { ...paper, lr: 1e-30 };
  assert.equal(learningRateTooSmall(flat, tiny), ' At a learning rate of 1e-30, AdamW moves a weight by at most 3.2e-30 a step, ' +
    '6.3e-28 in 200 steps, where the weights start at a few hundredths: too little to learn anything (the presets train at 1e-3).');
  assert.equal(unlearntWhy(flat, tiny), learningRateTooSmall(flat, tiny), 'the rate is named first, whatever the preset');
  // the line: 200 steps at 1e-6 move a weight by 6.3e-4 at most (said), at 2e-6 by 1.3e-3 (not said)
  assert.notEqual(learningRateTooSmall(flat, { ...paper, lr: 1e-6 }), '');
  assert.equal(learningRateTooSmall(flat, { ...paper, lr: 2e-6 }), '');
  // betas where (1 - beta1) <= sqrt(1 - beta2): the bound is lr itself
  assert.match(learningRateTooSmall(flat, { ...paper, lr: 1e-6, beta1: 0.99, beta2: 0.9 }), /at most 1e-6 a step, 2e-4 in 200 steps/);
  // steps taken before this run's curve count: a loaded file's 100 steps and this run's 200
  assert.match(learningRateTooSmall(lossCurve(movingGeoMean(new Float32Array(200).fill(1)), 100), tiny), /in 300 steps/);
  // a curve that fell, or blew up, is not put down to its rate
  const falling = lossCurve(movingGeoMean(Float32Array.from({ length: 200 }, (_, i) => 1 - i / 400)), 0);
  assert.equal(learningRateTooSmall(falling, tiny), '');
  const blown = lossCurve(movingGeoMean(Float32Array.from({ length: 200 }, (_, i) => (i >= 50 && i < 80 ? 1e6 : 1))), 0);
  assert.equal(learningRateTooSmall(blown, tiny), '');
});

test('a loss still high is called stuck when it has not moved, begun to fall when it has, and blown up when it rose far', () => {
  const words = (early, end, peak = Math.max(early, end)) => unlearntLoss({ early, peak, peakStep: 1, end });
  // the paper preset: batch 1 stays at ~1.0; batch 16 falls from 1.01 to 0.85 in 200 steps
  assert.equal(words(0.99, 1.008), 'is still 1.01, about what predicting all zeros scores: the network has not learnt its target');
  assert.equal(words(1.01, 0.854), 'fell from 1.01 to 0.854, but is still more than half of what predicting all zeros ' +
    'scores (1): the network has only begun to learn its target');
  // the early value is the average after 10 steps, not one step's draw
  const average = movingGeoMean(Float32Array.from({ length: 60 }, (_, i) => (i ? 1 : 1.2)));
  const curve = lossCurve(average, 0);
  assert.ok(curve.early < 1.05, `${curve.early}: a high first step is averaged in`);
  assert.match(unlearntLoss(curve), /^is still 1[.0-9]*, about what/, 'stuck, not fallen from the first step');
  // lr = 1 on the page: the loss rose to ~1e20 within a few steps, and its average at step 10
  // (8e12) was then called where it "fell from", to 7.9, "only begun to learn"
  const losses = Float32Array.from({ length: 100 }, (_, i) => (i < 3 ? 1 : i < 10 ? 1e20 : 8));
  const blown = lossCurve(movingGeoMean(losses), 200);
  assert.equal(blown.peakStep, 210, 'the highest average is that of the last exploded step, step 200 + 10');
  const said = unlearntLoss(blown);
  assert.match(said, /^rose to \S+ at step 210, far above what predicting all zeros scores \(1\), and ended at 8(\.\d+)?: /);
  assert.match(said, /smaller learning rate/);
  assert.doesNotMatch(said, /begun to learn/);
  // an average that never went past 10 times the all-zeros score is no blow-up
  assert.match(words(1.5, 1.0, 9), /^fell from 1.5 to 1, /);
  // under 10 steps there is no early value to compare with: too few to tell (a run of 2 steps,
  // its average down to 0.852, was called "still ... about what predicting all zeros scores")
  const short = lossCurve(movingGeoMean(Float32Array.of(1.01, 0.3)), 0);
  assert.equal(short.steps, 2);
  assert.equal(unlearntLoss(short), `is ${formatNumber(short.end)} after 2 steps, too few to tell whether the network is learning its target`);
  assert.match(unlearntLoss(lossCurve(movingGeoMean(Float32Array.of(0.9)), 0)), /after 1 step, too few/);
  // a blow-up is one however short
  assert.match(unlearntLoss(lossCurve(movingGeoMean(Float32Array.of(1, 1e20, 1e20)), 0)), /^rose to /);
  // until 20 steps the value at step 10 is too near the end to compare: 10 to 19 steps falling
  // evenly from 1.0 to 0.6 read "is still ..., about what predicting all zeros scores" (a review)
  for (const n of [10, 12, 19]) {
    const falling = lossCurve(movingGeoMean(Float32Array.from({ length: n }, (_, i) => 1 - (0.4 * i) / (n - 1))), 0);
    assert.match(unlearntLoss(falling), new RegExp(`after ${n} steps, too few to tell`), `${n} steps`);
  }
  const twenty = lossCurve(movingGeoMean(Float32Array.from({ length: 40 }, (_, i) => 1 - (0.4 * i) / 39)), 0);
  assert.match(unlearntLoss(twenty), /^fell from /);
  // a curve that begins at a file's step (no losses before it) is named by its steps, not "after 2
  // steps" for a model that has trained 1,002
  assert.match(unlearntLoss(lossCurve(movingGeoMean(Float32Array.of(0.9, 0.8)), 1000)), /^is \S+ over steps 1001 to 1002, too few to tell/);
});

test("a resumed run's own part of the loss curve is said, and its own blow-up named where the whole's is another", () => {
  // a file's 200 steps: a blow-up at steps 5..9 (lr 0.01), then a fall to 0.01; then this run, steps
  // 201..260, resumed with AdamW afresh: a second, smaller blow-up at steps 211..218, then 0.02
  const losses = Float32Array.from({ length: 260 }, (_, i) =>
    (i >= 4 && i < 9 ? 1e12 : i >= 210 && i < 218 ? 1e4 : i < 4 ? 1 : i < 200 ? 0.01 : 0.02));
  const average = movingGeoMean(losses), curve = lossCurve(average, 0);
  assert.equal(curve.peakStep, 9, "the whole curve's peak is the file's");
  const part = thisRunsPart(average, 0, 200, curve);
  const ownPeak = lossCurve(average.slice(200), 200);
  assert.equal(ownPeak.peakStep, 218);
  assert.ok(ownPeak.peak > 10 && ownPeak.peak < curve.peak, `${ownPeak.peak}`);
  assert.equal(part, ` (in this run, from ${formatNumber(average[199])} at step 200; it rose to ${formatNumber(ownPeak.peak)} at step 218)`);
  // a run whose peak is the whole curve's: the main clause names it, the part does not again
  const later = Float32Array.from({ length: 260 }, (_, i) => (i >= 210 && i < 214 ? 1e6 : i < 200 ? 0.01 : 0.02));
  const laterAverage = movingGeoMean(later), laterCurve = lossCurve(laterAverage, 0);
  assert.equal(laterCurve.peakStep, 214);
  // (this run ends at 0.02, above the 0.01 it began at: said)
  assert.equal(thisRunsPart(laterAverage, 0, 200, laterCurve), ` (in this run it rose, from ${formatNumber(laterAverage[199])} at step 200)`);
  // a quiet resumed run: no rise; a file whose curve starts late (lossFrom 50) counts from there
  const quiet = Float32Array.from({ length: 210 }, (_, i) => (i < 5 ? 1 : 0.01));
  const quietAverage = movingGeoMean(quiet);
  assert.equal(thisRunsPart(quietAverage, 50, 250, lossCurve(quietAverage, 50)), ` (in this run, from ${formatNumber(quietAverage[199])} at step 250)`);
  // a file saved soon after a blow-up: this run starts high and falls; its first value is its
  // highest, and no rise (it said "it rose to 2.9e6 at step 201", from 2.3e7: a review)
  const soon = Float32Array.from({ length: 260 }, (_, i) => (i >= 190 && i < 200 ? 1e12 : i < 200 ? 0.05 : 0.02));
  const soonAverage = movingGeoMean(soon), soonCurve = lossCurve(soonAverage, 0);
  assert.ok(soonAverage[199] > 10 && soonAverage[200] > 10, 'the case: above 10 as this run starts');
  assert.equal(thisRunsPart(soonAverage, 0, 200, soonCurve), ` (in this run, from ${formatNumber(soonAverage[199])} at step 200)`);
  // a part that rises with no blow-up (AdamW afresh after a weights-only file): said to rise,
  // where the whole still fell
  const afresh = Float32Array.from({ length: 35 }, (_, i) => (i < 30 ? 1 - i / 31 : 0.5));
  const afreshAverage = movingGeoMean(afresh);
  assert.ok(afreshAverage[34] > afreshAverage[29] && afreshAverage[34] < afreshAverage[0]);
  assert.equal(thisRunsPart(afreshAverage, 0, 30, lossCurve(afreshAverage, 0)), ` (in this run it rose, from ${formatNumber(afreshAverage[29])} at step 30)`);
  // a run of its own, or a curve that holds none of this run's steps: nothing to add
  assert.equal(thisRunsPart(average, 0, 0, curve), '');
  assert.equal(thisRunsPart(average, 0, 260, curve), '');
});

test('a cost estimate is the median of the last measurements: one preempted slice does not move it', () => {
  const recent = [];
  let estimate;
  for (let i = 0; i < 9; i++) estimate = recordCost(recent, 1.5e-6);
  // a slice the machine preempted reads 40x its cost: a moving average weighting it 0.2 read 8.8x
  assert.equal(recordCost(recent, 6e-5), 1.5e-6);
  for (let i = 0; i < 3; i++) estimate = recordCost(recent, 1.5e-6);
  assert.equal(estimate, 1.5e-6);
  // a lasting change (the machine got slower) is taken up within five measurements (four here:
  // the high one still in the window counts on the high side)
  const seen = [];
  for (let i = 0; i < 6; i++) seen.push(recordCost(recent, 3e-6));
  assert.deepEqual(seen, [1.5e-6, 1.5e-6, 1.5e-6, 3e-6, 3e-6, 3e-6]);
  // only the last 9 count
  assert.equal(recent.length, 9);
  // of an even count, the upper middle value: slices sized from it are the smaller
  assert.equal(recordCost([1], 2), 2);
});

test('the loss axis ends at the plan, or for a long plan barely begun at twice the steps reached, rounded up to 1, 2 or 5 x 10^k', () => {
  // plans of up to 1000 steps: the plan, from the first step (the curve fills the axis as it goes)
  for (const planned of [1, 200, 999, 1000]) {
    for (const reached of [0, 1, planned >> 1, planned]) assert.equal(growingAxisEnd(reached, planned), planned);
  }
  // a long plan: 1000 until step 500, then 2000, 5000, ... and the plan from half way
  const cases = [[0, 1000], [44, 1000], [500, 1000], [501, 2000], [1000, 2000], [1001, 5000], [2501, 10000], [24999, 50000],
    [25001, 99999], [49999, 99999], [99999, 99999]];
  for (const [reached, end] of cases) assert.equal(growingAxisEnd(reached, 99999), end, `step ${reached} of 99,999`);
  // it never moves back as the run goes on, and the curve always fits: at most half of it (a
  // long plan barely begun) or all of the axis (the plan)
  for (const planned of [1500, 20000, 100000]) {
    let last = 0;
    for (let reached = 0; reached <= planned; reached += 7) {
      const end = growingAxisEnd(reached, planned);
      assert.ok(end >= last && end >= reached && end <= planned, `${reached} of ${planned}: ${end} after ${last}`);
      assert.ok(end === planned || reached <= end / 2, `${reached} of ${planned}: ${end}`);
      last = end;
    }
  }
});

// The page takes a slice of work to have lasted at least one step of the browser's clock, which
// it measures once. A step read across a pause of the page's thread spans two: a CI run on a busy
// machine measured 0.2 ms of Chromium's 0.1 from the one step the page used to time. Clocks made
// of reads: each read moves the time on by a fiftieth of a step.
test('the clock\'s step: the smallest of a few whole steps, so one read across a pause does not double it', () => {
  const clock = (step, skipAt = -1) => {
    let reads = 0;
    return () => {
      const tick = Math.floor(reads++ / 50);
      return (tick >= skipAt && skipAt >= 0 ? tick + 1 : tick) * step;
    };
  };
  assert.ok(Math.abs(measureClockStep(clock(0.1)) - 0.1) < 1e-12);
  // the first whole step timed spans two ticks (tick 2 skipped), as across a pause
  assert.ok(Math.abs(measureClockStep(clock(0.1, 2)) - 0.1) < 1e-12);
  assert.equal(measureClockStep(clock(16)), 16);
  assert.equal(measureClockStep(clock(50)), 20, 'at most 20 ms');
  assert.equal(measureClockStep(() => 7), 1, 'a clock that does not move: 1 ms');
});

