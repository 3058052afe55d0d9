#!/usr/bin/env node
// One binary per board: aeon bundled by esbuild into a Node single-executable
// application (SEA) with the board's V8 budget baked in. docs/build.md explains
// each step and how to verify the result.
//
//   node build.mjs --board pi-zero-2w     dist/aeon-pi-zero-2w (+ .sha256, .xz, .js.map)
//   node build.mjs --all                  every board in boards/
//   npm run build -- --board x64          the same through the pinned Node
//
// Needs Node 24 (`npm run build` provides it), `strip` for the target
// architecture (Debian binutils / binutils-aarch64-linux-gnu) and xz-utils. The
// target's node comes from the npm registry once and is cached in .cache/;
// after that the build runs offline. Same inputs give the same bytes.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.dirname(fileURLToPath(import.meta.url));
const pinned = fs.readFileSync(path.join(root, '.nvmrc'), 'utf8').trim();

const USAGE = `usage: node build.mjs (--board NAME ... | --all) [options]

  --board NAME   board profile from boards/ (repeatable): ${boardNames().join(', ')}
  --all          every board
  --out DIR      where the results go (default: dist/)
  --xz LEVEL     xz preset for the download copy, 0-9 with optional e (default: 6)
  --no-xz        skip the .xz copy (quicker, for development)
  --with-bundle  also write aeon-<board>.js and its SQLite addon, to run with a plain node
  --arch ARCH    build for x64 or arm64 instead of each board's own architecture,
                 named aeon-<board>-<arch> (a Pi's budget on an x64 machine, for benchmarks)
  -h, --help     this text`;

