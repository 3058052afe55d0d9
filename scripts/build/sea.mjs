// The single-executable part: the SEA preparation blob, the target's node
// stripped of its debug symbols, and the blob injected into it with postject.
//
// The blob carries V8's code cache of the bundle: without it every start
// compiles the 1.8 MB script (~65 ms of a 100 ms `aeon version` on x64, about
// eight times that on a Pi Zero 2 W) and holds the compiler's memory
// (docs/benchmarks.md). V8 takes a cache only from its own version and
// architecture and with the same code-affecting flags, so the blob is made by
// the target's own node (arm64 under qemu-aarch64-static on an x64 machine),
// run with the board's V8 flags. Where that cannot run, the blob goes without
// the cache: the binary works the same, and starts slower.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The fuse Node checks to know it carries a blob (node/src/node_sea.cc). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw Object.assign(new Error(`cannot run ${cmd}: ${r.error.message}`), { code: r.error.code });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout).trim()}`);
  return r;
}

/**
 * How to run the target's node on this machine, or undefined: the node itself
 * on its own architecture, arm64 under qemu-aarch64-static with Debian's arm64
 * runtime (the packages CI installs, docs/build.md).
 * @returns {{ cmd: string, args: string[], env: Record<string, string> } | undefined}
 */
export function nodeRunner(node, arch, hostArch = process.arch) {
  if (arch === hostArch) return { cmd: node, args: [], env: {} };
  if (arch !== 'arm64') return undefined;
  const sysroot = '/usr/aarch64-linux-gnu';
  const qemu = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => fs.existsSync(p));
  if (!qemu || !fs.existsSync(path.join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) return undefined;
  return { cmd: qemu, args: [node], env: { QEMU_LD_PREFIX: sysroot } };
}

/**
 * Writes `sea-config.json` in `dir` and makes `dir/sea-prep.blob` with
 * `runner` (nodeRunner: the target's node, which also builds the code cache)
 * or, when it is undefined, with `fallbackNode` (a node of the same version on
 * this machine) and no code cache. Every path in the config is relative to
 * `dir` (the blob records the main script's name, which V8 then shows in stack
 * frames: it must not carry the build machine's paths). Returns the blob's
 * path and whether it has the code cache.
 */
export function makeBlob({ dir, runner, fallbackNode, main, assets, execArgv }) {
  const codeCache = runner !== undefined;
  const config = {
    main,
    output: 'sea-prep.blob',
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: codeCache,
    execArgv,
    // NODE_OPTIONS may still add flags (an operator raising the heap limit in
    // the unit without a rebuild); later flags win.
    execArgvExtension: 'env',
    assets,
  };
  fs.writeFileSync(path.join(dir, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
  fs.rmSync(path.join(dir, 'sea-prep.blob'), { force: true });
  // A clean environment: NODE_OPTIONS of the build shell must not leak into the
  // blob's making. The board's V8 flags are given so the cache's flag hash
  // matches the binary's (else V8 rejects it at every start, with a warning).
  const env = { PATH: process.env.PATH ?? '' };
  // --predictable fixes the order V8 lays the cache out in (else each build's
  // bytes differ, and build.mjs is reproducible). V8 leaves it out of the flag
  // hash, so the binary, which runs without it, still takes the cache
  // (--hash-seed would do the same for the bytes, but is hashed: rejected).
  if (codeCache) run(runner.cmd, [...runner.args, ...execArgv, '--predictable', '--experimental-sea-config', 'sea-config.json'], { cwd: dir, env: { ...env, ...runner.env } });
  else run(fallbackNode, ['--experimental-sea-config', 'sea-config.json'], { cwd: dir, env });
  return { blob: path.join(dir, 'sea-prep.blob'), codeCache };
}

/** The strip program for `arch` on this machine, and the Debian package that has it. */
export function stripTool(arch, hostArch = process.arch) {
  if (arch === hostArch) return { cmd: 'strip', pkg: 'binutils' };
  if (arch === 'arm64') return { cmd: 'aarch64-linux-gnu-strip', pkg: 'binutils-aarch64-linux-gnu' };
  if (arch === 'x64') return { cmd: 'x86_64-linux-gnu-strip', pkg: 'binutils-x86-64-linux-gnu' };
  throw new Error(`no strip program known for ${arch}`);
}

/**
 * Copies `node` to `out`, strips it (about 18 MB of symbols; the dynamic symbol
 * table that addons link against stays) and injects the blob. Returns
 * postject's output lines worth showing (usually none).
 */
export function makeExecutable({ root, node, arch, blob, out }) {
  fs.rmSync(out, { force: true });
  fs.copyFileSync(node, out);
  fs.chmodSync(out, 0o755);
  const strip = stripTool(arch);
  try {
    run(strip.cmd, ['--strip-all', out]);
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error(`${strip.cmd} is missing: install the Debian package ${strip.pkg} (apt-get install -y ${strip.pkg})`);
    throw err;
  }
  const postject = path.join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  // A child process: postject holds the whole executable in wasm memory (about 1 GB), freed when it exits.
  const r = run(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, '--overwrite']);
  // LIEF complains about the official build's note sections; harmless, and noise.
  const noise = /^warning: Can't find string offset for section name/;
  const lines = `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  return lines.filter((l) => l.trim() && !noise.test(l) && !/Start injection|Injection done/.test(l));
}
