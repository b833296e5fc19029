// The page's settings (web/settings.mjs): what the address bar may hold, and what is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FIELDS, SPEEDS, parseField, describeField, settingsFromQuery, settingsToQuery, presetDefaults, SAMPLE_DEFAULTS, ignoredText, settingsFromCheckpoint } from '../web/settings.mjs';
import { PRESETS } from '../web/ddpm.mjs';

test('each kind of field takes its values and refuses the rest', () => {
  assert.equal(parseField('steps', ' 200 '), 200);
  for (const bad of ['0', '100001', '2.5', '', 'abc', '1e400', null, undefined]) assert.equal(parseField('steps', bad), undefined, `steps ${bad}`);
  assert.equal(parseField('batch', String(FIELDS.batch.max)), FIELDS.batch.max);
  assert.equal(parseField('batch', String(FIELDS.batch.max + 1)), undefined);
  assert.equal(parseField('seed', '4294967295'), 4294967295);
  assert.equal(parseField('seed', '4294967296'), undefined);
  // the learning rate: above 0, a value a float holds (AdamW runs in float), below 1 / weight decay
  assert.equal(parseField('lr', '1e-3'), 1e-3);
  // (the bound the message gives, 1.4e-45, is the one applied: 1e-45 rounds to it in float, but is below it)
  for (const bad of ['0', '-1e-3', '1e-50', '1e-45', '100', 'NaN', 'Infinity']) assert.equal(parseField('lr', bad), undefined, `lr ${bad}`);
  assert.equal(parseField('lr', '1.4e-45'), 1.4e-45);
  assert.equal(parseField('lr', '99.9'), 99.9);
  // below 100, but C refuses it: in float, where AdamW decays, lr * 0.01 rounds to 1
  assert.equal(parseField('lr', '99.99999999999999'), undefined);
  assert.equal(parseField('lr', '99.99999'), 99.99999);
  // decimal only: Number() would read hexadecimal and binary too (0x10 as a learning rate of 16)
  for (const [key, text] of [['lr', '0x10'], ['lr', '0b1'], ['steps', '0x10'], ['seed', '0o7'], ['sample', '1_000'], ['steps', '+']])
    assert.equal(parseField(key, text), undefined, `${key} ${text}`);
  assert.equal(parseField('lr', '.5'), 0.5);
  assert.equal(parseField('lr', '5E-4'), 5e-4);
  assert.equal(parseField('steps', '+20'), 20);
  assert.equal(parseField('sigma', 'beta-tilde'), 'beta-tilde');
  assert.equal(parseField('sigma', 'tilde'), undefined);
  assert.equal(parseField('clip', '1'), true);
  assert.equal(parseField('clip', 'false'), false);
  assert.equal(parseField('clip', 'yes'), undefined);
  assert.equal(parseField('preset', 'paper'), 'paper');
  assert.equal(parseField('preset', 'Paper'), undefined);
  assert.equal(describeField('steps'), 'a whole number from 1 to 100000');
  assert.equal(describeField('lr'), "a number above 0 and below 100 (at 100 = 1 / the weight decay 0.01, " +
    "each step's decay would zero the weights, and above it flip their sign; below 1.4e-45, the smallest a float holds, a rate is 0 in training)");
  // the short form names the lower bound too: 1e-50 is above 0, and refused
  assert.equal(describeField('lr', { why: false }), 'a number above 0 (at least 1.4e-45) and below 100', 'a list of refusals has no room for the why');
  assert.equal(describeField('preset'), `one of ${Object.keys(PRESETS).join(', ')}`);
});

