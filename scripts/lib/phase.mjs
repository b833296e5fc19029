// phase.mjs -- which phase the machine was in around a timed run. This VM's speed moves in
// phases of seconds, and a slow phase costs a read from L1 about 40% of its speed where the
// peak arithmetic loop loses about 20% (docs/bench.md, "Why the miss"). So a 16 KB read in
// L1, timed before and after a run, says which phase the run met: "fast" when both reads ran
// within 15% of the fastest read of the series, "slow" when both ran below that, "mixed" when
// the phase changed between them. Shared by the benchmark's step trace and scripts/ab.mjs.
// The reading is relative to the series' own fastest read: a series that never meets the fast
// phase calls its least slow runs fast (docs/bench.md (af): "fast" windows that read L1 at 32 GB/s,
// where the fast phase reads 45-47), so the L1 speeds printed beside a phase say which it was.

const L1_FLOATS = 4096;  // 16 KB: in the 32 KB L1

// the shortest of 3 runs of fn, in ms (a probe's best: a run that met an interruption is slower)
export function bestOf3(fn) {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

// A reader on one engine (web/ddpm.mjs's loadEngine): read() times `reps` reads of its 16 KB,
// the best of 3, and gives GB/s; free() gives the buffer back.
export function l1Reader(engine, reps = 20000) {
  const M = engine.mod, p = engine.alloc(4 * L1_FLOATS);
  M.HEAPF32.fill(0.5, p >> 2, (p >> 2) + L1_FLOATS);
  const read = () => 4 * L1_FLOATS * reps / bestOf3(() => { for (let k = 0; k < reps; k++) M._probe_read(p, L1_FLOATS); }) / 1e6;
  return { read, free: () => engine.free(p) };
}

export function median(values) {
  const v = [...values].sort((a, b) => a - b), n = v.length;
  return n % 2 ? v[n >> 1] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// rows (an object of numbers per run) and the runs' phases -> for the fast runs and the slow ones,
// their count under countKey and each number's median (null for a phase no run met), and the
// count of mixed runs
export function mediansByPhase(phases, rows, countKey) {
  const of = (name) => {
    const mine = rows.filter((_, i) => phases[i] === name);
    return mine.length === 0 ? null
      : { [countKey]: mine.length, ...Object.fromEntries(Object.keys(mine[0]).map((k) => [k, median(mine.map((r) => r[k]))])) };
  };
  return { fast: of('fast'), slow: of('slow'), mixed: phases.filter((p) => p === 'mixed').length };
}

// reads (n + 1): the L1 read before run 0, then after each run -> the phase of each of the n runs
export function phasesBetween(reads) {
  const best = Math.max(...reads), fast = reads.map((g) => g >= 0.85 * best);
  return fast.slice(1).map((after, i) => (fast[i] && after ? 'fast' : !fast[i] && !after ? 'slow' : 'mixed'));
}
