// The single binary's entry (build.mjs bundles this file, not src/main.ts).
// Inside a Node single-executable application `require` cannot load a file,
// so better-sqlite3's native addon travels as a SEA asset: it is written once
// to a per-user cache directory under a name that carries its hash, loaded with
// process.dlopen and handed to the store before any database opens. Then the
// ordinary command line runs.
//
// From source (tests) this module only exports its parts; it runs itself in
// the bundle, where build.mjs defines AEON_SEA.
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { getRawAsset, isSea } from 'node:sea';
import { main } from './main.ts';
import { useNativeBinding } from './store/sqlite.ts';

/** Set by build.mjs (esbuild `define`); absent when running from source. */
declare const AEON_SEA:
  | {
      /** The bundle's name as V8 sees it in stack frames (the SEA `main`), e.g. `aeon-x64.js`. */
      script: string;
      /** Its source map's file name, looked for next to the binary. */
      map: string;
      /** SEA asset key of the better-sqlite3 addon. */
      addon: string;
      /** sha256 of the addon (hex), computed at build time: no hashing at start-up. */
      addonSha256: string;
    }
  | undefined;

/** glibc the prebuilt better-sqlite3 addons need (GLIBC_2.34 symbols; also GLIBCXX_3.4.29, GCC 11's libstdc++). */
export const GLIBC_NEEDED = '2.34';
/** The dynamic loader's words for a missing symbol version of the C or C++ library. */
const OLD_LIBS = /(GLIBC|GLIBCXX|CXXABI)_[\d.]+'? not found/;
/** sysexits EX_UNAVAILABLE: this system cannot run aeon; restarting will not help. */
export const EXIT_UNAVAILABLE = 69;

/** A failure that restarting cannot fix, with a message for a person. */
export class SystemError extends Error {
  override name = 'SystemError';
}

/**
 * Where the addon may be written, best first: systemd's CacheDirectory=,
 * $XDG_CACHE_HOME/aeon or ~/.cache/aeon, the service's state directory, then a
 * private directory in /tmp. Each must allow exec (a `noexec` mount fails
 * dlopen and the next one is tried).
 */
export function cacheDirs(env: NodeJS.ProcessEnv, home: string | undefined, uid: number, tmp = '/tmp'): string[] {
  const dirs: string[] = [];
  const abs = (p: string | undefined) => (p && path.isAbsolute(p) ? p : undefined);
  for (const d of (env.CACHE_DIRECTORY ?? '').split(':')) if (abs(d)) dirs.push(d);
  const xdg = abs(env.XDG_CACHE_HOME);
  if (xdg) dirs.push(path.join(xdg, 'aeon'));
  else if (abs(home)) dirs.push(path.join(home!, '.cache', 'aeon'));
  for (const d of (env.STATE_DIRECTORY ?? '').split(':')) if (abs(d)) dirs.push(path.join(d, 'cache'));
  dirs.push(path.join(tmp, `aeon-${uid}`));
  return [...new Set(dirs)];
}

