#!/usr/bin/env node
// dist.mjs -- copy the page (web/, including the built web/wasm modules) into dist/, a folder
// that any static host can serve as is. Run through `make dist`, which builds the modules first.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleFiles } from '../web/ddpm.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = join(root, 'web'), dist = join(root, 'dist');

const needed = ['index.html', 'style.css', 'app.mjs', 'state.mjs', 'controls.mjs', 'panels.mjs', 'train-view.mjs', 'sample-view.mjs',
  'checkpoints.mjs', 'settings.mjs', 'pacing.mjs', 'loss-words.mjs', 'ddpm.mjs', 'draw.mjs', 'plot.mjs',
  ...moduleFiles(true), ...moduleFiles(false)];
const missing = needed.filter((f) => !existsSync(join(web, f)));
if (missing.length) {
  console.error(`dist: missing ${missing.map((f) => 'web/' + f).join(', ')} (run make first)`);
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(web, dist, { recursive: true });
// GitHub Pages runs Jekyll unless told not to; nothing here needs it
writeFileSync(join(dist, '.nojekyll'), '');

let files = 0, bytes = 0;
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name), s = statSync(p);
    if (s.isDirectory()) walk(p); else { files++; bytes += s.size; }
  }
})(dist);
console.log(`dist: ${files} files, ${(bytes / 1024).toFixed(0)} KiB in dist/ (serve it with: node scripts/serve.mjs --root dist)`);
