// The binary's entry (src/sea.ts) without building a binary: where the SQLite
// addon is written, that it is written once and atomically, which directories
// are refused, the fall-through on a directory that does not allow exec, the
// sentence for a too old glibc, and stack traces mapped through the source map
// (at run time, opt-in, and offline with scripts/build/map-stack.mjs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { cacheDirs, ensureAddonFile, explainGlibc, installSourceMaps, loadAddon, SystemError } from '../../src/sea.ts';
import { mapStackText } from '../../scripts/build/map-stack.mjs';
import { ROOT } from './harness.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-sea-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const uid = process.getuid!();
const bytes = new Uint8Array(Buffer.from('not really an addon, but the right number of bytes'));
const sha = 'ab'.repeat(32);

describe('cacheDirs', () => {
  it('prefers CacheDirectory=, then XDG_CACHE_HOME (else ~/.cache), then the state directory, then a private /tmp directory', () => {
    assert.deepEqual(cacheDirs({ CACHE_DIRECTORY: '/var/cache/aeon', XDG_CACHE_HOME: '/x/cache', STATE_DIRECTORY: '/var/lib/aeon' }, '/home/pi', 1000, '/tmp'), [
      '/var/cache/aeon',
      '/x/cache/aeon',
      '/var/lib/aeon/cache',
      '/tmp/aeon-1000',
    ]);
    assert.deepEqual(cacheDirs({}, '/home/pi', 1000, '/tmp'), ['/home/pi/.cache/aeon', '/tmp/aeon-1000']);
    // The XDG spec: a relative XDG_CACHE_HOME is ignored.
    assert.deepEqual(cacheDirs({ XDG_CACHE_HOME: 'rel' }, undefined, 0, '/tmp'), ['/tmp/aeon-0']);
  });
});

describe('ensureAddonFile', () => {
  it('writes the addon once under a name carrying its hash, in a 0700 directory', () => {
    const dir = path.join(tmp, 'a', 'aeon');
    const file = ensureAddonFile(dir, bytes, sha, uid);
    assert.equal(path.basename(file), `better_sqlite3-${sha.slice(0, 16)}.node`);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), bytes);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const ino = fs.statSync(file).ino;
    assert.equal(ensureAddonFile(dir, bytes, sha, uid), file);
    assert.equal(fs.statSync(file).ino, ino, 'a second start does not write it again');
    assert.deepEqual(fs.readdirSync(dir), [path.basename(file)], 'no temporary file left behind');
  });

  it('replaces a file of the wrong size (a different or damaged copy)', () => {
    const dir = path.join(tmp, 'b');
    fs.mkdirSync(dir, { mode: 0o700 });
    const file = path.join(dir, `better_sqlite3-${sha.slice(0, 16)}.node`);
    fs.writeFileSync(file, 'short');
    ensureAddonFile(dir, bytes, sha, uid);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), bytes);
  });

  it('refuses a directory others may write to, or owned by someone else', () => {
    const open = path.join(tmp, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    assert.throws(() => ensureAddonFile(open, bytes, sha, uid), /writable by others \(mode 777\)/);
    const mine = path.join(tmp, 'mine');
    fs.mkdirSync(mine, { mode: 0o700 });
    assert.throws(() => ensureAddonFile(mine, bytes, sha, uid + 1), new RegExp(`belongs to uid ${uid}, not ${uid + 1}`));
  });
});

