// checkpoints.mjs -- Save downloads the model as a .ddpm file, Load puts one on the page, and a
// new value of Steps for a paused or finished model changes its plan in place (replanModel).
// The format and every check of it belong to the wrapper and C (README
// "Checkpoint format"); whether Save and Load can be used now is set in controls.mjs.
import { DDPMError, checkpointHeader, checkpointPreset, tooLongForModel } from './ddpm.mjs';
import { FIELDS, presetDefaults, settingsFromCheckpoint, SETTING_WORDS } from './settings.mjs';
import { $, settingsToURL, app, newRun, showMessage, errorText, sentence, setStatus, savedStatus, dropUndo } from './state.mjs';
import { buildView } from './panels.mjs';
import { trainSettings, fillForm, describePreset, setState, canSave, fieldChanges, refuseSteps } from './controls.mjs';
import { prepareModel, finishHalfDone, drawTrainStats, drawLoss, setPageModel, runMs, guardLeaving, unsavedWorthAsking } from './train-view.mjs';
import { clearTrajectory, finishSampling, drawSigmaPlot } from './sample-view.mjs';

// a downloaded file's object URL lives this long: long enough for any browser to start saving
const DOWNLOAD_URL_MS = 60000;

function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_MS);
}

// C saves only between optimiser steps. Between two frames of training a step is often half
// done: finish it here, which is the work the next frames would have done (any split of a step
// gives the same bits). Not while a sample is being computed: the weights would change under it.
export function saveCheckpoint() {
  if (!canSave()) return;
  const m = app.model;
  const halfDone = m.midStep;
  if (halfDone && app.sampling) {
    showMessage($('train-message'), `Not saved: step ${m.step + 1} is half done and finishing it now would change the ` +
      'weights under the sample being computed. Save again once the sample is drawn.');
    return;
  }
  if (halfDone && !finishHalfDone(m, { wholeStep: true })) return;
  // with the AdamW state a loaded file trains on exactly as the run would have; without it the
  // file is a third of the size (the weights alone, to share or to sample), and a run resumed
  // from it starts AdamW's moments afresh
  const optimizer = $('save-adam').checked;
  let blob;
  try {
    // the file records the sampling choices it was sampled with here, the Sample panel's
    m.setSampling({ sigma: app.settings.sigma, clip: app.settings.clip });
    blob = m.saveCheckpointBlob({ optimizer });
  } catch (e) {
    showMessage($('train-message'), `Not saved: ${errorText(e)}`);
    return;
  }
  const name = `ddpm-${app.settings.preset}-step${m.step}${optimizer ? '' : '-weights'}.ddpm`;
  downloadBlob(blob, name);
  app.run.savedAtMs = runMs();   // the file holds the run's training so far: leaving the page need not ask
  guardLeaving();
  if (app.state !== 'error') showMessage($('train-message'), '');
  setStatus(`Saved ${name} (${(blob.size / 1e6).toFixed(1)} MB): ` +
    (optimizer ? `the weights and AdamW state at step ${m.step}.` : `the weights at step ${m.step}, without the AdamW state.`) +
    (halfDone ? ` Step ${m.step} was half done, so it was finished first${m.done ? ': it was the last, and training is done' : ''}.` : '') +
    (app.state === 'running' ? ' Training goes on.' : ''),
    // a "press Sample" still stands, and one is owed where finishing the step finished the run (a
    // trial found the run done with no word of it)
    halfDone && m.done ? 'Press Sample.' : app.status?.toSample ?? '');
}


