// page_speed.mjs -- the page's own training speed, in headless Chromium: what a visitor sees.
//   node scripts/page_speed.mjs [--batch 16] [--steps 100] [--preset recommended] [--runs 3] [--web DIR]
// Opens the page (served from DIR, web/ by default, so an older build can be compared), presses
// Train and reads the Done line's "steps/s on average" and the frame intervals while it trained.
// The page trains in slices of a few ms per animation frame (web/train-view.mjs), so this is
// slower than a step timed in Node (make bench): it measures the slicing as well as the kernels.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, startServer } from '../tests/lib/browser.mjs';

const USAGE = 'usage: node scripts/page_speed.mjs [--batch 16] [--steps 100] [--preset recommended] [--runs 3] [--web DIR]';
function refuse(message) {
  console.error(`page_speed: ${message}\n${USAGE}`);
  process.exit(2);
}
let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      batch: { type: 'string', default: '16' },
      steps: { type: 'string', default: '100' },
      preset: { type: 'string', default: 'recommended' },
      runs: { type: 'string', default: '3' },
      web: { type: 'string', default: fileURLToPath(new URL('../web', import.meta.url)) },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (e) {
  refuse(e.message);
}
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const runs = Number(opt.runs);
if (!(Number.isInteger(runs) && runs >= 1)) refuse(`--runs must be a whole number >= 1 (got ${opt.runs})`);

let server = null, browser = null;
try {
  server = await startServer(resolve(opt.web));
  browser = await launchBrowser();
  const results = [];
  for (let r = 0; r < runs; r++) {
    const page = await browser.context.newPage();
    const query = new URLSearchParams({ preset: opt.preset, batch: opt.batch, steps: opt.steps });
    await page.goto(`${server.origin}/?${query}`);
    await page.waitForFunction(() => document.body.dataset.ready === '1' && window.ddpmPage.model);
    const refused = await page.textContent('#train-status');
    if (/Ignored/.test(refused)) {
      process.exitCode = 2;
      throw new Error(`the page refused a setting: ${refused.replace(/^Ready\. /, '')}`);
    }
    await page.click('#btn-train');
    await page.waitForFunction(() => /^(Done|Stopped)/.test(document.querySelector('#train-status').textContent),
      null, { timeout: 30 * 60 * 1000 });
    const done = await page.textContent('#train-status');
    const rate = /\(([\d.]+) steps\/s on average\)/.exec(done);
    if (!rate) throw new Error(`training did not finish: ${done}`);
    const frames = (await page.evaluate(() => window.ddpmPage.frameIntervals())).sort((a, b) => a - b);
    results.push({ steps_per_s: Number(rate[1]) });
    // a run done within its first frame has no interval between two frames to show
    console.log(`run ${r + 1}: ${rate[1]} steps/s; ` + (frames.length
      ? `frame interval median ${frames[frames.length >> 1].toFixed(1)} ms, longest ${frames.at(-1).toFixed(1)} ms`
      : 'done within one frame'));
    await page.close();
  }
  const rates = results.map((x) => x.steps_per_s).sort((a, b) => a - b), mid = rates.length >> 1;
  const median = rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
  console.log(`${opt.preset}, batch ${opt.batch}, ${opt.steps} steps: median ${median.toFixed(1)} steps/s over ${runs} run${runs > 1 ? 's' : ''}`);
} catch (e) {
  console.error(`page_speed: ${e.message}`);
  process.exitCode ||= 1;
} finally {
  await browser?.close();
  await server?.close();
}
