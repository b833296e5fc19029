// run.mjs -- one experiment: make a model, train it, sample it, summarise. Shared by the CLI
// (scripts/ddpm.mjs) and the sweep (scripts/sweep.mjs); the maths is all in the wasm module.
import { mse, extent, clipped, DDPMError, PRESETS, outputBlownUp } from '../../web/ddpm.mjs';

// The loss a run ends at: the mean over its last 10% of steps (20 of 200), the steps whose loss
// is not recorded (NaN) left out; null when none is. finalLossWindow says which steps those are:
// from .. to (counted from 1), and how many of them have a loss (a version 1 file's have none).
export function finalLossWindow(losses) {
  const from = Math.floor(losses.length * 0.9);
  const tail = Array.from(losses.subarray(from)).filter((l) => !Number.isNaN(l));
  return { mean: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null, from: from + 1, to: losses.length, recorded: tail.length };
}
export const finalLoss = (losses) => finalLossWindow(losses).mean;

// A run stopped from outside (Ctrl-C, through an AbortSignal): training ends at a whole step,
// and the model is given to onTrained with this error, as with a divergence.
export class Interrupted extends Error {
  constructor(step, total) {
    super(`interrupted at step ${step} of ${total}`);
    this.code = 'INTERRUPTED';
    this.step = step;
  }
}

// Training goes in slices of whole steps of about this long (the first of one step), between
// which the progress is reported and the event loop runs (so a Ctrl-C's handler can): any split
// gives the same bits
const SLICE_MS = 100;

// Train, then sample, and sum up. onLoaded (model) is called once `load`, a checkpoint's bytes,
// has loaded; onTrained (model, error, trainMs, summary) once training ends, before sampling:
// with error null when it finished, or with the refusal that stopped it (a divergence keeps the
// weights of the last good step) or an Interrupted, so a caller can keep the trained model
// whatever sampling then does; summary() sums the run up so far. A run that diverges or is interrupted throws its error with `summary` set: the summary of
// the run, its training as far as it went, its sample null.
export async function runExperiment(engine, options, { onProgress, load, sampleSeed, onTrained, onLoaded, signal } = {}) {
  const model = engine.createModel(options);
  let startStep = 0, trainMs = 0, sample = null, sampleMs = null, seed = null;
  const summarise = (error) => summary(model, options, { startStep, trainMs, sample, sampleMs, seed, error });
  try {
    if (load) {
      model.loadCheckpoint(load);
      onLoaded?.(model);
    }
    startStep = model.step;
    const total = model.config.steps;
    const t0 = performance.now();
    try {
      for (let k = 1; model.step < total;) {
        if (signal?.aborted) throw new Interrupted(model.step, total);
        const s0 = performance.now();
        model.train(Math.min(k, total - model.step));
        k = Math.max(1, Math.min(2 * k, Math.round((k * SLICE_MS) / Math.max(performance.now() - s0, 0.01))));
        onProgress?.(model.step, total, performance.now() - t0, startStep);
        await new Promise((next) => setImmediate(next));
      }
    } catch (e) {
      trainMs = performance.now() - t0;
      if (e instanceof DDPMError || e instanceof Interrupted) onTrained?.(model, e, trainMs, () => summarise(e));
      throw e;
    }
    trainMs = performance.now() - t0;   // (not the caller's saving, below)
    onTrained?.(model, null, trainMs, () => summarise(null));
    const t1 = performance.now();
    seed = sampleSeed ?? Number(model.config.seed);
    sample = model.sample({ seed });
    sampleMs = performance.now() - t1;
    const losses = model.lossHistory();
    return { summary: summarise(null), model, sample, losses, image: model.image(), firstLossStep: firstLossStep(losses) };
  } catch (e) {
    // (a refusal of the config or the file has no run to sum up)
    if (e?.code === 'DIVERGED' || e instanceof Interrupted) e.summary = summarise(e);
    model.free();
    throw e;
  }
}

// the first step whose loss the model holds, from 1 (0: none recorded)
export const firstLossStep = (losses) => losses.findIndex((l) => !Number.isNaN(l)) + 1;

// A run's summary: its status ('done', 'diverged', 'interrupted'), the model's whole loss
// history (a loaded checkpoint's steps included, so a run resumed from a file sums up as the
// same run in one go would; NaN marks a step whose loss a file did not record, left out of the
// figures), and its sample's figures (null where it has none)
function summary(model, options, { startStep, trainMs, sample, sampleMs, seed, error }) {
  const losses = model.lossHistory(), first = firstLossStep(losses), schedule = model.schedule();
  const image = model.image(), presetConfig = PRESETS[options.preset ?? 'recommended'].config;
  return {
    status: !error ? 'done' : error instanceof Interrupted ? 'interrupted' : 'diverged',   // (see runExperiment)
    ...(error ? { error: error.message } : {}),
    preset: options.preset ?? 'recommended',
    params: model.numParams,
    alpha_bar_T: schedule.alpha_bar[model.T],
    loss_first: first ? losses[first - 1] : null,
    loss_final: finalLoss(losses),
    mse: sample ? mse(sample.final, image) : null,
    // the PNGs clip to [-1, 1]: a sample far outside it can be drawn as the very square
    sample_range: sample ? extent(sample.final, 0, model.D) : null,
    mse_clipped: sample ? mse(clipped(sample.final), image) : null,
    // the largest |network output| of the chain, its t and its input's largest |x_t|; the same
    // over the steps whose input was in range: past OUTPUT_BLOWN_UP there the weights have blown
    // up (web/ddpm.mjs outputBlownUp)
    output_peak: sample ? sample.outputPeak.peak : null,
    output_peak_t: sample ? sample.outputPeak.t : null,
    output_peak_input: sample ? sample.outputPeak.input : null,
    output_peak_in_range: sample ? sample.outputPeak.inRange.peak : null,
    output_peak_in_range_t: sample ? sample.outputPeak.inRange.t : null,
    output_peak_in_range_input: sample ? sample.outputPeak.inRange.input : null,
    output_blown_up: sample ? outputBlownUp(sample.outputPeak) : null,
    train_ms: Math.round(trainMs),
    sample_ms: sampleMs === null ? null : Math.round(sampleMs * 10) / 10,
    steps: model.step,
    steps_run: model.step - startStep,   // this run's; the rest came from a loaded checkpoint
    seed: Number(model.config.seed),
    sample_seed: seed,   // (null: training did not end, so no sample was drawn)
    // the betas in use: a scaled schedule's differ from config's beta_start and beta_end
    betas: [schedule.beta[1], schedule.beta[model.T]],
    // the values the options changed from their preset's (the paper preset with --predict x0
    // is no longer the paper's model)
    preset_changes: Object.fromEntries(Object.entries(options)
      .filter(([k, v]) => k in presetConfig && String(v) !== String(presetConfig[k]))),
    simd: model.engine.simd,
    memory_bytes: model.memoryBytes,
    config: model.config,
  };
}