describe('loadAddon', () => {
  it('goes on to the next directory when one cannot be made or does not allow exec', () => {
    const noexec = path.join(tmp, 'noexec');
    const good = path.join(tmp, 'good');
    const opened: string[] = [];
    const open = (file: string) => {
      opened.push(file);
      if (file.startsWith(noexec)) throw new Error(`${file}: failed to map segment from shared object`);
      return { ok: true };
    };
    const r = loadAddon(bytes, sha, ['/dev/null/cannot', noexec, good], uid, open);
    assert.deepEqual(r.addon, { ok: true });
    assert.ok(r.file.startsWith(good + path.sep));
    assert.equal(opened.length, 2);
  });

  it('names every directory tried when none works', () => {
    const fail = () => {
      throw new Error('failed to map segment from shared object');
    };
    assert.throws(
      () => loadAddon(bytes, sha, ['/dev/null/one', path.join(tmp, 'two')], uid, fail),
      (err: Error) => err instanceof SystemError && /\/dev\/null\/one: /.test(err.message) && /two\/better_sqlite3-[0-9a-f]{16}\.node: failed to map segment/.test(err.message) && /XDG_CACHE_HOME/.test(err.message),
    );
  });

  it('says that Raspberry Pi OS Bookworm or newer is needed when glibc is older than 2.34, without trying further', () => {
    let tries = 0;
    const old = () => {
      tries++;
      throw new Error("/lib/aarch64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /home/pi/.cache/aeon/better_sqlite3-abc.node)");
    };
    assert.throws(
      () => loadAddon(bytes, sha, [path.join(tmp, 'g1'), path.join(tmp, 'g2')], uid, old, () => '2.31'),
      (err: Error) => err instanceof SystemError && /needs glibc 2\.34 or newer and has 2\.31/.test(err.message) && /Raspberry Pi OS Bookworm \(Debian 12\) or newer/.test(err.message),
    );
    assert.equal(tries, 1);
  });

  it('explainGlibc knows the C++ library too, and leaves other failures alone', () => {
    assert.match(explainGlibc("/lib/aarch64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.29' not found (required by x.node)", '2.31')!, /needs glibc 2\.34 or newer and has 2\.31\. On a Raspberry Pi that means Raspberry Pi OS Bookworm/);
    assert.equal(explainGlibc('failed to map segment from shared object', '2.36'), undefined);
    assert.match(explainGlibc('something odd', '2.28')!, /has 2\.28/);
  });

  it('loads the real better-sqlite3 addon of this machine from the cache', () => {
    const real = fs.readFileSync(path.join(ROOT, 'node_modules', 'better-sqlite3', 'prebuilds', `linux-${process.arch}.node`));
    const { addon, file } = loadAddon(real, 'cd'.repeat(32), [path.join(tmp, 'real')], uid);
    assert.equal(typeof (addon as { Database?: unknown }).Database, 'function');
    assert.ok(fs.readFileSync(file).equals(real));
  });
});

describe('stack traces through the source map', () => {
  const src = path.join(tmp, 'fixture.ts');
  fs.writeFileSync(
    src,
    ['export function outerCall(n: number): number {', '  return innerThrow(n) + 1;', '}', 'function innerThrow(n: number): number {', "  if (n > 0) throw new Error('deep');", '  return n;', '}', ''].join('\n'),
  );

  async function load(): Promise<{ run: () => Error; mapFile: string }> {
    const outfile = path.join(tmp, 'fixture.js');
    const r = await esbuild.build({ entryPoints: [src], outfile, bundle: true, minify: true, format: 'iife', globalName: 'fixture', sourcemap: 'external', write: false, logLevel: 'silent' });
    const code = r.outputFiles.find((f) => f.path === outfile)!.text;
    const mapFile = `${outfile}.map`;
    fs.writeFileSync(mapFile, r.outputFiles.find((f) => f.path === mapFile)!.text);
    // As in the binary: V8 knows the script by its bare file name.
    const api = vm.runInThisContext(`${code};fixture`, { filename: 'fixture.js' }) as { outerCall(n: number): number };
    return {
      mapFile,
      run: () => {
        try {
          api.outerCall(1);
        } catch (err) {
          return err as Error;
        }
        throw new Error('did not throw');
      },
    };
  }

  it('AEON_SOURCE_MAPS: frames of the bundle show the TypeScript file, line and function name', async () => {
    const { run, mapFile } = await load();
    const saved = Error.prepareStackTrace;
    try {
      assert.equal(installSourceMaps('fixture.js', path.join(tmp, 'missing.map')), false);
      assert.equal(installSourceMaps('fixture.js', mapFile), true);
      const stack = run().stack!;
      assert.match(stack, /^Error: deep\n/);
      assert.match(stack, /\n {4}at innerThrow \(fixture\.ts:5:\d+\)\n/);
      // Called from outside the bundle, the outermost frame keeps its minified name (so does Node's own mapping); its place is mapped.
      assert.match(stack, /\n {4}at \S+ \(fixture\.ts:2:\d+\)/);
      assert.match(stack, /sea-entry\.test\.ts:\d+:\d+/, 'frames outside the bundle are left as they are');
    } finally {
      Error.prepareStackTrace = saved;
    }
  });

  it('scripts/build/map-stack.mjs maps a trace copied from the journal', async () => {
    const { run, mapFile } = await load();
    const raw = run().stack!;
    assert.match(raw, /fixture\.js:1:\d+/);
    const mapped = mapStackText(raw, new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8'))), 'fixture.js');
    assert.match(mapped, /\n {4}at innerThrow \(fixture\.ts:5:\d+\)\n/);
    // From text alone the outermost frame of the bundle keeps its minified name; its place is mapped.
    assert.match(mapped, /\n {4}at \S+ \(fixture\.ts:2:\d+\)/);
  });
});