// A new plan for the model on the page: C grows its loss history to the new number of steps
// (Model.setSteps), and the weights, the AdamW state, the step, the loss curve and the training
// RNG stay as they are, so (the learning rate of both presets being constant) the run goes on
// exactly as one planned that long from the start. If C refuses, nothing has changed.
export function replanModel(steps) {
  const m = app.model, from = m.config.steps;
  // a chain being computed is finished on the model it started from, and drawn
  finishSampling();
  // C changes the plan only between steps: a step half done is finished first, as Save does
  const halfDone = m.midStep;
  if (halfDone && !finishHalfDone(m, { wholeStep: true })) {
    $('steps').value = String(app.settings.steps);
    return;
  }
  try {
    m.setSteps(steps);
  } catch (e) {
    $('steps').value = String(app.settings.steps);
    refuseSteps(`Could not change Steps to ${steps}: ${sentence(errorText(e))} ` +
      `The model on the page is kept, at step ${m.step} of ${from}.`);
    setState(app.state);
    return;
  }
  // the run goes on: its clock, its first step and its loss curve stay as they were
  app.settings.steps = steps;
  app.modelKey = JSON.stringify(trainSettings());
  settingsToURL(app.settings);
  showMessage($('train-message'), '');
  setState(m.done ? 'done' : 'paused');
  drawTrainStats(true);
  drawLoss(true);
  const k = m.step;
  setStatus(`Steps ${from} → ${steps}: the model at step ${k} goes on with the same weights, AdamW state and loss curve.` +
    (halfDone ? ` Step ${k} was half done, so it was finished first.` : '') +
    (m.done ? '' : ` Resume trains steps ${k + 1} to ${steps}.`), m.done ? 'Press Sample, or raise Steps to train further.' : '');
  // the focus stays where it is: Steps stays open, and an Enter that moved it to Resume would
  // make a second Enter start training
}

// Load: read the file, build a model for it and load it there. Only when C has accepted every
// byte does the new model replace the one on the page; a refused file changes nothing.
export async function loadCheckpointFile(file) {
  let next = null, settings, header, fromFile;
  const statusBefore = savedStatus();
  const loading = `Loading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`;
  try {
    refuseWhileRunning();
    // a file longer than any checkpoint of the page's models is refused before it is read or
    // asked about (its presets share one network, so one bound serves both): one of 2 GB was read
    // whole, and then took the module's memory
    const most = app.engine.maxCheckpointBytes({ preset: app.settings.preset });
    if (file.size > most) throw new DDPMError(6, tooLongForModel(file.size, most, app.engine.maxSteps));
    // a Load replaces the model on the page and drops the one Reset set aside: after more
    // training than a reload would ask about, not kept by a Save, it asks too (a trial lost a
    // paused run to a file chosen in passing)
    const unsaved = unsavedWorthAsking();
    if (unsaved && !window.confirm(`Replace the model on the page with ${file.name}? ` +
      `Its ${Math.round(unsaved / 1000)} s of training are not saved (Save keeps them).`)) {
      showMessage($('train-message'), `Not loaded: ${file.name} would have replaced training that no Save has kept. Nothing on the page changed.`);
      return;
    }
    // reading and checking tens of MB blocks the page for a moment: say so first, and let it paint
    setStatus(loading);
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
    const bytes = new Uint8Array(await file.arrayBuffer());
    // Resume may have been pressed while the file was read
    refuseWhileRunning();
    header = checkpointHeader(bytes);
    // A checkpoint names its architecture and step, and (version 2) the settings of its run: the
    // page takes those its fields hold (settingsFromCheckpoint); for the rest, and for a version
    // 1 file, it keeps its own for its own preset and takes the preset's for the other one (as
    // the preset radio does). It plans at least the steps already taken (more than the Steps
    // field allows is left for C to refuse). The seed makes only the model: the file's training
    // RNG state replaces what it seeded (the Seed field says so, drawSeedField)
    const preset = checkpointPreset(header) ?? app.settings.preset;
    const base = preset === app.settings.preset ? app.settings : { ...app.settings, preset, ...presetDefaults(preset) };
    fromFile = settingsFromCheckpoint(header, preset);
    const merged = { ...base, ...fromFile.settings };
    settings = { ...merged, steps: Math.min(FIELDS.steps.max, Math.max(merged.steps, header.step)) };
    const { steps, batch, lr, seed } = settings;
    // a model made ahead for Train (prepareModel) gives its memory to the file's
    if (app.state === 'ready' && app.model && app.modelUnused) setPageModel(null);
    next = app.engine.createModel({ preset, steps, batch, lr, seed });
    next.loadCheckpoint(bytes);
  } catch (e) {
    next?.free();
    // the command line as a way out only for a sound file of another model (C names the field
    // that differs), not for a damaged one, which the command line refuses too
    const hint = header && !checkpointPreset(header) && /checkpoint: mismatched /.test(errorText(e))
      ? ' This page builds the models of its two presets only; the command line loads others (node scripts/ddpm.mjs --load FILE).' : '';
    // a sound file of more steps than the Steps field takes: C asks to raise a plan this page
    // cannot make (said only once C has found the file whole: a damaged step field is corrupt)
    const reason = /checkpoint: it has taken \d+ steps, more than this model's planned/.test(errorText(e)) && header.step > FIELDS.steps.max
      ? `The file has taken ${header.step} steps, more than the ${FIELDS.steps.max} this page plans at most; the command line ` +
        'loads it (node scripts/ddpm.mjs --load FILE).' : sentence(errorText(e));
    // unless something else (Resume) has said what the page is doing since
    if ($('train-status').textContent === loading) setStatus(...statusBefore);
    showMessage($('train-message'), `Could not load ${file.name}: ${reason}${hint} Nothing on the page changed.`);
    $('train-message').scrollIntoView({ block: 'nearest' });
    prepareModel();
    return;
  }
  adoptModel(next, settings, file.name, header, fromFile);
}

