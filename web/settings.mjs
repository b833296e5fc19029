// settings.mjs -- the page's settings as the address bar holds them: the keys, the values each
// one takes, and reading and writing them as a query string. Nothing here touches the page, so
// Node tests it directly (tests/settings.test.mjs); state.mjs puts the query in the address bar.
import { PRESETS, DEFAULTS } from './ddpm.mjs';

// playback speeds of the reverse chain, in steps per frame
export const SPEEDS = ['0.25', '0.5', '1', '2', '5'];

export const FIELDS = {
  preset: { kind: 'enum', values: Object.keys(PRESETS) },
  steps: { kind: 'int', min: 1, max: 100000 },
  batch: { kind: 'int', min: 1, max: DEFAULTS.max_batch },
  // C's own bounds (c/config.c): lr * weight_decay < 1 (both presets decay by 0.01), and a value
  // a float holds (AdamW runs in float: 1e-50 would be 0 there; the page asks for its smallest,
  // 1.4e-45, where C takes anything that rounds to it). C takes the product as AdamW computes
  // it, in float, and so does fits: 99.99999999999999 is below 100, but it and 0.01 round to
  // floats whose product rounds to 1, a decay of 0
  // (said "above 0" first: two trials found "at least 1.4e-45" a float's detail before the rule)
  lr: { kind: 'num', least: 1.4e-45, leastWords: 'above 0', below: 1 / DEFAULTS.weight_decay,
    fits: (v) => Math.fround(Math.fround(v) * Math.fround(DEFAULTS.weight_decay)) < 1,
    why: `at ${1 / DEFAULTS.weight_decay} = 1 / the weight decay ${DEFAULTS.weight_decay}, each step's decay would zero the weights, ` +
      "and above it flip their sign; below 1.4e-45, the smallest a float holds, a rate is 0 in training" },
  seed: { kind: 'int', min: 0, max: 4294967295 },
  sigma: { kind: 'enum', values: ['beta', 'beta-tilde'] },
  clip: { kind: 'bool' },
  sample: { kind: 'int', min: 0, max: 4294967295 },
  speed: { kind: 'enum', values: SPEEDS },
};

// the settings a preset brings with it: its training plan. The rest stay as they are when the
// preset changes; the sampling choices (sigma, clip) are the user's, whatever the model
export function presetDefaults(preset) {
  const c = PRESETS[preset].config;
  return { steps: c.steps, batch: c.batch, lr: c.lr };
}

// What a checkpoint of version 2 brings to the page: the settings of the run that wrote it, those
// the page's fields can hold (`settings`: steps, batch, lr, seed, and the sampling choices its
// run sampled with, sigma and clip); those values the fields cannot hold (`untaken`: { key,
// value, takes }, for the caller to say what it uses instead); and, in words, the settings of
// training the page does not offer whose values differ from the preset's, which the page's
// training then uses (`others`). A version 1 file carries none.
const PAGE_FROM_FILE = { steps: 'steps', batch: 'batch', lr: 'lr', seed: 'seed', sigma: 'sigma', clip: 'clip_x0' };
const PRESET_ONLY = ['lr_schedule', 'lr_min_frac', 'weight_decay', 'beta1', 'beta2', 'adam_eps'];
// the settings in the words of the page (the form's labels, and AdamW's own symbols)
export const SETTING_WORDS = {
  steps: 'steps', batch: 'batch', lr: 'learning rate', seed: 'seed', sigma: 'σₜ²', clip: 'clipping', lr_schedule: 'learning-rate schedule',
  lr_min_frac: 'learning-rate floor (a fraction of it)', weight_decay: 'weight decay', beta1: 'AdamW β₁', beta2: 'AdamW β₂',
  adam_eps: 'AdamW ε',
};
export function settingsFromCheckpoint(header, preset) {
  const file = header.settings, settings = {}, untaken = [], others = [];
  if (!file) return { settings, untaken, others };
  for (const [key, fileKey] of Object.entries(PAGE_FROM_FILE)) {
    const v = parseField(key, String(file[fileKey]));
    if (v !== undefined) settings[key] = v;
    else untaken.push({ key, value: file[fileKey], takes: describeField(key, { why: false }) });
  }
  const config = PRESETS[preset].config;
  // (the EMA has words of its own: the file's EMA weights, which the page does not keep; the
  // floor of a cosine decay means nothing to a constant rate)
  for (const key of PRESET_ONLY) {
    if (key === 'lr_min_frac' && file.lr_schedule !== 'cosine') continue;
    if (String(file[key]) !== String(config[key])) others.push(`${SETTING_WORDS[key]} ${file[key]} (the page trains with the preset's ${config[key]})`);
  }
  return { settings, untaken, others };
}

// the sampling choices a page starts with (the paper's: sigma_t^2 = beta_t, no clipping)
export const SAMPLE_DEFAULTS = { sigma: DEFAULTS.sigma, clip: !!Number(DEFAULTS.clip_x0) };

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

