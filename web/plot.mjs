// plot.mjs -- small canvas plots for the page: line plots (linear or log y) and a heatmap.
// Drawing only: the numbers come from the wrapper (web/ddpm.mjs). Series are told apart by
// line width and dash as well as colour, and every plot carries a text legend, so nothing
// depends on colour alone.

const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
// the height of a row of tick or axis labels in FONT, with the gap to the next row, and the
// gap between a plot's frame and its x tick labels (so that they clear a y tick label on the
// frame's bottom edge)
const LABEL_ROW = 16, TICK_GAP = 10;

// Draw a label with the context's current alignment and keep the box it takes, in CSS pixels:
// its ink along the line, and down the line both its ink and the font's full height (ascent and
// descent), so that two labels whose boxes meet are too close to read apart. The boxes of a
// plot are its canvas's plotLabels (the browser tests check that none meet).
function label(ctx, boxes, text, x, y) {
  ctx.fillText(text, x, y);
  boxes.push(labelBox(ctx.measureText(text), text, x, y));
}

function labelBox(m, text, x, y) {
  return {
    text, left: x - m.actualBoundingBoxLeft, right: x + m.actualBoundingBoxRight,
    top: y - Math.max(m.actualBoundingBoxAscent, m.fontBoundingBoxAscent),
    bottom: y + Math.max(m.actualBoundingBoxDescent, m.fontBoundingBoxDescent),
  };
}

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

let cachedTheme = null;
export function theme() {
  return cachedTheme ??= {
    ink: cssVar('--ink', '#222'),
    muted: cssVar('--muted', '#666'),
    grid: cssVar('--grid', '#e6e3dc'),
    accent: cssVar('--accent', '#b3261e'),
    accent2: cssVar('--accent2', '#1f5f8b'),
    faint: cssVar('--faint', '#85817a'),
  };
}

// Size a canvas's backing store to its CSS box times the device pixel ratio; returns a context
// whose units are CSS pixels, and the CSS width and height.
function fitCanvas(canvas, cssHeight) {
  const dpr = Math.min(3, window.devicePixelRatio || 1);
  const w = Math.max(120, Math.round(canvas.clientWidth || canvas.parentElement.clientWidth || 300));
  const h = cssHeight ?? Math.round(w * 0.55);
  canvas.style.height = `${h}px`;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

// A short label for a tick value.
export function formatNumber(v) {
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);   // NaN, Infinity: named, not a number made of them
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) {
    // a whole mantissa as such (2e-5), any other to one decimal (2.0e-5 for 2.04e-5), rounded by
    // toExponential, which carries: 9.996e-5 is 1.0e-4, not 10.0e-5
    const e = Math.floor(Math.log10(a)), m = v / 10 ** e, whole = Math.round(m);
    if (Math.abs(m - whole) < 1e-6) return Math.abs(whole) === 10 ? `${Math.sign(m)}e${e + 1}` : `${whole}e${e}`;
    const [ms, es] = v.toExponential(1).split('e');
    return `${ms}e${Number(es)}`;
  }
  // three significant digits, or as many more as it takes not to round to a whole 1 (alpha_bar_1
  // = 0.9999 beside a noise coefficient of 0.010 must not read 1)
  let p = 3;
  while (p < 7 && Math.abs(Number(v.toPrecision(p))) === 1 && a !== 1) p++;
  return String(Number(v.toPrecision(p)));
}

// A duration for the ETA and the Done line: tenths of a second below 10 s, whole seconds below
// a minute ("41 s", not "0:41 min"), then m:ss and h:mm:ss.
export function formatDuration(secs) {
  if (!Number.isFinite(secs)) return '\u2013';
  secs = Math.max(0, secs);
  // (a run of a few steps takes a few ms: "3 steps in 0.0 s" said it took no time, a trial)
  if (secs < 0.05) return `${Math.round(secs * 1000)} ms`;
  if (secs < 9.95) return `${secs.toFixed(1)} s`;
  secs = Math.round(secs);
  if (secs < 60) return `${secs} s`;
  const h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
  const mmss = `${String(m).padStart(h ? 2 : 1, '0')}:${String(s).padStart(2, '0')}`;
  return h ? `${h}:${mmss} h` : `${mmss} min`;
}