/** Makes `dir` (mode 0700) and checks that only this user can write there: nobody else may swap the file we load. */
function privateDir(dir: string, uid: number): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error('is not a directory');
  if (uid >= 0 && st.uid !== uid) throw new Error(`belongs to uid ${st.uid}, not ${uid}`);
  if (st.mode & 0o022) throw new Error(`is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
}

/**
 * Returns the path of the addon in `dir`, writing it when missing. The name
 * carries the hash, so a new build never loads an old addon; a file of the
 * right size under that name was written by us (the rename is atomic) and is
 * not read back, which keeps start-up free of hashing on a slow board.
 */
export function ensureAddonFile(dir: string, bytes: Uint8Array, sha256: string, uid: number): string {
  privateDir(dir, uid);
  const file = path.join(dir, `better_sqlite3-${sha256.slice(0, 16)}.node`);
  try {
    const st = fs.lstatSync(file);
    if (st.isFile() && st.size === bytes.byteLength && (uid < 0 || st.uid === uid)) return file;
  } catch {
    // not there yet
  }
  const tmp = `${file}.${process.pid}-${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return file;
}

export type Dlopen = (file: string) => object;

function dlopen(file: string): object {
  const m = { exports: {} as object };
  process.dlopen(m, file, os.constants.dlopen.RTLD_NOW);
  return m.exports;
}

/** The C library's version, or undefined when unknown or not glibc. Costs a diagnostic report: only on failure. */
export function glibcVersion(): string | undefined {
  try {
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    return header?.glibcVersionRuntime;
  } catch {
    return undefined;
  }
}

function versionLess(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/**
 * Turns a dlopen failure caused by a too old C or C++ library into a sentence
 * a person can act on; undefined for any other failure. Bullseye's loader may
 * name GLIBC_2.34 or GLIBCXX_3.4.29, whichever it meets first.
 */
export function explainGlibc(message: string, runtime: string | undefined): string | undefined {
  const old = runtime !== undefined && versionLess(runtime, GLIBC_NEEDED);
  if (!OLD_LIBS.test(message) && !old) return undefined;
  return (
    `this system's C library is too old for aeon: it needs glibc ${GLIBC_NEEDED} or newer` +
    `${runtime ? ` and has ${runtime}` : ''}. On a Raspberry Pi that means Raspberry Pi OS Bookworm (Debian 12) or newer, 64-bit; ` +
    `Bullseye and older cannot run this binary. (${message.split('\n')[0]})`
  );
}

/**
 * Writes (once) and loads the addon from the first cache directory that works.
 * Throws SystemError when the C library is too old, Error when no directory works.
 */
export function loadAddon(bytes: Uint8Array, sha256: string, dirs: string[], uid: number, open: Dlopen = dlopen, runtime: () => string | undefined = glibcVersion): { addon: object; file: string } {
  const problems: string[] = [];
  for (const dir of dirs) {
    let file: string;
    try {
      file = ensureAddonFile(dir, bytes, sha256, uid);
    } catch (err) {
      problems.push(`${dir}: ${(err as Error).message}`);
      continue;
    }
    try {
      return { addon: open(file), file };
    } catch (err) {
      const msg = (err as Error).message;
      const glibc = explainGlibc(msg, OLD_LIBS.test(msg) ? runtime() : undefined);
      if (glibc) throw new SystemError(glibc);
      // Typically a noexec mount ("failed to map segment"): try the next directory.
      problems.push(`${file}: ${msg.split('\n')[0]}`);
    }
  }
  throw new SystemError(`cannot load the SQLite addon from any cache directory (set XDG_CACHE_HOME to a writable directory that allows exec):\n  ${problems.join('\n  ')}`);
}

type Origin = { fileName: string; lineNumber: number; columnNumber: number; name?: string };

function origin(map: SourceMap, line: number | null, col: number | null): Origin | undefined {
  if (line === null || col === null) return undefined;
  const o = map.findOrigin(line, col) as Partial<Origin>;
  return o.fileName ? (o as Origin) : undefined;
}

/**
 * Formats V8 call sites with positions in `script` (the bundle) mapped to the
 * sources. A minified function's own name is meaningless: the original is the
 * name recorded where the function starts, else the one its caller used at the
 * call site (the next frame), as Node does it.
 */
export function mapFrames(map: SourceMap, script: string, frames: readonly NodeJS.CallSite[]): string[] {
  return frames.map((f, i) => {
    const o = f.getFileName() === script ? origin(map, f.getLineNumber(), f.getColumnNumber()) : undefined;
    if (!o) return `    at ${f}`;
    const caller = frames[i + 1];
    const name =
      origin(map, f.getEnclosingLineNumber(), f.getEnclosingColumnNumber())?.name ??
      (caller?.getFileName() === script ? origin(map, caller.getLineNumber(), caller.getColumnNumber())?.name : undefined) ??
      f.getFunctionName();
    const where = `${o.fileName}:${o.lineNumber}:${o.columnNumber}`;
    const kind = f.isAsync() ? 'async ' : f.isConstructor() ? 'new ' : '';
    return name ? `    at ${kind}${name} (${where})` : `    at ${kind}${where}`;
  });
}

/**
 * Maps stack traces of the bundle back to the TypeScript sources with the map
 * kept next to the binary. Opt-in (AEON_SOURCE_MAPS=1, or the map's path):
 * Node's --enable-source-maps does not reach a SEA's main script, and the
 * decoded map of the whole bundle takes about 40 MB of heap, more than a
 * 512 MB board can spare. The map is read and decoded on the first stack
 * trace, not at start. Offline: `node scripts/build/map-stack.mjs <map> < trace.txt`.
 */
export function installSourceMaps(script: string, mapFile: string): boolean {
  try {
    fs.accessSync(mapFile, fs.constants.R_OK);
  } catch {
    return false;
  }
  let map: SourceMap | null | undefined;
  Error.prepareStackTrace = (error, frames) => {
    let head: string;
    try {
      head = String(error);
    } catch {
      head = 'Error';
    }
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
      } catch {
        map = null; // unreadable: plain traces from now on
      }
    }
    try {
      if (map) return [head, ...mapFrames(map, script, frames)].join('\n');
    } catch {
      // fall through to the plain trace
    }
    return [head, ...frames.map((f) => `    at ${f}`)].join('\n');
  };
  return true;
}

/** What the binary does: load the addon, then run the command line. Returns the exit code. */
export async function start(build: NonNullable<typeof AEON_SEA>, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const mapsWanted = env.AEON_SOURCE_MAPS;
  if (mapsWanted && mapsWanted !== '0') {
    const mapFile = mapsWanted === '1' ? path.join(path.dirname(process.execPath), build.map) : mapsWanted;
    if (!installSourceMaps(build.script, mapFile)) process.stderr.write(`aeon: AEON_SOURCE_MAPS: cannot read ${mapFile}; stack traces stay unmapped\n`);
  }
  const uid = process.getuid?.() ?? -1;
  let bytes: Uint8Array;
  if (isSea()) {
    bytes = new Uint8Array(getRawAsset(build.addon));
  } else {
    // The bundle run by a plain `node` (benchmarks): the addon sits next to it.
    const file = env.AEON_SQLITE_ADDON ?? path.join(path.dirname(process.argv[1] ?? '.'), build.addon);
    bytes = fs.readFileSync(file);
  }
  const { addon } = loadAddon(bytes, build.addonSha256, cacheDirs(env, env.HOME || safeHomedir(), uid, os.tmpdir()), uid);
  useNativeBinding(addon);
  return main(argv);
}

function safeHomedir(): string | undefined {
  try {
    return os.homedir();
  } catch {
    return undefined;
  }
}

if (typeof AEON_SEA !== 'undefined') {
  start(AEON_SEA, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof SystemError) {
        process.stderr.write(`aeon: ${err.message}\n`);
        process.exitCode = EXIT_UNAVAILABLE;
        return;
      }
      process.stderr.write(`aeon: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
