// What the binary tests share: run build.mjs into a temp directory, put a
// binary alone in an empty directory (no node_modules, a PATH without node, HOME
// inside), run it as a user would, wait for `aeon run` to report its health URL,
// and find qemu for the arm64 binary.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const NODE_VERSION = fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim();

/** Runs build.mjs with `args` (into `out`); returns its log. Throws with the log when it fails. */
export function runBuild(args: string[], out: string, timeoutMs = 240_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'build.mjs'), ...args, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`build.mjs ${args.join(' ')} took more than ${timeoutMs / 1000} s:\n${log}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(log);
      else reject(new Error(`build.mjs ${args.join(' ')} exited ${code}:\n${log}`));
    });
  });
}

export interface Solo {
  /** The empty directory holding only the binary (and what the test writes). */
  dir: string;
  bin: string;
  home: string;
  /** Environment with nothing inherited: HOME in the temp dir, PATH an empty directory. */
  env: NodeJS.ProcessEnv;
}

/** Copies `binary` alone into a fresh directory and prepares an environment where no node can be found. */
export function solo(binary: string): Solo {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-solo-'));
  const bin = path.join(dir, path.basename(binary));
  fs.copyFileSync(binary, bin);
  fs.chmodSync(bin, 0o755);
  const home = path.join(dir, 'home');
  const emptyPath = path.join(dir, 'empty-path');
  fs.mkdirSync(home);
  fs.mkdirSync(emptyPath);
  return { dir, bin, home, env: { HOME: home, PATH: emptyPath, LANG: 'C.UTF-8' } };
}

/** How to start an executable: directly, or through qemu for another architecture. */
export interface Launcher {
  cmd: string;
  prefix: string[];
  env: NodeJS.ProcessEnv;
}

export const native = (bin: string): Launcher => ({ cmd: bin, prefix: [], env: {} });

const QEMU_PACKAGES = 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross';

/**
 * qemu-aarch64-static with the arm64 C and C++ runtime from Debian's cross
 * packages. CI installs them; a missing piece is a failure that names them, never a skip.
 */
export function qemuArm64(bin: string): Launcher {
  const sysroot = '/usr/aarch64-linux-gnu';
  const candidates = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'];
  const qemu = candidates.find((p) => fs.existsSync(p));
  const missing: string[] = [];
  if (!qemu) missing.push('qemu-aarch64-static');
  for (const lib of ['lib/ld-linux-aarch64.so.1', 'lib/libc.so.6', 'lib/libstdc++.so.6']) {
    if (!fs.existsSync(path.join(sysroot, lib))) missing.push(path.join(sysroot, lib));
  }
  if (missing.length) {
    throw new Error(`the arm64 binary is tested under qemu, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: apt-get install -y ${QEMU_PACKAGES}`);
  }
  return { cmd: qemu!, prefix: [bin], env: { QEMU_LD_PREFIX: sysroot } };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the binary to completion. */
export function exec(l: Launcher, args: string[], o: { env: NodeJS.ProcessEnv; cwd: string; input?: string; timeoutMs?: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(l.cmd, [...l.prefix, ...args], { cwd: o.cwd, env: { ...o.env, ...l.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aeon ${args.join(' ')} did not finish in ${(o.timeoutMs ?? 30_000) / 1000} s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, o.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

export interface Service {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` of the health server. */
  url: string;
  /** Milliseconds from spawn to the "aeon is up" line. */
  upAfterMs: number;
  output: () => string;
  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  stop: (graceMs?: number) => Promise<number | null>;
}

/** Starts `aeon run ...` and waits for its "aeon is up" log line with the health URL (config: server.port 0). */
export function startService(l: Launcher, args: string[], o: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number }): Promise<Service> {
  const t0 = performance.now();
  const child = spawn(l.cmd, [...l.prefix, ...args], { cwd: o.cwd, env: { ...o.env, ...l.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const stop = (graceMs = 10_000) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(1000);
      reject(new Error(`no "aeon is up" line within ${(o.timeoutMs ?? 30_000) / 1000} s:\n${out}`));
    }, o.timeoutMs ?? 30_000);
    const look = () => {
      const m = /"health":"(http:\/\/[^"]+)"/.exec(out);
      if (m && out.includes('aeon is up')) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, upAfterMs: performance.now() - t0, output: () => out, stop });
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`aeon ${args.join(' ')} exited (${code ?? signal}) before it was up:\n${out}`));
    });
  });
}

/** True when the 64-bit ELF `file` has no symbol table section (SHT_SYMTAB): `strip --strip-all` was applied. */
export function isStripped(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const h = Buffer.alloc(64);
    fs.readSync(fd, h, 0, 64, 0);
    const shoff = Number(h.readBigUInt64LE(0x28));
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const table = Buffer.alloc(shentsize * shnum);
    fs.readSync(fd, table, 0, table.length, shoff);
    for (let i = 0; i < shnum; i++) if (table.readUInt32LE(i * shentsize + 4) === 2) return false;
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes an aeon.json into `dir` (data_dir inside it unless given) and returns its path. */
export function writeConfig(dir: string, config: Record<string, any>, name = 'aeon.json'): string {
  const file = path.join(dir, name);
  const full = { ...config, device: { data_dir: path.join(dir, 'data'), ...config.device } };
  fs.writeFileSync(file, JSON.stringify(full, null, 2), { mode: 0o600 });
  return file;
}
