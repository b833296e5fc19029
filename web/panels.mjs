// panels.mjs -- the views that depend only on the preset: the training image, the noise
// schedule (its text and plots), the forward process and the timestep embedding. buildView
// makes them for a preset; the forward panel's slider redraws its part. Nothing here depends on
// training or sampling.
import { PRESETS } from './ddpm.mjs';
import { drawImage } from './draw.mjs';
import { linePlot, heatmap, setMarker, theme, formatNumber } from './plot.mjs';
import { $, app } from './state.mjs';

// The forward-process panel mixes the image with one fixed noise image, drawn from this seed.
const FORWARD_NOISE_SEED = 1;
// alpha_bar_T above this is "far from 0": x_T still holds a tenth of the image or more
export const ABAR_T_FAR = 0.01;

// { later: true }: the off-screen panels (forward strip, schedule plots, embedding) are not drawn
// here but returned as a list of drawings, for the caller to run in tasks of their own
export function buildView(preset, { later = false } = {}) {
  const e = app.engine;
  // a tiny network with the preset's schedule: enough for the schedule and the forward process.
  // Everything is made before anything is replaced: if C refuses, the old view stays whole
  const model = e.createModel({ preset, hidden: 4, steps: 0, max_batch: 1 });
  let sched, image, eps, otherSchedule;
  try {
    sched = model.schedule();
    image = model.image();
    // one fixed standard normal draw from the module's RNG
    eps = e.normals(model.D, FORWARD_NOISE_SEED);
    const other = Object.keys(PRESETS).find((p) => p !== preset);
    otherSchedule = other ? { name: other, sched: e.schedule({ preset: other }) } : null;
  } catch (err) {
    model.free();
    throw err;
  }
  if (app.view) app.view.model.free();
  const T = model.T, D = model.D;
  app.view = { preset, model, T, D, S: model.config.image_size, sched, image, eps };
  app.otherSchedule = otherSchedule;
  if (!app.embedding || app.embedding.T !== T) {
    const dim = PRESETS[preset].config.temb_dim;
    const values = new Float32Array((T + 1) * dim);
    for (let t = 0; t <= T; t++) values.set(e.embedding(t, dim), t * dim);
    app.embedding = { T, dim, values };
  }
  app.fwdT = Math.min(app.fwdT, T);
  $('fwd-t').max = String(T);
  $('fwd-t').value = String(app.fwdT);
  drawData();
  drawScheduleText();
  drawForward();
  const rest = [drawForwardStrip, drawSchedulePlots, drawEmbedding];
  if (later) return rest;
  for (const draw of rest) draw();
  return [];
}

function drawData() {
  const v = app.view;
  drawImage($('data-image').getContext('2d'), v.image, v.S);
}

function drawScheduleText() {
  const v = app.view, T = v.T;
  const ab = v.sched.alpha_bar[T], keep = v.sched.sqrt_alpha_bar[T];
  const far = ab > ABAR_T_FAR;
  $('abar-value').innerHTML = `<var>&alpha;&#772;<sub>T</sub></var> = ${formatNumber(ab)} ` +
    `(T = ${T}, ${v.preset} preset) ` + (far ? '<strong>&mdash; far from 0</strong>' : '<span class="ok">&mdash; close to 0, good</span>');
  const warn = $('abar-warning');
  if (far) {
    warn.innerHTML = `<strong>Warning:</strong> with these settings <var>&alpha;&#772;<sub>T</sub></var> = ${formatNumber(ab)}, ` +
      `so <var>x<sub>T</sub></var> = ${formatNumber(keep)}&thinsp;<var>x</var><sub>0</sub> + ` +
      `${formatNumber(v.sched.sqrt_one_minus_alpha_bar[T])}&thinsp;<var>&epsilon;</var>: the image is still there at ${Math.round(keep * 100)}% of its ` +
      `amplitude (&radic;<var>&alpha;&#772;<sub>T</sub></var>), ${Math.round(ab * 100)}% of the variance. Training never shows the network pure noise, ` +
      `yet sampling starts from pure noise N(0, I): the first reverse steps work on inputs unlike anything it was trained on. ` +
      `These betas are the DDPM paper's (Ho et al.), meant for T = 1000; with T = ${T} they stop too early.`;
    warn.hidden = false;
  } else {
    warn.hidden = true;
    warn.textContent = '';
  }
  $('preset-abar').innerHTML = far
    ? `<strong>Warning:</strong> <var>&alpha;&#772;<sub>T</sub></var> = ${formatNumber(ab)}: far from 0, see the noise schedule panel.`
    : `<var>&alpha;&#772;<sub>T</sub></var> = ${formatNumber(ab)}: the last step is practically pure noise.`;
}