function linearTicks(lo, hi, target = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? 10 * p;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

// Ticks of a log axis from lo to hi, at most maxTicks of them: 1, 2 and 5 in each decade over
// up to two decades, else whole powers of 10, every k-th one (k = 1, 2, 3, 5, 10, 20, ...) when
// one per decade would not fit: a diverged loss spans some 20 decades, and a label on each piled
// up into one unreadable column.
export function logTicks(lo, hi, maxTicks = Infinity) {
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const inRange = (v) => v >= lo * 0.999 && v <= hi * 1.001;
  const ticks = (mantissas, every) => {
    const out = [];
    for (let e = e0; e <= e1; e++) {
      if (e % every !== 0) continue;
      for (const k of mantissas) {
        const v = e < 0 ? k / 10 ** -e : k * 10 ** e;   // 1 / 10^4 is 1e-4; 10^-4 is a hair below it
        if (inRange(v)) out.push(v);
      }
    }
    return out;
  };
  if (e1 - e0 <= 2) {
    const fine = ticks([1, 2, 5], 1);
    if (fine.length <= maxTicks) return fine;
  }
  for (let p = 1; ; p *= 10) {
    for (const k of [1, 2, 3, 5]) {
      const out = ticks([1], k * p);
      if (out.length <= Math.max(maxTicks, 2) || k * p > e1 - e0) return out;
    }
  }
}

// The end of the x axis of a curve that grows towards a planned end (the loss over the steps
// planned): the plan, so that the curve fills the axis as the run goes on, unless the run has
// reached less than half of a plan longer than `least`. Then the axis ends at the first 1, 2 or
// 5 x 10^k at or above twice the steps reached (and `least`), and jumps to the next as the run
// goes on. (A trial planned 99,999 steps: at step 44 the curve was a hairline at x = 0.)
export function growingAxisEnd(reached, planned, least = 1000) {
  const want = Math.max(2 * reached, least);
  if (want >= planned) return planned;
  const p = 10 ** Math.floor(Math.log10(want));
  for (const k of [1, 2, 5, 10]) if (k * p >= want) return Math.min(planned, k * p);
}

// Smooth a positive series for display: an exponential moving average of its logarithm (with
// bias correction), i.e. a moving geometric mean. A loss curve is drawn on a log scale, where
// this runs through the middle of the points; a plain average is lifted by each spike (one
// step's loss of 15 among losses of 0.1 held it above almost every point for 40 steps).
export function movingGeoMean(values, weight = 0.9) {
  const out = new Float32Array(values.length);
  let avg = 0, norm = 0;
  for (let i = 0; i < values.length; i++) {
    avg = weight * avg + (1 - weight) * Math.log(values[i]);
    norm = weight * norm + (1 - weight);
    out[i] = Math.exp(avg / norm);
  }
  return out;
}

// linePlot(canvas, {
//   series: [{ y, x?, label, color, width, dash, alpha, from?, shownFrom?, reference? }],   x
//     defaults to the index; points before `from` are left out, and before `shownFrom` not drawn
//     but counted in the range (a curve drawn as far as it has come, on the axes of the whole);
//     a reference line (not the data) is one a marker's label may cover if it must
//   xRange: [lo, hi], xReversed, yLog, yRange: [lo, hi] (else from the data),
//   xLabel, height, empty: 'text shown when there is no data' })
// The tick labels sit on a row under the frame and the axis label on a row of its own below it,
// centred under the frame, so it never runs into the end ticks.
// A moving marker is not drawn here but laid over the canvas by setMarker, so moving it
// redraws nothing.
export function linePlot(canvas, opts) {
  const th = theme();
  const { ctx, w, h } = fitCanvas(canvas, opts.height);
  const series = opts.series.filter((s) => s.y && s.y.length);
  ctx.font = FONT;
  const boxes = [];
  // legend entries flow left to right and wrap; the plot starts below them (the first row low
  // enough for a mark above a letter, as in β̃, to stay on the canvas)
  const legend = [];
  let lx = 8, lrow = 0;
  for (const s of series) {
    if (!s.label) continue;
    const width = 28 + ctx.measureText(s.label).width + 14;
    if (lx + width > w - 4 && lx > 8) { lrow++; lx = 8; }
    legend.push({ s, x: lx, y: 11 + lrow * 16 });
    lx += width;
  }
  const axisRow = opts.xLabel ? 1 : 0;
  const left = 50, right = 16, top = 12 + 16 * (legend.length ? lrow + 1 : 0), bottom = TICK_GAP + LABEL_ROW * (1 + axisRow) + 2;
  const pw = w - left - right, ph = h - top - bottom;

  const xOf = (s, i) => (s.x ? s.x[i] : i);
  let [x0, x1] = opts.xRange ?? [0, Math.max(1, ...series.map((s) => s.y.length - 1))];
  let y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    for (let i = s.from ?? 0; i < s.y.length; i++) {
      const v = s.y[i];
      if (!Number.isFinite(v) || (opts.yLog && v <= 0)) continue;
      if (v < y0) y0 = v;
      if (v > y1) y1 = v;
    }
  }
  if (opts.yRange) [y0, y1] = opts.yRange;
  if (!Number.isFinite(y0)) { y0 = opts.yLog ? 0.01 : 0; y1 = 1; }
  if (opts.yLog && !opts.yRange) {
    // pad to the next whole quarter-decade beyond the data, so a curve never lies on the frame
    // (a line at 0.01 used to be drawn on the top edge, unseen; as a float32 it is a hair below
    // 0.01, hence the 1e-3 of a quarter-decade counted as on it), and show at least one decade,
    // so that a flat curve has ticks to be read against and looks flat
    let l0 = Math.ceil(Math.log10(y0) * 4 - 1e-3) / 4 - 0.25, l1 = Math.floor(Math.log10(y1) * 4 + 1e-3) / 4 + 0.25;
    const pad = Math.max(0, 1 - (l1 - l0)) / 2;
    l0 = Math.floor((l0 - pad) * 4) / 4; l1 = Math.ceil((l1 + pad) * 4) / 4;
    y0 = 10 ** l0; y1 = 10 ** l1;
  } else if (!opts.yRange) {
    if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
    const pad = (y1 - y0) * 0.05;
    y0 -= pad; y1 += pad;
  }
  const X = (x) => left + (opts.xReversed ? (x1 - x) : (x - x0)) / (x1 - x0) * pw;
  const Y = opts.yLog
    ? (y) => top + (Math.log10(y1) - Math.log10(y)) / (Math.log10(y1) - Math.log10(y0)) * ph
    : (y) => top + (y1 - y) / (y1 - y0) * ph;
  // the drawn lines, as runs of pixel points, each with a weight: a marker's label keeps off
  // them, off a curve of the data above all (weight 10) and off a reference line (a series with
  // `reference`: the other preset's curve, a bar, SNR = 1: weight 1) where it can (setMarker)
  const lines = [];
  canvas.plotFrame = { left, top, pw, ph, X, Y, lines };
  // what each series is drawn as, by its label (for a test to hold two plots of one quantity alike)
  canvas.plotSeries = opts.series.filter((s) => s.label).map((s) => ({ label: s.label, color: s.color, dash: !!s.dash }));

  // grid and ticks
  ctx.strokeStyle = th.grid; ctx.lineWidth = 1; ctx.fillStyle = th.muted;
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  const yt = opts.yLog ? logTicks(y0, y1, Math.max(2, Math.floor(ph / LABEL_ROW))) : linearTicks(y0, y1, Math.max(2, Math.round(ph / 40)));
  for (const v of yt) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + pw, y); ctx.stroke();
    label(ctx, boxes, formatNumber(v), left - 6, y);
  }
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  for (const v of linearTicks(x0, x1, Math.max(2, Math.round(pw / 70)))) {
    const x = Math.round(X(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + ph); ctx.stroke();
    label(ctx, boxes, formatNumber(v), x, top + ph + TICK_GAP);
  }
  ctx.strokeStyle = th.muted;
  ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);
  ctx.textBaseline = 'top';
  if (opts.xLabel) {
    ctx.textAlign = 'center';
    label(ctx, boxes, opts.xLabel, left + pw / 2, top + ph + TICK_GAP + LABEL_ROW);
  }

  if (!series.length && opts.empty) {
    ctx.textAlign = 'center'; ctx.textBaseline = 'middle'; ctx.fillStyle = th.muted;
    // wrap the words to the frame's width
    const lines = [];
    for (const word of opts.empty.split(' ')) {
      const last = lines.length ? lines[lines.length - 1] : null;
      if (last !== null && ctx.measureText(`${last} ${word}`).width < pw - 16) lines[lines.length - 1] = `${last} ${word}`;
      else lines.push(word);
    }
    lines.forEach((line, i) => label(ctx, boxes, line, left + pw / 2, top + ph / 2 + (i - (lines.length - 1) / 2) * 16));
  }

  // the series, clipped to the frame
  ctx.save();
  ctx.beginPath(); ctx.rect(left, top, pw, ph); ctx.clip();
  for (const s of series) {
    ctx.strokeStyle = s.color ?? th.ink;
    ctx.globalAlpha = s.alpha ?? 1;
    ctx.lineWidth = s.width ?? 1.5;
    ctx.setLineDash(s.dash ?? []);
    ctx.lineJoin = 'round';
    ctx.beginPath();
    const weight = s.reference ? 1 : 10, firstRun = lines.length;
    let pen = false, run = null;
    for (let i = Math.max(s.from ?? 0, s.shownFrom ?? 0); i < s.y.length; i++) {
      const v = s.y[i], x = xOf(s, i);
      if (!Number.isFinite(v) || (opts.yLog && v <= 0)) { pen = false; continue; }
      if (pen) ctx.lineTo(X(x), Y(v)); else ctx.moveTo(X(x), Y(v));
      if (!pen) lines.push(run = { pts: [], weight });
      run.pts.push(X(x), Y(v));
      pen = true;
    }
    ctx.stroke();
    // a point with no neighbour draws no line: a dot then (a run stopped after its first step
    // would otherwise show an empty plot)
    ctx.fillStyle = ctx.strokeStyle;
    for (const r of lines.slice(firstRun)) {
      if (r.pts.length !== 2) continue;
      ctx.beginPath(); ctx.arc(r.pts[0], r.pts[1], Math.max(2.5, ctx.lineWidth), 0, 2 * Math.PI); ctx.fill();
    }
  }
  ctx.restore();

  // legend: a sample of each line (width and dash) and its label
  ctx.textAlign = 'left'; ctx.textBaseline = 'middle';
  for (const { s, x, y } of legend) {
    ctx.save();
    ctx.strokeStyle = s.color ?? th.ink; ctx.globalAlpha = Math.max(0.6, s.alpha ?? 1);
    ctx.lineWidth = s.width ?? 1.5; ctx.setLineDash(s.dash ?? []);
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 22, y); ctx.stroke();
    ctx.restore();
    ctx.fillStyle = th.ink;
    label(ctx, boxes, s.label, x + 28, y);
  }
  canvas.plotLabels = boxes;
}

