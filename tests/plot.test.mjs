// The page's drawing helpers that hold a number (web/plot.mjs): the loss curve's moving average, and
// how a number is written on screen; and the words for a loss that stays high (train-view.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { movingGeoMean, formatNumber } from '../web/plot.mjs';
import { unlearntLoss, earlyLoss } from '../web/train-view.mjs';

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
  ];
  for (const [v, text] of cases) assert.equal(formatNumber(v), text, `${v}`);
});

test('a loss still high is called stuck when it has not moved, and begun to fall when it has', () => {
  // the paper preset: batch 1 stays at ~1.0; batch 16 falls from 1.01 to 0.85 in 200 steps
  assert.equal(unlearntLoss(0.99, 1.008), 'is still 1.01, about what predicting all zeros scores: the network has not learnt its target');
  assert.equal(unlearntLoss(1.01, 0.854), 'fell from 1.01 to 0.854, but is still more than half of what predicting all zeros ' +
    'scores (1): the network has only begun to learn its target');
  // the early value is the average after 10 steps, not one step's draw
  const average = movingGeoMean(Float32Array.from([1.2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
  assert.ok(earlyLoss(average) < 1.05, `${earlyLoss(average)}: a high first step is averaged in`);
  assert.match(unlearntLoss(earlyLoss(average), 1.0), /^is still 1, /);
});