// Load is disabled while training runs (see LOAD_WAITS, controls.mjs); this holds the rule for a
// file that comes anyway, and for a run resumed while the file was being read
function refuseWhileRunning() {
  if (app.state === 'running') {
    throw new Error('training is running, and loading would replace the model being trained; Pause first, then load the file');
  }
}

// A model put on the page in place of the one there (a loaded file, or the one Undo Reset brings
// back), with the settings it goes with: what ran on the old one stops, the page's record of the
// model is set (setPageModel), and everything drawn from the settings is redrawn. `run` is the
// run record to go on with (Undo Reset's), else a new run begins.
export function putModelOnPage(m, settings, { loadedFrom = null, lossFrom = 0, startStep = m.step, run = null, state }) {
  app.run.loop++;
  app.pausedByHidden = false;
  clearTrajectory();
  const presetChanged = settings.preset !== app.settings.preset;
  app.settings = settings;
  setPageModel(m, { loadedFrom, lossFrom });
  app.startStep = startStep;
  if (run) {
    run.loop = app.run.loop;   // the frames of any older chain of training stop at this number
    app.run = run;
  } else {
    newRun();
  }
  fillForm();   // (which clears what the fields were refused for)
  describePreset();
  if (presetChanged) {
    try {
      buildView(settings.preset);
    } catch (e) {
      showMessage($('global-message'), errorText(e));
    }
  }
  drawSigmaPlot();
  settingsToURL(app.settings);
  showMessage($('train-message'), '');
  setState(state);
  drawTrainStats(true);
  drawLoss(true);
}

// the sampling choices that differ from `before` to `after`, in the Sample panel's words
function samplingChanges(before, after) {
  const sigma = { beta: 'βₜ', 'beta-tilde': 'β̃ₜ' }, onOff = (on) => (on ? 'on' : 'off');
  return [
    ...(before.sigma !== after.sigma ? [`σₜ² ${sigma[before.sigma]} → ${sigma[after.sigma]}`] : []),
    ...(before.clip !== after.clip ? [`clipping ${onOff(before.clip)} → ${onOff(after.clip)}`] : []),
  ];
}

