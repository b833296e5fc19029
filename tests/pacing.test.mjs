// The page's pacing of training (web/pacing.mjs), on machines simulated frame by frame: how long
// each frame takes given the work the pacing gave it. No browser and no clock: the same frames
// give the same levels.
import test from 'node:test';
import assert from 'node:assert/strict';
import { LEVELS, newPacing, pace } from '../web/pacing.mjs';

// Run the pacing over `frames` frames; frameMs(work, i) is the interval that frame i ends with
// when it did `work` ms of training (0 on a frame the level leaves idle), as train-view.mjs's
// loop gives it. Returns the level of each frame, its interval and its work.
function simulate(frameMs, frames) {
  const p = newPacing(), levels = [], intervals = [], works = [];
  for (let i = 0; i < frames; i++) {
    const [budget, every] = LEVELS[p.level];
    const work = p.frame++ % every === 0 ? budget : 0;
    levels.push(p.level);
    works.push(work);
    const interval = frameMs(work, i);
    intervals.push(interval);
    pace(p, interval);
  }
  return { levels, intervals, works };
}
const share = (xs, f) => xs.filter(f).length / xs.length;
// a display's frame: 16.7 ms, or a whole number of them for a frame that missed its turn
const vsync = (busy) => Math.ceil(busy / 16.7) * 16.7;
// a repeatable stream of numbers in [0, 1)
function uniforms(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('frames made late by the work: the pacing steps down until they are on time, and stays about there', () => {
  // the page's drawing takes 11 ms of each frame: with 8 ms of training it misses the display's
  // turn, with 4 it makes it
  const { levels, intervals } = simulate((work) => vsync(11 + work), 3000);
  const late = share(intervals.slice(600), (x) => x > 20);
  assert.ok(late < 0.05, `late frames once settled: ${late}`);
  assert.ok(share(levels.slice(600), (l) => l === 1) > 0.5, 'mostly at 4 ms a frame');
  assert.ok(Math.max(...levels) <= 2, 'not further down than it must');
});

// the work done over the frames, as a share of what the full budget on every frame would do
const workShare = (works) => works.reduce((a, b) => a + b, 0) / (LEVELS[0][0] * works.length);

test('frames late whatever the work (a busy machine, a 30 Hz display, frames late now and then): training keeps most of its budget', () => {
  // stepping down cannot help here; the pacing before trials stepped down to its slowest level
  // and stayed there (2 ms on one frame in 3): 0.08 of the work, on each of these machines, for
  // frames as late as before
  const u = uniforms(3), v = uniforms(7);
  const machines = {
    'every frame 33 ms': () => 33.3,
    'a busy drawing, longer on some frames': (work, i) => vsync(work + 14 + (i % 3) * 6),
    'half the frames late at random': () => (u() < 0.5 ? 33.3 : 16.7),
    'a frame in ten late at random': () => (v() < 0.1 ? 33.3 : 16.7),
  };
  for (const [name, frameMs] of Object.entries(machines)) {
    const { works } = simulate(frameMs, 36000);   // ten minutes at 60 Hz
    const first = workShare(works.slice(0, 6000)), all = workShare(works);
    assert.ok(first > 0.8, `${name}: ${first} of the work in the first 100 s`);
    assert.ok(all > 0.9, `${name}: ${all} of the work in ten minutes`);
  }
});

test('a machine that slows down later: the pacing steps down then, and back up when it is quick again', () => {
  // quick for 1000 frames, then the drawing needs 14 ms (the work tips it over), then quick again
  const { levels, intervals } = simulate((work, i) => vsync((i >= 1000 && i < 4000 ? 14 : 6) + work), 6000);
  assert.ok(levels.slice(0, 1000).every((l) => l === 0), 'full budget while quick');
  assert.ok(share(intervals.slice(1600, 4000), (x) => x > 20) < 0.05, 'on time again once stepped down');
  assert.ok(share(levels.slice(1600, 4000), (l) => l > 0) > 0.5, 'at a lower level while slow');
  assert.ok(levels.slice(5000).every((l) => l === 0), 'back to the full budget once quick');
});