test('a query string gives its preset\'s defaults, then its own values; a bad value is named and left out', () => {
  const none = settingsFromQuery('');
  assert.deepEqual(none.ignored, []);
  assert.deepEqual(none.settings, { preset: 'recommended', steps: 200, batch: 1, lr: 1e-3, sigma: 'beta', clip: false, seed: 0, sample: 0, speed: '1' });
  // a preset brings its training plan only: the sampling choices are not a preset's
  assert.deepEqual(Object.keys(presetDefaults('paper')), ['steps', 'batch', 'lr']);
  assert.deepEqual(SAMPLE_DEFAULTS, { sigma: 'beta', clip: false });
  // no brackets inside brackets in the list of what was ignored
  assert.deepEqual(settingsFromQuery('?lr=abc').ignored, ['lr=abc (must be a number above 0 (at least 1.4e-45) and below 100)']);
  // a switch takes the four spellings it reads, and its refusal names all four
  assert.equal(settingsFromQuery('?clip=true').settings.clip, true);
  assert.deepEqual(settingsFromQuery('?clip=2').ignored, ['clip=2 (must be 0, 1, false or true)']);
  // a key given twice, and a key that is no setting, are named too
  const twice = settingsFromQuery('?steps=200&steps=300&foo=bar');
  assert.equal(twice.settings.steps, 200);
  assert.deepEqual(twice.ignored, ['steps=300 (steps given again: the first is read)', 'foo=bar (not a setting)']);
  // a model setting the page does not take, as the command line does (the trial read T=7 as "not a setting")
  assert.deepEqual(settingsFromQuery('?T=7&schedule=cosine').ignored, [
    "T=7 (a setting of the model this page does not take: it keeps the preset's T)",
    "schedule=cosine (a setting of the model this page does not take: it keeps the preset's schedule)"]);
  // the names an object holds of its own kind are no settings either
  assert.deepEqual(settingsFromQuery('?constructor=1&toString=x&__proto__=2').ignored,
    ['constructor=1 (not a setting)', 'toString=x (not a setting)', '__proto__=2 (not a setting)']);
  const { settings, ignored } = settingsFromQuery('?preset=paper&steps=50&lr=2e-3&seed=abc&clip=1&speed=7');
  assert.equal(settings.preset, 'paper');
  assert.equal(settings.steps, 50);
  assert.equal(settings.lr, 2e-3);
  assert.equal(settings.seed, 0, 'a refused seed keeps the default');
  assert.equal(settings.clip, true);
  assert.equal(settings.speed, '1');
  assert.deepEqual(ignored, ['seed=abc (must be a whole number from 0 to 4294967295)', 'speed=7 (must be one of 0.25, 0.5, 1, 2, 5)']);
  // a long key or value is named by its first 40 characters and its length, and a long list by
  // its first five items (a 3000-character key filled a phone's screen)
  const long = settingsFromQuery(`?${'k'.repeat(3000)}=1&steps=${'9'.repeat(41)}`);
  assert.deepEqual(long.ignored, [`${'k'.repeat(40)}… (3000 characters)=1 (not a setting)`,
    `steps=${'9'.repeat(40)}… (41 characters) (must be a whole number from 1 to 100000)`]);
  assert.equal(settingsFromQuery(`?steps=${'9'.repeat(40)}`).ignored[0].startsWith(`steps=${'9'.repeat(40)} (`), true, '40 characters are named whole');
  const many = settingsFromQuery('?' + Array.from({ length: 8 }, (_, i) => `x${i}=1`).join('&'));
  assert.equal(ignoredText(many.ignored), 'x0=1 (not a setting); x1=1 (not a setting); x2=1 (not a setting); ' +
    'x3=1 (not a setting); x4=1 (not a setting); and 3 more (x5, x6, x7)');
  // the keys of the rest are named, the first ten of them, so that a shared link can be mended
  const lots = settingsFromQuery('?' + Array.from({ length: 20 }, (_, i) => `x${i}=1`).join('&') + '&seed=-5&sigma=zz');
  assert.match(ignoredText(lots.ignored), /; x4=1 \(not a setting\); and 17 more \(x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, …\)$/);
  const tail = settingsFromQuery('?preset=foo&steps=abc&batch=0&lr=-1&seed=-5&sigma=zzz&clip=7&sample=-1&speed=99');
  assert.match(ignoredText(tail.ignored), /; and 4 more \(sigma, clip, sample, speed\)$/);
  assert.equal(ignoredText(twice.ignored), twice.ignored.join('; '));
  // six are all named: "and 1 more" hid one in the space its name takes (a trial)
  const six = settingsFromQuery('?' + Array.from({ length: 6 }, (_, i) => `x${i}=1`).join('&'));
  assert.equal(ignoredText(six.ignored), six.ignored.join('; '));
  // an unknown preset falls back to the recommended one, and says so
  const odd = settingsFromQuery('preset=best');
  assert.equal(odd.settings.preset, 'recommended');
  assert.match(odd.ignored[0], /^preset=best \(must be one of /);
});

test('the settings written as a query string read back the same', () => {
  const s = { preset: 'paper', steps: 1234, batch: 16, lr: 3e-4, seed: 4294967295, sigma: 'beta-tilde', clip: true, sample: 7, speed: '0.25' };
  const text = settingsToQuery(s);
  assert.equal(text, 'preset=paper&steps=1234&batch=16&lr=0.0003&seed=4294967295&sigma=beta-tilde&clip=1&sample=7&speed=0.25');
  assert.deepEqual(settingsFromQuery(text), { settings: s, ignored: [] });
});

test('the speeds the address bar takes are the ones the page offers', () => {
  const html = readFileSync(new URL('../web/index.html', import.meta.url), 'utf8');
  const select = html.match(/<select id="speed"[^>]*>([\s\S]*?)<\/select>/);
  assert.ok(select, 'index.html has the speed select');
  assert.deepEqual([...select[1].matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]), SPEEDS);
});