// the loaded model replaces the page's, and the status line says what came with it: the values
// of a version 2 file's run that replaced the page's (`fromFile.settings`), those the page could
// not take (`fromFile.untaken`, `fromFile.others`), the preset's own values where the file is of
// the other preset and gave none, and a plan raised to the steps the file has taken
function adoptModel(m, settings, name, header, fromFile) {
  dropUndo();   // a model loaded: the one Reset set aside goes
  const presetChanged = settings.preset !== app.settings.preset, pagePreset = app.settings.preset;
  const fields = ['steps', 'batch', 'lr'], taken = fromFile.settings;
  const ofRun = (k) => k in taken && settings[k] === taken[k];
  // (the seed too: the Seed field reads "from the file", as the model trains on with the file's
  // random state, but the address takes the file's seed, and a link shared trains with it: a
  // trial saw seed=0 become seed=11 in the address unsaid)
  const fromRun = [...fieldChanges(app.settings, settings, [...fields, 'seed'].filter(ofRun)), ...samplingChanges(app.settings, settings)];
  // values the fields cannot hold, with the one the page uses instead, and the settings it
  // does not offer
  const notTaken = [...fromFile.untaken.map(({ key, value, takes }) => `${SETTING_WORDS[key]} ${value} (the page takes ${takes}; it uses ${settings[key]})`),
    ...fromFile.others];
  const runText = (fromRun.length ? ` The settings of its run replaced the page's: ${fromRun.join(', ')}.` : '') +
    (notTaken.length ? ` Not taken from it: ${notTaken.join('; ')}.` : '') +
    (header.settings ? '' : ' The file (of version 1) carries no settings of its run: the page uses the ones shown.');
  // a file of the other preset brings that preset's plan, batch and learning rate where the file
  // gives none, as the radio would; a plan shorter than the steps the file has taken is raised to
  // them (loadCheckpointFile)
  const planned = 'steps' in taken ? taken.steps : presetChanged ? presetDefaults(settings.preset).steps : app.settings.steps;
  const raised = settings.steps > planned && settings.steps !== app.settings.steps
    ? ` Steps ${app.settings.steps} → ${settings.steps}: raised to the steps the file has taken.` : '';
  const replaced = presetChanged ? fieldChanges(app.settings, settings, fields.filter((k) => !ofRun(k) && !(raised && k === 'steps'))) : [];
  const held = m.lossHistory();
  let lossFrom = 0;
  while (lossFrom < m.step && Number.isNaN(held[lossFrom])) lossFrom++;
  putModelOnPage(m, settings, { loadedFrom: name, lossFrom, state: m.done ? 'done' : 'paused' });
  const fresh = header.hasAdam ? '' : ' The file holds no AdamW state: the optimiser starts afresh.';
  // The page keeps no EMA (its presets have none), so a file's EMA weights are left out: said, or
  // they would be lost unseen, here and in a Save from the page (an expert trial: the page
  // sampled MSE 0.004 from the raw weights, where the file's EMA gives 0.03)
  const ema = header.hasEma ? ' The file also holds EMA weights, which this page does not keep: it samples and trains the raw ' +
    `weights, and a Save writes them without the EMA (the command line samples the EMA: node scripts/ddpm.mjs --load FILE${header.settings ? '' : ' --ema DECAY'}).` : '';
  const own = replaced.length ? ` The ${settings.preset} preset's own values: ${replaced.join(', ')}.` : '';
  // (the preset radio turned unsaid, where the fields that changed with it were named: a trial)
  const turned = presetChanged ? `, in place of the page's ${pagePreset},` : '';
  const loaded = `Loaded ${name}: the ${settings.preset} preset${turned} at step ${m.step} of ${m.config.steps}.${runText}${own}${raised}${fresh}${ema}`;
  if (m.done) setStatus(loaded, `Press Sample, or raise Steps above ${m.step} to train further.`);
  else setStatus(`${loaded} Resume trains on to step ${m.config.steps} with the batch and learning rate shown and the file's random state.`);
}
