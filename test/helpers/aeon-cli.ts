// Runs the aeon CLI from source as a child process, as a user would.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from './tmp.ts';

export const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: opts.cwd ?? os.tmpdir(),
      env: { PATH: process.env.PATH, HOME: opts.env?.HOME ?? os.tmpdir(), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aeon ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A temp dir holding an aeon.json built from `config` (data_dir inside it). */
export function tempConfig(config: Record<string, any>): { dir: string; file: string } {
  const dir = tempDir('aeon-cli-');
  const file = path.join(dir, 'aeon.json');
  const full = { ...config, device: { data_dir: path.join(dir, 'data'), ...config.device } };
  fs.writeFileSync(file, JSON.stringify(full, null, 2), { mode: 0o600 });
  return { dir, file };
}