export function drawSchedulePlots() {
  const v = app.view, th = theme(), s = v.sched, o = app.otherSchedule;
  const ghost = (y, label) => ({ y, color: th.faint, width: 1.25, dash: [2, 3], label, reference: true });
  const oname = o ? `${o.name} preset` : '';
  const T = v.T, h = 204;
  linePlot($('plot-beta'), {
    height: h, xRange: [0, T], xLabel: 't',
    series: [{ y: s.beta, from: 1, color: th.accent, width: 2, label: 'βₜ (variance of the noise added at step t)' },
      ...(o ? [ghost(o.sched.beta, oname)] : [])],
  });
  linePlot($('plot-abar'), {
    height: h, xRange: [0, T], xLabel: 't', yRange: [0, 1.02],
    series: [{ y: s.alpha_bar, color: th.accent, width: 2, label: 'ᾱₜ (signal variance left)' },
      ...(o ? [ghost(o.sched.alpha_bar, oname)] : [])],
  });
  linePlot($('plot-coef'), {
    height: h, xRange: [0, T], xLabel: 't', yRange: [0, 1.02],
    series: [
      { y: s.sqrt_alpha_bar, color: th.accent2, width: 2, label: '√ᾱₜ (signal)' },
      { y: s.sqrt_one_minus_alpha_bar, color: th.accent, width: 2, dash: [7, 4], label: '√(1−ᾱₜ) (noise)' },
      ...(o ? [ghost(o.sched.sqrt_alpha_bar, oname), { ...ghost(o.sched.sqrt_one_minus_alpha_bar), label: '' }] : []),
    ],
  });
  linePlot($('plot-logsnr'), {
    height: h, xRange: [0, T], xLabel: 't',
    series: [{ y: s.log_snr, color: th.accent, width: 2, label: 'log SNR = ln(ᾱₜ/(1−ᾱₜ))' },
      // solid and thin: the other preset's curve is the dotted one
      { y: new Float32Array(T + 1), color: th.muted, width: 1, label: 'SNR = 1', reference: true },
      ...(o ? [ghost(o.sched.log_snr, oname)] : [])],
  });
  markSchedule();
}

// the forward panel's t, marked on the schedule plots
export function markSchedule() {
  const v = app.view, t = app.fwdT, s = v.sched;
  const at = (arr) => `t = ${t}: ${formatNumber(arr[t])}`;
  setMarker($('plot-beta'), t, at(s.beta));
  setMarker($('plot-abar'), t, at(s.alpha_bar));
  setMarker($('plot-coef'), t, `t = ${t}`);
  setMarker($('plot-logsnr'), t, t ? at(v.sched.log_snr) : 't = 0');
}

export function drawForward() {
  const v = app.view, t = app.fwdT;
  const xt = v.model.qSample(v.image, v.eps, t);
  drawImage($('fwd-image').getContext('2d'), xt, v.S);
  $('fwd-image').setAttribute('aria-label', `x t at t = ${t}, from the forward process`);
  $('fwd-caption').innerHTML = t === 0 ? '<var>x</var><sub>0</sub>, the training image' : `<var>x<sub>t</sub></var>, t = ${t}`;
  const a = v.sched.sqrt_alpha_bar[t], b = v.sched.sqrt_one_minus_alpha_bar[t];
  // t = 0 is the image itself: no step has added noise, and there is no beta_0 to show
  $('fwd-formula').innerHTML = t === 0
    ? 'x<sub>0</sub>: the training image, before any noise<br><span class="small muted">&alpha;&#772;<sub>0</sub> = 1</span>'
    : `x<sub>${t}</sub> = ${a.toFixed(3)}&middot;x<sub>0</sub> + ${b.toFixed(3)}&middot;&epsilon;` +
      `<br><span class="small muted">&alpha;&#772;<sub>${t}</sub> = ${formatNumber(v.sched.alpha_bar[t])}, ` +
      `&beta;<sub>${t}</sub> = ${formatNumber(v.sched.beta[t])}</span>`;
}

function drawForwardStrip() {
  const v = app.view, wrap = $('fwd-strip');
  wrap.textContent = '';
  const count = 10;
  for (let k = 0; k <= count; k++) {
    const t = Math.round((k * v.T) / count);
    const fig = document.createElement('figure');
    const c = document.createElement('canvas');
    c.width = 48; c.height = 48; c.className = 'pix';
    c.setAttribute('role', 'img');
    c.setAttribute('aria-label', `x t at t = ${t}`);
    const cap = document.createElement('figcaption');
    cap.textContent = `t = ${t}`;
    fig.append(c, cap);
    wrap.append(fig);
    drawImage(c.getContext('2d'), v.model.qSample(v.image, v.eps, t), v.S);
  }
}

export function drawEmbedding() {
  const em = app.embedding;
  heatmap($('emb-heatmap'), em.values, em.T + 1, em.dim, {
    height: 300, vmin: -1, vmax: 1, markerRow: app.fwdT,
    xLabel: 'embedding dimension', yLabel: 't',
  });
}