// A luminance ramp from dark to light, so the heatmap reads the same in greyscale.
function ramp(u) {
  u = Math.min(1, Math.max(0, u));
  // dark blue-grey -> warm mid -> pale cream; lightness rises monotonically
  const stops = [[24, 28, 48], [88, 70, 120], [178, 92, 84], [232, 170, 92], [252, 246, 226]];
  const f = u * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(f)), r = f - i;
  return stops[i].map((c, j) => Math.round(c + (stops[i + 1][j] - c) * r));
}

// heatmap(canvas, values (rows*cols, row-major), rows, cols, { vmin, vmax, markerRow,
//   xLabel, yLabel, height })
// Rows run down the canvas (row 0 at the top).
export function heatmap(canvas, values, rows, cols, opts = {}) {
  const th = theme();
  const { ctx, w, h } = fitCanvas(canvas, opts.height);
  ctx.font = FONT;
  const boxes = [];
  const left = 50, right = 10, top = 8, bottom = 58;
  const pw = w - left - right, ph = h - top - bottom;
  const vmin = opts.vmin ?? -1, vmax = opts.vmax ?? 1;
  const img = new ImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = ramp((values[i] - vmin) / (vmax - vmin));
    img.data[i * 4] = r; img.data[i * 4 + 1] = g; img.data[i * 4 + 2] = b; img.data[i * 4 + 3] = 255;
  }
  const scratch = new OffscreenCanvas(cols, rows);
  scratch.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, left, top, pw, ph);
  ctx.strokeStyle = th.muted; ctx.strokeRect(left + 0.5, top + 0.5, pw, ph);

  ctx.fillStyle = th.muted; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  for (const v of linearTicks(0, rows - 1, Math.max(2, Math.round(ph / 40)))) {
    label(ctx, boxes, String(v), left - 6, top + (v + 0.5) / rows * ph);
  }
  ctx.textAlign = 'center'; ctx.textBaseline = 'top';
  for (const v of linearTicks(0, cols - 1, Math.max(2, Math.round(pw / 60)))) {
    label(ctx, boxes, String(v), left + (v + 0.5) / cols * pw, top + ph + 3);
  }
  if (opts.markerRow !== undefined && opts.markerRow !== null) {
    const y = top + (opts.markerRow + 0.5) / rows * ph;
    ctx.save();
    ctx.strokeStyle = '#fff'; ctx.lineWidth = 3;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + pw, y); ctx.stroke();
    ctx.strokeStyle = '#000'; ctx.lineWidth = 1; ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + pw, y); ctx.stroke();
    ctx.restore();
  }
  if (opts.xLabel) {
    ctx.fillStyle = th.muted; ctx.textAlign = 'right'; ctx.textBaseline = 'top';
    label(ctx, boxes, opts.xLabel, left + pw, top + ph + 3 + LABEL_ROW);
  }
  // colour bar with its values, on a row of its own
  ctx.textBaseline = 'middle'; ctx.textAlign = 'left';
  const by = h - 14, lo = `${formatNumber(vmin)} dark`, hi = `${formatNumber(vmax)} light`;
  const x0 = 8 + ctx.measureText(lo).width + 6, bw = Math.max(40, Math.min(160, w - x0 - ctx.measureText(hi).width - 16));
  ctx.fillStyle = th.muted;
  label(ctx, boxes, lo, 8, by);
  for (let i = 0; i < bw; i++) {
    const [r, g, b] = ramp(i / (bw - 1));
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x0 + i, by - 5, 1, 10);
  }
  ctx.strokeStyle = th.muted; ctx.strokeRect(x0 + 0.5, by - 4.5, bw, 10);
  ctx.fillStyle = th.muted;
  label(ctx, boxes, hi, x0 + bw + 6, by);
  if (opts.yLabel) {
    const cx = 10, cy = top + ph / 2;
    ctx.save(); ctx.translate(cx, cy); ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center'; ctx.fillText(opts.yLabel, 0, 0);
    // turned a quarter left: the text's up points left and its reading direction up
    const b = labelBox(ctx.measureText(opts.yLabel), opts.yLabel, 0, 0);
    boxes.push({ text: b.text, left: cx + b.top, right: cx + b.bottom, top: cy - b.right, bottom: cy - b.left });
    ctx.restore();
  }
  canvas.plotLabels = boxes;
}

