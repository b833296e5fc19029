// pacing.mjs -- how much training work each animation frame takes (train-view.mjs runs it).
//
// The display comes first. When frames come late, the pacing steps down LEVELS: less work per
// frame, then work on only some frames. But frames also come late when other programs keep the
// CPU busy, or on a display slower than 50 Hz, and then less work does not bring them back on
// time: it only slows training (a trial on a loaded machine ended at 2 ms on one frame in 3, 7
// steps/s where 80 were possible, its frames as late as before). So a step down is a trial: the
// levels below are tried in turn, TRIAL_FRAMES frames each, until one brings the share of late
// frames down to a third of what it was; that level is kept (and remembered as the cure for a
// while). If none does, the frames were late whatever the work: back to the level the trial
// started from, and no trial for a hold that doubles each time (a machine busy for good costs
// less and less). Levels are stepped back up after two seconds on time, or ten in any case. The
// split of the work never changes the result.

// work per animation frame: about half a 60 Hz frame, leaving the rest for drawing
export const BUDGET_MS = 8;
// [budget in ms, train on one frame in `every`]
export const LEVELS = [[BUDGET_MS, 1], [4, 1], [4, 2], [2, 2], [2, 3]];
// a frame later than this after the one before is late (a 60 Hz frame is 16.7 ms)
const LATE_MS = 20;
// late frames among the last WINDOW at a level that start a step down; a trial is judged against
// the share of late frames over up to the last BASELINE at the level (from 30, a machine with a
// frame in ten late from elsewhere read 0.1 to 0.2, and one trial in five found a false cure)
const WINDOW = 30, LATE_TO_STEP_DOWN = 3, BASELINE = 120;
// each level of a trial is judged over two seconds (over one, a machine with a frame in ten late
// from elsewhere passed one trial in ten or so); a trial that found no cure is not tried again
// for twenty seconds, then forty, ... up to four minutes
const TRIAL_FRAMES = 120, HOLD_FRAMES = 1200, MAX_HOLD_FRAMES = 14400;
// a step back up after two seconds with no late frame, or after ten in any case; within five
// minutes of a cure, three late frames take the level back to it at once, without a trial (a
// new trial waits for BASELINE frames, most of them late where the work makes them so)
const UP_ON_TIME_FRAMES = 120, UP_AFTER_FRAMES = 600, REMEMBER_FRAMES = 18000;

export function newPacing() {
  return { level: 0, frame: 0, recent: [], atLevel: 0, trial: null, hold: 0, holdNext: HOLD_FRAMES, cures: [],
           calmUntil: 0, paced: 0 };
}

function moveTo(p, level) {
  p.level = level;
  p.recent = [];
  p.atLevel = 0;
}

// the level a recent trial found to bring frames late at this level (or above it) on time
function knownCure(p) {
  p.cures = p.cures.filter((cure) => p.paced - cure.at < REMEMBER_FRAMES);
  return p.cures.findLast((cure) => cure.from <= p.level && cure.to > p.level)?.to;
}

// One frame's interval (ms since the frame before) into the pacing state p.
export function pace(p, interval) {
  const late = interval > LATE_MS;
  p.paced++;
  p.atLevel++;
  p.recent.push(late);
  if (p.recent.length > BASELINE) p.recent.shift();
  if (p.hold > 0) p.hold--;
  const trial = p.trial;
  if (trial) {
    trial.frames++;
    trial.spent++;
    if (late) trial.late++;
    if (trial.frames < TRIAL_FRAMES) return;
    if (trial.late / trial.frames <= trial.lateBefore / 3) {
      // the work's doing, and this level its cure
      p.cures.push({ from: trial.from, to: p.level, at: p.paced });
      p.trial = null;
      p.holdNext = HOLD_FRAMES;
      moveTo(p, p.level);
    } else if (p.level < LEVELS.length - 1) {
      trial.frames = trial.late = 0;
      moveTo(p, p.level + 1);
    } else {
      // late at every level: not the work's doing. Back to where the trial started, its time
      // there counted on (to a step up)
      p.trial = null;
      moveTo(p, trial.from);
      p.atLevel = trial.atLevel + trial.spent;
      p.hold = p.holdNext;
      p.holdNext = Math.min(2 * p.holdNext, MAX_HOLD_FRAMES);
    }
    return;
  }
  const window = p.recent.slice(-WINDOW), lateCount = window.filter(Boolean).length;
  if (p.level < LEVELS.length - 1 && lateCount >= LATE_TO_STEP_DOWN) {
    const cure = knownCure(p);
    if (cure !== undefined) {
      moveTo(p, cure);
      return;
    }
    if (p.hold === 0 && p.recent.length === BASELINE) {
      const lateBefore = p.recent.filter(Boolean).length / p.recent.length;
      p.trial = { from: p.level, atLevel: p.atLevel, lateBefore, frames: 0, late: 0, spent: 0 };
      moveTo(p, p.level + 1);
      return;
    }
  }
  const onTime = window.length === WINDOW && lateCount === 0;
  if (p.level > 0 && (p.atLevel >= UP_AFTER_FRAMES || (onTime && p.atLevel >= UP_ON_TIME_FRAMES))) moveTo(p, p.level - 1);
}
