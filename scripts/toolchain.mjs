#!/usr/bin/env node
// The project's toolchain in one place: makes sure the pinned Node (from .nvmrc)
// is available, that node_modules matches package-lock.json, and that generated
// code is fresh, then runs the given command with that Node first on PATH.
//
//   node scripts/toolchain.mjs node <args...>   run the pinned node
//   node scripts/toolchain.mjs exec <bin> ...   run node_modules/.bin/<bin> (or any program)
//   node scripts/toolchain.mjs path             print the pinned node's path
//
// This file must run on the system Node (20 on the build machines), so it uses
// only plain JavaScript and node: built-ins. The pinned Node is the official
// build published on the npm registry as node-linux-<arch>, so no download from
// anywhere but the registry is needed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pinned = fs.readFileSync(path.join(root, '.nvmrc'), 'utf8').trim();
const cacheDir = path.join(root, '.cache');

function log(msg) {
  process.stderr.write(`[toolchain] ${msg}\n`);
}

function die(msg, code = 1) {
  log(msg);
  process.exit(code);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) die(`${cmd} failed to start: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

/** Returns the directory holding a `node` of the pinned major version. */
function ensureNode() {
  const major = Number(process.versions.node.split('.')[0]);
  const want = Number(pinned.split('.')[0]);
  if (major >= want && !process.env.AEON_FORCE_PINNED_NODE) return path.dirname(process.execPath);
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (!arch || process.platform !== 'linux') {
    die(`Node ${process.versions.node} is too old and no pinned Node is published for ${process.platform}-${process.arch}; install Node ${pinned} yourself (see .nvmrc).`);
  }
  const dir = path.join(cacheDir, `node-v${pinned}-linux-${arch}`);
  const bin = path.join(dir, 'bin');
  if (fs.existsSync(path.join(bin, 'node'))) return bin;
  log(`system Node is ${process.versions.node}; fetching Node ${pinned} (npm package node-linux-${arch}) into .cache/`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cacheDir, 'tmp-node-'));
  try {
    const r = spawnSync('npm', ['pack', `node-linux-${arch}@${pinned}`, '--silent', '--pack-destination', tmp], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) die(`npm pack node-linux-${arch}@${pinned} failed (exit ${r.status}); is the npm registry reachable?`);
    const tgz = path.join(tmp, r.stdout.trim().split('\n').pop());
    run('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node', 'package/LICENSE']);
    // Rename is atomic: a half-extracted node is never taken for a whole one.
    fs.renameSync(path.join(tmp, 'package'), dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(fs.existsSync(f) ? fs.readFileSync(f) : '');
  return h.digest('hex');
}

/** Installs node_modules with the pinned Node when the lock file changed. */
function ensureDeps(env) {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.aeon-deps-stamp');
  const want = `${hashFiles([path.join(root, 'package.json'), lock])} ${pinned}`;
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  const args = fs.existsSync(lock) ? ['ci'] : ['install'];
  log(`installing dependencies (npm ${args[0]})`);
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, env });
  fs.writeFileSync(stamp, `${hashFiles([path.join(root, 'package.json'), lock])} ${pinned}`);
}

/** Regenerates precompiled validators when a schema source is newer. */
function ensureGenerated(nodeBin, env) {
  const gen = path.join(root, 'scripts', 'gen-validators.mjs');
  if (!fs.existsSync(gen)) return;
  run(path.join(nodeBin, 'node'), [gen, '--if-stale'], { cwd: root, env });
}

const [mode, ...rest] = process.argv.slice(2);
if (!mode || !['node', 'exec', 'path'].includes(mode)) {
  die('usage: node scripts/toolchain.mjs node|exec|path [args...]', 64);
}
const nodeBin = ensureNode();
const env = { ...process.env, PATH: `${nodeBin}${path.delimiter}${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}` };
if (mode === 'path') {
  process.stdout.write(`${path.join(nodeBin, 'node')}\n`);
  process.exit(0);
}
if (!process.env.AEON_SKIP_DEPS) ensureDeps(env);
ensureGenerated(nodeBin, env);

const [cmd, ...args] = mode === 'node' ? [path.join(nodeBin, 'node'), ...rest] : rest;
if (!cmd) die('nothing to run', 64);
const child = spawn(cmd, args, { stdio: 'inherit', env });
// The terminal sends SIGINT to the whole group; the child gets it too, so this
// process only waits. SIGTERM from a supervisor reaches only us: pass it on.
process.on('SIGINT', () => {});
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('error', (err) => die(`${cmd} failed to start: ${err.message}`));
child.on('exit', (code, signal) => {
  process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0));
});