// Whether the run of points pts passes through the box [x0, x1] x [y0, y1] (pixels): each segment
// that reaches across the box's columns is cut to them (a vertical one is kept whole), and its
// rows compared.
function runCrosses(pts, x0, x1, y0, y1) {
  for (let i = 0; i + 3 < pts.length; i += 2) {
    const ax = pts[i], ay = pts[i + 1], bx = pts[i + 2], by = pts[i + 3];
    const lo = Math.max(x0, Math.min(ax, bx)), hi = Math.min(x1, Math.max(ax, bx));
    if (lo > hi) continue;
    const at = (px) => ay + (by - ay) * (px - ax) / (bx - ax);
    const [ya, yb] = bx === ax ? [ay, by] : [at(lo), at(hi)];
    if (Math.max(ya, yb) >= y0 && Math.min(ya, yb) <= y1) return true;
  }
  return false;
}

// What the lines drawn on the frame cost a box: the weight of each that passes through it widened
// by `pad` (for the lines' width), and that weight again if it passes through the box itself; 0
// when it is clear, and a line that only comes near costs less than one that crosses.
function linesCost(frame, x0, x1, y0, y1, pad = 2) {
  let cost = 0;
  for (const run of frame.lines ?? []) {
    if (!runCrosses(run.pts, x0 - pad, x1 + pad, y0 - pad, y1 + pad)) continue;
    cost += run.weight * (runCrosses(run.pts, x0, x1, y0, y1) ? 2 : 1);
  }
  return cost;
}

