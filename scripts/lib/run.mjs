// run.mjs -- one experiment: make a model, train it, sample it, summarise. Shared by the CLI
// (scripts/ddpm.mjs) and the sweep (scripts/sweep.mjs); the maths is all in the wasm module.
import { mse, extent, clipped, DDPMError, PRESETS } from '../../web/ddpm.mjs';

// The loss a run ends at: the mean over its last 10% of steps (20 of 200), the steps whose loss
// is not recorded (NaN) left out; null when none is.
export function finalLoss(losses) {
  const tail = Array.from(losses.subarray(Math.floor(losses.length * 0.9))).filter((l) => !Number.isNaN(l));
  return tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null;
}

// Train in chunks of whole steps so a progress callback can report between them. onTrained
// (model, error, trainMs) is called once training ends, before sampling: with error null and
// the training time when it finished, or with the refusal that stopped it (a divergence keeps
// the weights of the last good step), so a caller can keep the trained model whatever sampling
// then does.
export function runExperiment(engine, options, { onProgress, load, sampleSeed, onTrained } = {}) {
  const model = engine.createModel(options);
  try {
    if (load) model.loadCheckpoint(load);
    const schedule = model.schedule(), alphaBar = schedule.alpha_bar;
    const startStep = model.step;
    const total = model.config.steps;
    const chunk = Math.max(1, Math.round(total / 100));
    const t0 = performance.now();
    try {
      while (model.step < total) {
        model.train(Math.min(chunk, total - model.step));
        onProgress?.(model.step, total, performance.now() - t0, startStep);
      }
    } catch (e) {
      if (e instanceof DDPMError) onTrained?.(model, e);
      throw e;
    }
    const trainMs = performance.now() - t0;   // (not the caller's saving, below)
    onTrained?.(model, null, trainMs);
    // the model's whole loss history, a loaded checkpoint's steps included (so a run resumed from
    // a file sums up as the same run in one go would); NaN marks a step whose loss a file did not
    // record, left out of the figures
    const losses = model.lossHistory();
    const firstLossStep = losses.findIndex((l) => !Number.isNaN(l)) + 1;   // 0: none recorded
    const t1 = performance.now();
    const seed = sampleSeed ?? Number(model.config.seed);
    const sample = model.sample({ seed });
    const sampleMs = performance.now() - t1;
    const image = model.image();
    const presetConfig = PRESETS[options.preset ?? 'recommended'].config;
    const summary = {
      preset: options.preset ?? 'recommended',
      params: model.numParams,
      alpha_bar_T: alphaBar[model.T],
      loss_first: firstLossStep ? losses[firstLossStep - 1] : null,
      loss_final: finalLoss(losses),
      mse: mse(sample.final, image),
      // the PNGs clip to [-1, 1]: a sample far outside it can be drawn as the very square
      sample_range: extent(sample.final, 0, model.D),
      mse_clipped: mse(clipped(sample.final), image),
      train_ms: Math.round(trainMs),
      sample_ms: Math.round(sampleMs * 10) / 10,
      steps: model.step,
      steps_run: model.step - startStep,   // this run's; the rest came from a loaded checkpoint
      seed: Number(model.config.seed),
      sample_seed: seed,
      // the betas in use: a scaled schedule's differ from config's beta_start and beta_end
      betas: [schedule.beta[1], schedule.beta[model.T]],
      // the values the options changed from their preset's (the paper preset with --predict x0
      // is no longer the paper's model)
      preset_changes: Object.fromEntries(Object.entries(options)
        .filter(([k, v]) => k in presetConfig && String(v) !== String(presetConfig[k]))),
      simd: engine.simd,
      memory_bytes: model.memoryBytes,
      config: model.config,
    };
    return { summary, model, sample, losses, image, firstLossStep };
  } catch (e) {
    model.free();
    throw e;
  }
}