function boardNames() {
  return fs.readdirSync(path.join(root, 'boards')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

function say(msg) {
  process.stderr.write(`[build] ${msg}\n`);
}

function fail(msg, code = 1) {
  process.stderr.write(`build.mjs: ${msg}\n`);
  process.exit(code);
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

function mb(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** Short commit of HEAD, `-dirty` when a build input differs from it; AEON_COMMIT overrides (builds from a tarball). */
function gitCommit() {
  if (process.env.AEON_COMMIT) return process.env.AEON_COMMIT;
  const git = (...args) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const head = git('rev-parse', '--short=12', 'HEAD');
  if (head.status !== 0) return 'unknown';
  const inputs = ['src', 'boards', 'aeon.json', 'package.json', 'package-lock.json', 'build.mjs', 'scripts/build', '.nvmrc'];
  const dirty = git('status', '--porcelain', '--', ...inputs).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

/** Writes `data` to `file` by way of a temporary name in the same directory. */
function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function moveInto(src, file) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.copyFileSync(src, tmp);
  fs.renameSync(tmp, file);
}

/**
 * Writes `file`.xz. One thread per file: multi-threaded xz cuts the input into
 * blocks, which changes the bytes with the machine's core count. Preset 6 needs
 * 9 MB to decompress (preset 9 needs 65 MB and saves about 1%).
 */
function compress(file, level) {
  const tmp = `${file}.xz.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  const child = spawn('xz', ['-T1', `-${level}`, '-c', file], { stdio: ['ignore', fd, 'pipe'] });
  fs.closeSync(fd);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(err.code === 'ENOENT' ? new Error('xz is missing: install the Debian package xz-utils (or build with --no-xz)') : err));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`xz -${level} ${file} failed (exit ${code}): ${stderr.trim()}`));
      fs.renameSync(tmp, `${file}.xz`);
      resolve(fs.statSync(`${file}.xz`).size);
    });
  });
}

async function main() {
  let opts;
  try {
    opts = parseArgs({
      options: {
        board: { type: 'string', multiple: true },
        all: { type: 'boolean' },
        out: { type: 'string' },
        xz: { type: 'string' },
        'no-xz': { type: 'boolean' },
        'with-bundle': { type: 'boolean' },
        arch: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    fail(`${err.message}\n\n${USAGE}`, 64);
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const known = boardNames();
  const boards = opts.all ? known : [...new Set(opts.board ?? [])];
  if (!boards.length) fail(`name a board or --all\n\n${USAGE}`, 64);
  for (const b of boards) if (!known.includes(b)) fail(`unknown board "${b}" (boards/: ${known.join(', ')})`, 64);
  if (opts.arch !== undefined && !['x64', 'arm64'].includes(opts.arch)) fail(`--arch takes x64 or arm64, got "${opts.arch}"`, 64);
  const xzLevel = opts['no-xz'] ? undefined : (opts.xz ?? '6');
  if (xzLevel !== undefined && !/^\d(e)?$/.test(xzLevel)) fail(`--xz takes 0-9 with an optional e, got "${xzLevel}"`, 64);
  if (Number(process.versions.node.split('.')[0]) < 24) {
    fail(`needs Node 24 (this is ${process.version}): run \`npm run build -- ${process.argv.slice(2).join(' ')}\`, which uses the pinned Node`);
  }

  // Imported here, after the version check: they are TypeScript or need esbuild.
  const { bundle, sizesByPackage } = await import('./scripts/build/bundle.mjs');
  const { ensureNodeDist } = await import('./scripts/build/node-dist.mjs');
  const { makeBlob, makeExecutable, nodeRunner } = await import('./scripts/build/sea.mjs');
  const { v8Flags } = await import('./src/device/budget.ts');

  const outDir = path.resolve(opts.out ?? path.join(root, 'dist'));
  fs.mkdirSync(outDir, { recursive: true });
  const commit = gitCommit();
  const started = Date.now();

  // Precompiled validators (src/gen, git-ignored) must match src/schemas.ts.
  const gen = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-validators.mjs'), '--if-stale'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (gen.status !== 0) fail('scripts/gen-validators.mjs failed');

  // The blob must come from a node of exactly the target's version (sea.mjs: made by the target's own node when it can run here, for the code cache).
  const log = (m) => say(m);
  const hostNode = process.version === `v${pinned}` ? process.execPath : ensureNodeDist(root, pinned, process.arch, log);

  // xz takes a minute per board on one core: boards compress side by side while the next one builds.
  const compressing = [];
  for (const name of boards) {
    const t0 = Date.now();
    const board = JSON.parse(fs.readFileSync(path.join(root, 'boards', `${name}.json`), 'utf8'));
    const arch = opts.arch ?? board.arch;
    // Another architecture than the board's own gets its name in the file names.
    const out = arch === board.arch ? name : `${name}-${arch}`;
    const addonSrc = path.join(root, 'node_modules', 'better-sqlite3', 'prebuilds', `linux-${arch}.node`);
    if (!fs.existsSync(addonSrc)) fail(`${addonSrc} is missing: run npm ci`);
    const addon = fs.readFileSync(addonSrc);
    const addonAsset = `better_sqlite3-linux-${arch}.node`;
    const script = `aeon-${out}.js`;

    const b = await bundle({ root, name: script, commit, board: name, addonAsset, addonSha256: sha256(addon) });
    for (const w of b.warnings) say(`esbuild: ${w}`);

    const work = fs.mkdtempSync(path.join(os.tmpdir(), `aeon-build-${name}-`));
    try {
      fs.writeFileSync(path.join(work, script), b.code);
      fs.writeFileSync(path.join(work, addonAsset), addon);
      const execArgv = v8Flags(board.budget);
      const node = ensureNodeDist(root, pinned, arch, log);
      const runner = nodeRunner(arch === process.arch ? hostNode : node, arch);
      if (!runner) say(`${name}: cannot run the linux-${arch} node here (apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross): building without V8's code cache, so this binary starts slower`);
      const { blob, codeCache } = makeBlob({ dir: work, runner, fallbackNode: hostNode, main: script, assets: { [addonAsset]: addonAsset }, execArgv });
      const exe = path.join(work, `aeon-${out}`);
      for (const line of makeExecutable({ root, node, arch, blob, out: exe })) say(`postject: ${line}`);

      const bin = fs.readFileSync(exe);
      const digest = sha256(bin);
      const target = path.join(outDir, `aeon-${out}`);
      moveInto(exe, target);
      fs.chmodSync(target, 0o755);
      // `sha256sum -c aeon-<board>.sha256` next to the (decompressed) binary checks it.
      writeAtomic(`${target}.sha256`, `${digest}  aeon-${out}\n`);
      writeAtomic(path.join(outDir, `${script}.map`), b.map);
      if (opts['with-bundle']) {
        writeAtomic(path.join(outDir, script), b.code);
        writeAtomic(path.join(outDir, addonAsset), addon);
      }
      fs.rmSync(`${target}.xz`, { force: true });
      if (xzLevel !== undefined) {
        // Settled here, so a failure waits for the others instead of ending the build half-written.
        compressing.push(compress(target, xzLevel).then((size) => say(`${name}: ${path.basename(target)}.xz ${mb(size)} (xz -${xzLevel})`), (err) => err));
      }
      const top = sizesByPackage(b.metafile).slice(0, 6).map(([k, v]) => `${k} ${Math.round(v / 1024)}K`).join(', ');
      say(`${name} (linux-${arch}): ${path.relative(process.cwd(), target) || target} ${mb(bin.length)}; bundle ${mb(b.code.length)} (${top}); execArgv ${execArgv.join(' ')}; ${codeCache ? 'code cache' : 'no code cache'}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      say(`${name}: sha256 ${digest}`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  const xzFailed = (await Promise.all(compressing)).find((r) => r instanceof Error);
  if (xzFailed) fail(xzFailed.message);
  say(`commit ${commit}, Node ${pinned}; ${boards.length} board${boards.length === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err) => fail(err?.stack ?? String(err)));