// A dotted vertical line over a plot drawn by linePlot, at x, with an optional label; null hides
// it. The canvas must sit in a positioned box (.plot-box) of its own. The label goes beside the
// line (on its left past the middle) at the top of the frame, unless a line runs there: then
// at the bottom, then on the line's other side, then lower down the frame, wherever no line is
// drawn (the paper's MSE curve runs flat along the top, and its label hid its last steps), or
// else where it covers the least (a reference line rather than a curve of the data).
export function setMarker(canvas, x, label = '') {
  let m = canvas.nextElementSibling;
  if (!m || !m.classList.contains('plot-marker')) {
    m = document.createElement('div');
    m.className = 'plot-marker';
    m.setAttribute('aria-hidden', 'true');
    m.append(document.createElement('span'));
    canvas.after(m);
  }
  const f = canvas.plotFrame;
  if (!f || x === null || x === undefined) {
    m.hidden = true;
    return;
  }
  const px = Math.round(f.X(x));
  m.hidden = false;
  m.style.top = `${f.top}px`;
  m.style.height = `${f.ph}px`;
  m.style.transform = `translateX(${px}px)`;
  const span = m.firstChild;
  // the label on one line, or stacked ("t = N:" over the value, or over each of its values):
  // its size
  const shape = (stacked) => {
    const text = stacked ? label.replace(': ', ':\n').replaceAll(', ', '\n') : label;
    if (span.textContent !== text) span.textContent = text;
    m.classList.toggle('stacked', stacked);
    return [span.offsetWidth, span.offsetHeight];
  };
  let place = [false, 2, false];   // [on the line's left, top within the frame, stacked]
  if (!label) {
    shape(false);
  } else if (m.place && markerLabelCost(f, px, ...shape(m.place[2]), m.place) === 0) {
    place = m.place;   // the place it had, still clear: a label moving along with t should not jump
  } else {
    // one line where it covers nothing, else stacked if that covers less: narrower, it finds room
    // beside a steep curve that a line of text would cross (the recommended preset's alpha_bar)
    const flat = markerLabelPlace(f, px, ...shape(false));
    place = [...flat.place, false];
    if (flat.cost > 0 && label.includes(': ')) {
      const tall = markerLabelPlace(f, px, ...shape(true));
      if (tall.cost < flat.cost) place = [...tall.place, true];
      else shape(false);
    }
  }
  m.place = label ? place : null;
  m.classList.toggle('flip', place[0]);
  span.style.top = `${place[1]}px`;
}

