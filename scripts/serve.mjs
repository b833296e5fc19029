#!/usr/bin/env node
// serve.mjs -- a static file server for web/ (the page is plain files: no server-side code).
//   node scripts/serve.mjs            serves on http://127.0.0.1:8000
//   PORT=9000 node scripts/serve.mjs  another port (PORT=0 picks a free one); or --port 9000
//   node scripts/serve.mjs --root dist
//   --log prints each request; --help
// Modules and wasm need the right MIME types: .mjs/.js as text/javascript (else the browser
// refuses to run them as modules) and .wasm as application/wasm (for streaming compilation).
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { moduleFiles } from '../web/ddpm.mjs';

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

const here = fileURLToPath(new URL('.', import.meta.url));
const USAGE = 'usage: node scripts/serve.mjs [--root DIR] [--port N] [--log]   (or PORT=N; default 8000, 0 = any free port)';

// Serve `root` on host:port; resolves with the server once it listens (server.address().port).
export function serve({ root = join(here, '..', 'web'), host = '127.0.0.1', port = 8000, log = false } = {}) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const reply = (status, text) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(text);
      if (log) console.log(`${status} ${req.method} ${req.url}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return reply(400, 'bad request\n');
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) return reply(403, 'forbidden\n');
    let stat;
    try {
      stat = statSync(file);
    } catch {
      return reply(404, `not found: ${path}\n`);
    }
    if (stat.isDirectory()) {
      res.writeHead(301, { Location: `${path}/` });
      return res.end();
    }
    res.writeHead(200, {
      'Content-Type': MIME[extname(file).toLowerCase()] || 'application/octet-stream',
      'Content-Length': stat.size,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
    if (log) console.log(`200 GET ${path}`);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Node's own argument parser: an unknown or misspelt flag is an error, never silently ignored
  let values;
  try {
    ({ values } = parseArgs({ options: {
      root: { type: 'string' }, port: { type: 'string' }, log: { type: 'boolean' }, help: { type: 'boolean' },
    } }));
  } catch (e) {
    console.error(`serve: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const root = values.root !== undefined ? resolve(values.root) : undefined;
  const portText = values.port ?? process.env.PORT ?? '8000';
  const port = Number(portText);
  if (portText.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: the port must be an integer in 0..65535 (got '${portText}')`);
    process.exit(2);
  }
  // a root that is no folder serves only 404s, and one without the built module a page that
  // cannot run (a trial served an unbuilt clone, and the page blamed the connection)
  const base = root ?? resolve(here, '..', 'web'), named = values.root !== undefined ? `--root ${values.root}` : base;
  let stat = null;
  try { stat = statSync(base); } catch { /* not there */ }
  if (!stat?.isDirectory()) {
    console.error(`serve: ${named}: ${stat ? 'not a folder' : 'no such folder'}`);
    process.exit(2);
  }
  // (the SIMD build's files, which the page loads first: its check, web/app.mjs engineFailed,
  // asks for the same)
  const missing = moduleFiles().filter((f) => !existsSync(join(base, f)));
  if (missing.length) {
    console.error(`serve: warning: ${named} has no ${missing.join(' or ')}: the module is not built there, and the page ` +
      'will say it cannot run (make builds it into web/, make dist copies it into dist/)');
  }
  try {
    const server = await serve({ root, port, log: values.log });
    console.log(`Serving ${root ?? 'web/'} on http://127.0.0.1:${server.address().port}/  (Ctrl+C to stop)`);
  } catch (e) {
    console.error(e.code === 'EADDRINUSE'
      ? `serve: port ${port} is in use; try PORT=8001 make serve (or --port 8001)`
      : `serve: ${e.message}`);
    process.exit(1);
  }
}