// decimal only: Number() also reads '0x10' as 16 and '0b11' as 3, which no one types as a
// learning rate or a seed (the command line reads its numbers with this too)
export const isDecimal = (text) => DECIMAL.test(String(text).trim());

// Parse one value; returns undefined if it is not acceptable.
export function parseField(key, text) {
  const f = FIELDS[key];
  if (text === null || text === undefined) return undefined;
  text = String(text).trim();
  if (f.kind === 'enum') return f.values.includes(text) ? text : undefined;
  if (f.kind === 'bool') return text === '1' || text === 'true' ? true : text === '0' || text === 'false' ? false : undefined;
  if (!isDecimal(text)) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v)) return undefined;
  if (f.kind === 'int' && !Number.isInteger(v)) return undefined;
  if (f.kind === 'num') return v >= f.least && v < f.below && f.fits(v) ? v : undefined;
  if (v < f.min || v > f.max) return undefined;
  return v;
}

// what a field takes, for the messages that refuse a value; with why, the reason of its bounds
// (a field's own refusal has room for it, a list of refused values does not)
export function describeField(key, { why = true } = {}) {
  const f = FIELDS[key];
  if (f.kind === 'int') return `a whole number from ${f.min} to ${f.max}`;
  if (f.kind === 'num') {
    const least = !f.leastWords ? `of at least ${f.least}` : why ? f.leastWords : `${f.leastWords} (at least ${f.least})`;
    return `a number ${least} and below ${f.below}${why ? ` (${f.why})` : ''}`;
  }
  if (f.kind === 'bool') return '0, 1, false or true';
  return `one of ${f.values.join(', ')}`;
}

// The settings a query string asks for: its preset's defaults (recommended without one), then
// each value it holds that parses. A value that does not is named in `ignored` and left out, as
// are a key given twice (the first value is read) and a key that is no setting.
export function settingsFromQuery(search) {
  const q = new URLSearchParams(search);
  const ignored = [];
  // a key or value from the address is named in up to 40 characters: a 3000-character key filled
  // a phone's screen with the status line
  const named = (text) => (text.length > 40 ? `${text.slice(0, 40)}… (${text.length} characters)` : text);
  const seen = new Set();
  for (const [key, value] of q) {
    // a setting of the model that the page does not take (T, schedule, ...): the preset's holds
    if (!Object.hasOwn(FIELDS, key) && Object.hasOwn(DEFAULTS, key)) {
      ignored.push(`${key}=${named(value)} (a setting of the model this page does not take: it keeps the preset's ${key})`);
    } else if (!Object.hasOwn(FIELDS, key)) ignored.push(`${named(key)}=${named(value)} (not a setting)`);
    else if (seen.has(key)) ignored.push(`${key}=${named(value)} (${key} given again: the first is read)`);
    seen.add(key);
  }
  const read = (key) => {
    if (!q.has(key)) return undefined;
    const v = parseField(key, q.get(key));
    if (v === undefined) ignored.push(`${key}=${named(q.get(key))} (must be ${describeField(key, { why: false })})`);
    return v;
  };
  const preset = read('preset') ?? 'recommended';
  const s = { preset, ...presetDefaults(preset), ...SAMPLE_DEFAULTS, seed: 0, sample: 0, speed: '1' };
  for (const key of Object.keys(FIELDS)) {
    if (key === 'preset') continue;
    const v = read(key);
    if (v !== undefined) s[key] = v;
  }
  return { settings: s, ignored };
}

// The status line's list of what the address asked for and the page ignored: the first few with
// their reasons, then how many more and the keys of the next few (a page opened from a long, wrong
// link says so in a line or two, and its user can still find every key to mend: a trial was told
// "and 4 more" and could not). One more is named, not counted: "and 1 more" hid a key in the
// space its name takes (a trial)
const IGNORED_SHOWN = 5, MORE_KEYS_SHOWN = 10;
export function ignoredText(ignored) {
  const shown = ignored.length === IGNORED_SHOWN + 1 ? ignored.length : IGNORED_SHOWN, more = ignored.length - shown;
  if (more <= 0) return ignored.join('; ');
  // each entry is "key=value (why)": the key is what comes before its first '='
  const keys = ignored.slice(shown).map((entry) => entry.slice(0, entry.indexOf('=')));
  const named = keys.slice(0, MORE_KEYS_SHOWN).join(', ') + (keys.length > MORE_KEYS_SHOWN ? ', …' : '');
  return `${ignored.slice(0, shown).join('; ')}; and ${more} more (${named})`;
}

// every setting, in FIELDS order, as a query string (without the '?')
export function settingsToQuery(s) {
  const q = new URLSearchParams();
  for (const key of Object.keys(FIELDS)) {
    const v = s[key];
    q.set(key, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  return q.toString();
}