// { place: [on the line's left, top within the frame], cost } for a label w x h beside a marker
// at pixel px: the first place in setMarker's order that covers no line, else the first that
// covers the least, and what it covers (markerLabelCost)
function markerLabelPlace(f, px, w, h) {
  const edge = 2, usual = px > f.left + f.pw / 2;
  const ends = [edge, f.ph - edge - h], middle = [];
  for (let y = edge + h; y < f.ph - edge - h; y += Math.max(4, h / 2)) middle.push(y);
  const tries = [...ends.map((y) => [usual, y]), ...ends.map((y) => [!usual, y]),
    ...middle.map((y) => [usual, y]), ...middle.map((y) => [!usual, y])];
  let best = [usual, edge], least = Infinity;
  for (const place of tries) {
    const cost = markerLabelCost(f, px, w, h, place);
    if (cost < least) [best, least] = [place, cost];
    if (cost === 0) break;
  }
  return { place: best, cost: least };
}

// What a label at `place` covers (linesCost); Infinity off the frame's side, top or bottom (a
// place kept from before a resize can lie below a plot that got shorter, over its axis). The
// dashed line is the marker's 1 px left border, so a label 4 px from it (style.css) starts 5 px
// right of px, or ends 3 px left of it.
function markerLabelCost(f, px, w, h, [left, y]) {
  const x0 = left ? px - 3 - w : px + 5;
  if (x0 < f.left || x0 + w > f.left + f.pw || y < 0 || y + h > f.ph) return Infinity;
  return linesCost(f, x0, x0 + w, f.top + y, f.top + y + h);
}