test("a refused Steps names the rule it breaks first, and a model at the page's bound is told where it can go on", async () => {
  const { stepsRule, stepsProblem } = await import('../web/controls.mjs');
  assert.equal(stepsProblem('150', 200), 'more than the 200 steps already taken (a whole number from 201 to 100000)');
  assert.equal(stepsProblem('1e9', 200), 'at most 100000 (a whole number from 201 to 100000)');
  assert.equal(stepsProblem('250.5', 200), 'a whole number (from 201 to 100000)');
  assert.equal(stepsProblem('', 200), 'a whole number from 201 to 100000');
  // a checkpoint from the command line at or past the page's bound: no range that reads backwards
  const atBound = "more than the 100000 steps already taken, and the page's Steps stops at 100000: this model trains on only on the command line";
  assert.equal(stepsRule(100000), atBound);
  assert.equal(stepsProblem('5', 100000), atBound);
  assert.doesNotMatch(stepsRule(123456), /from 123457 to 100000/);
});

// A version 2 checkpoint's run settings on the page: the ones its fields hold, and, in words, a
// value past a field's bounds and a setting the page does not offer that differs from the preset's
test('a checkpoint of version 2 gives the page its run settings, and names what the page cannot take', () => {
  const header = (settings) => ({ settings: { ...PRESETS.recommended.config, ...settings } });
  const same = settingsFromCheckpoint(header({ steps: 500, batch: 4, lr: 3e-3, seed: 9, sigma: 'beta-tilde', clip_x0: 1 }), 'recommended');
  assert.deepEqual(same, { settings: { steps: 500, batch: 4, lr: 3e-3, seed: 9, sigma: 'beta-tilde', clip: true }, untaken: [], others: [] });
  const far = settingsFromCheckpoint(header({ steps: 200000, batch: 100, weight_decay: 0.1, lr_schedule: 'cosine' }), 'recommended');
  assert.deepEqual(Object.keys(far.settings), ['lr', 'seed', 'sigma', 'clip']);
  assert.equal(far.settings.clip, false);
  assert.deepEqual(far.untaken, [
    { key: 'steps', value: 200000, takes: 'a whole number from 1 to 100000' },
    { key: 'batch', value: 100, takes: 'a whole number from 1 to 64' },
  ]);
  assert.deepEqual(far.others, [
    "learning-rate schedule cosine (the page trains with the preset's constant)",
    "weight decay 0.1 (the page trains with the preset's 0.01)",
  ]);
  // the floor of a cosine decay is named only with the cosine decay
  assert.deepEqual(settingsFromCheckpoint(header({ lr_min_frac: 0.1 }), 'recommended').others, []);
  assert.deepEqual(settingsFromCheckpoint(header({ lr_min_frac: 0.1, lr_schedule: 'cosine' }), 'recommended').others,
    ["learning-rate schedule cosine (the page trains with the preset's constant)", "learning-rate floor (a fraction of it) 0.1 (the page trains with the preset's 0)"]);
  // a version 1 file has no settings to give
  assert.deepEqual(settingsFromCheckpoint({ settings: null }, 'paper'), { settings: {}, untaken: [], others: [] });
});
