// pacing.mjs -- how much training work each animation frame takes (train-view.mjs runs it).
//
// The display comes first. When frames come late, the pacing steps down LEVELS: less work per
// frame, then work on only some frames. But frames also come late when other programs keep the
// CPU busy, or on a display slower than 50 Hz, and then less work does not bring them sooner: it
// only slows training (a trial on a loaded machine ended at 2 ms on one frame in 3, 7 steps/s
// where 80 were possible, its frames as late as before). So every move is tried and judged by the
// mean frame interval:
//   - down, when a tenth of the recent frames came late: the levels below are tried in turn,
//     TRIAL_FRAMES frames each, until one has no late frame or none is left. The highest level
//     about as quick as the quickest tried is kept, if that is a fifth or more quicker than the
//     frames since the lateness began; if not, the work was not what made the frames late: back to where
//     the trial started, and no trial for a hold that doubles, up to a minute;
//   - up, after a while at a level: undone if the frames come a quarter slower, and then tried
//     again only after twice as long, up to half a minute.
// The mean interval, not the share of late frames: frames late at random from elsewhere gave a
// trial's frames a share of late ones low enough by chance, often enough to send training down
// for nothing (a review), where their mean moves by a few percent; and the mean sees a step from
// two display frames to one on a 30 Hz display, where every frame is later than LATE_MS. The split
// of the work never changes the result. Counts are of frames: the times given are at 60 Hz.

// work per animation frame: about half a 60 Hz frame, leaving the rest for drawing
const BUDGET_MS = 8;
// [budget in ms, train on one frame in `every`]
export const LEVELS = [[BUDGET_MS, 1], [4, 1], [4, 2], [2, 2], [2, 3]];
// a frame later than this after the one before is late (a 60 Hz frame is 16.7 ms)
const LATE_MS = 20;
// a trial down starts when LATE_TO_TRY of the last WINDOW frames at a level (or of fewer: all
// there are) came late, a tenth, so that a frame late now and then from elsewhere tries nothing
const WINDOW = 120, LATE_TO_TRY = 12;
// each level of a trial down is run for two seconds; a cure is a mean interval at most
// CURE_RATIO of the window's before the trial, and a level within SAME_RATIO of the quickest
// counts as as quick
const TRIAL_FRAMES = 120, CURE_RATIO = 0.8, SAME_RATIO = 1.05;
// a trial down that found no cure is not tried again for twenty seconds, then forty, then a minute
const HOLD_FRAMES = 1200, MAX_HOLD_FRAMES = 3600;
// a step up after ten seconds at a level, judged over half a second: undone if the mean interval
// rose above the window's before it by more than 1 / CURE_RATIO (a quarter); each undone step up
// doubles the wait for the next, up to half a minute
const UP_AFTER_FRAMES = 600, MAX_UP_AFTER_FRAMES = 1800, UP_TRIAL_FRAMES = 30;

export function newPacing() {
  return { level: 0, frame: 0, recent: [], atLevel: 0, down: null, up: null, hold: 0, holdNext: HOLD_FRAMES,
           upAfter: UP_AFTER_FRAMES, calmUntil: 0, paced: 0 };
}

function moveTo(p, level) {
  p.level = level;
  p.recent = [];
  p.atLevel = 0;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const lateIn = (xs) => xs.filter((x) => x > LATE_MS).length;
// the frames from the LATE_TO_TRY-th last late one on: the frames since the lateness began (a
// whole window would mix in the quick frames before a machine slowed down, and a trial judged
// against them found no cure)
function sinceLate(xs) {
  let late = 0;
  for (let i = xs.length - 1; i >= 0; i--) if (xs[i] > LATE_MS && ++late === LATE_TO_TRY) return xs.slice(i);
  return xs;
}

// One frame's interval (ms since the frame before) into the pacing state p.
export function pace(p, interval) {
  p.paced++;
  p.atLevel++;
  p.recent.push(interval);
  if (p.recent.length > WINDOW) p.recent.shift();
  if (p.hold > 0) p.hold--;

  const down = p.down;
  if (down) {
    if (p.recent.length < TRIAL_FRAMES) return;
    down.means.push(mean(p.recent));
    if (lateIn(p.recent) > 0 && p.level < LEVELS.length - 1) {
      moveTo(p, p.level + 1);
      return;
    }
    p.down = null;
    const quickest = Math.min(...down.means);
    if (quickest <= CURE_RATIO * down.meanBefore) {
      // the work made the frames late; the first level tried that is about as quick as any
      moveTo(p, down.from + 1 + down.means.findIndex((m) => m <= SAME_RATIO * quickest));
      p.holdNext = HOLD_FRAMES;
    } else {
      // no level brought the frames sooner: back to where the trial started, its time there
      // counted on (to a step up)
      moveTo(p, down.from);
      p.atLevel = down.atLevel + (p.paced - down.startedAt);
      p.hold = p.holdNext;
      p.holdNext = Math.min(2 * p.holdNext, MAX_HOLD_FRAMES);
    }
    return;
  }

  const up = p.up;
  if (up) {
    if (p.recent.length < UP_TRIAL_FRAMES) return;
    p.up = null;
    if (mean(p.recent) > up.meanBefore / CURE_RATIO) {
      moveTo(p, up.from);
      p.upAfter = Math.min(2 * p.upAfter, MAX_UP_AFTER_FRAMES);
    } else {
      p.upAfter = UP_AFTER_FRAMES;
    }
    return;
  }

  if (p.level < LEVELS.length - 1 && p.hold === 0 && lateIn(p.recent) >= LATE_TO_TRY) {
    p.down = { from: p.level, atLevel: p.atLevel, startedAt: p.paced, meanBefore: mean(sinceLate(p.recent)), means: [] };
    moveTo(p, p.level + 1);
  } else if (p.level > 0 && p.atLevel >= p.upAfter) {
    p.up = { from: p.level, meanBefore: mean(p.recent) };
    moveTo(p, p.level - 1);
  }
}
