// exec: run a program in the workspace. Without full trust only programs named
// in tools.exec.allow run, by name, straight (no shell); with full trust a
// shell command line is accepted too. Every run gets a scrubbed environment, its
// own process group (killed whole on timeout, cancel, or when the command exits
// leaving helpers behind), and output capped while it streams.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/types.ts';
import { HeadTailBuffer } from './cap-output.ts';
import { scrubEnv, type SecretSource } from './env-scrub.ts';
import { groupAlive, killGroup } from './process-group.ts';
import { execArgs, execFullTrustArgs } from './schemas.ts';
import type { Tool } from './types.ts';
import { Workspace } from './workspace.ts';

export interface ExecArgs {
  command?: string;
  args: string[];
  cwd?: string;
  shell?: string;
}

export type ExecConfig = Pick<Config['tools'], 'workspace' | 'exec'>;

export interface ExecDeps {
  secrets: SecretSource;
  /** Largest output kept (head and tail), in bytes: the board's tool_output_bytes. */
  max_output_bytes: number;
  /** Between SIGTERM and SIGKILL. Default 2000 ms. */
  kill_grace_ms?: number;
  /** Share the file tools' workspace; made from cfg.workspace otherwise. */
  workspace?: Workspace;
  /** Environment to start from (default process.env); it is scrubbed either way. */
  env?: NodeJS.ProcessEnv;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stopped?: 'timeout' | 'cancelled';
  output: string;
}

export function execTool(cfg: ExecConfig, deps: ExecDeps): Tool<ExecArgs> {
  const { allow, full_trust, timeout_s } = cfg.exec;
  const ws = deps.workspace ?? new Workspace(cfg.workspace);
  const grace = deps.kill_grace_ms ?? 2000;
  const allowed = allow.length ? allow.join(', ') : '(none configured)';
  const description = full_trust
    ? `Run a command in the workspace folder: either "command" with "args" (no shell), or "shell", a /bin/sh command line. Stops after ${timeout_s} s. Answers with the exit code and the combined stdout and stderr.`
    : `Run a program in the workspace folder: "command" is its name, "args" its arguments (no shell: no pipes, globbing or quoting). Allowed programs: ${allowed}. Stops after ${timeout_s} s. Answers with the exit code and the combined stdout and stderr.`;
  return {
    name: 'exec',
    description,
    parameters: full_trust ? execFullTrustArgs : execArgs,
    // Our own timer fires first, so the model gets the output so far, not just "timed out".
    timeout_ms: timeout_s * 1000 + grace + 3000,
    async execute(a, { signal }) {
      if (a.shell !== undefined && a.command !== undefined) throw new Error('Give either "shell" or "command", not both.');
      if (a.shell === undefined && a.command === undefined) throw new Error('Give "command", the program to run (e.g. "ls"), and its "args".');
      const env = scrubEnv(deps.env ?? process.env, deps.secrets);
      const cwd = a.cwd === undefined ? await ws.root() : await ws.resolve(a.cwd);
      const st = await fs.stat(cwd).catch(() => null);
      if (!st?.isDirectory()) throw new Error(`cwd "${a.cwd}" is not a folder in the workspace.`);
      const [file, argv] = a.shell !== undefined ? ['/bin/sh', ['-c', a.shell]] : [await program(a.command!, cwd, env.PATH ?? ''), a.args];
      const r = await run(file, argv, { cwd, env, timeout_ms: timeout_s * 1000, grace, signal, max: deps.max_output_bytes });
      const body = r.output || '(no output)';
      if (r.stopped === 'timeout') throw new Error(`Timed out after ${timeout_s} s; the command and everything it started were stopped. Output so far:\n${body}`);
      if (r.stopped === 'cancelled') throw new Error(`Cancelled; the command and everything it started were stopped. Output so far:\n${body}`);
      return `${r.signal ? `killed by signal ${r.signal}` : `exit code ${r.code}`}\n${body}`;
    },
  };

  async function program(command: string, cwd: string, PATH: string): Promise<string> {
    if (!full_trust) {
      if (command.includes('/')) throw new Error(`Give the program by name only (e.g. "ls"), not a path. Allowed programs: ${allowed}.`);
      if (!allow.includes(command)) throw new Error(`"${command}" is not allowed. Allowed programs: ${allowed}.`);
    } else if (command.includes('/')) {
      return path.resolve(cwd, command);
    }
    const found = await onPath(command, PATH);
    if (!found) throw new Error(`"${command}" is not installed on this device (not found on PATH).`);
    return found;
  }
}

/** The first executable `name` in PATH's absolute folders (a relative entry would search the workspace). */
async function onPath(name: string, PATH: string): Promise<string | undefined> {
  for (const dir of PATH.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const p = path.join(dir, name);
    const ok = await fs.access(p, constants.X_OK).then(() => fs.stat(p)).then((s) => s.isFile(), () => false);
    if (ok) return p;
  }
  return undefined;
}

interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  timeout_ms: number;
  grace: number;
  signal: AbortSignal;
  max: number;
}

function run(file: string, argv: string[], o: RunOptions): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    if (o.signal.aborted) return reject(new Error('Cancelled before the command started.'));
    const out = new HeadTailBuffer(o.max);
    const child = spawn(file, argv, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stopped: Outcome['stopped'];
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let killing: Promise<void> | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const pgid = child.pid;
    const stop = () => {
      if (pgid !== undefined && !killing) killing = killGroup(pgid, o.grace);
    };
    const timer = setTimeout(() => {
      stopped ??= 'timeout';
      stop();
    }, o.timeout_ms);
    const onAbort = () => {
      stopped ??= 'cancelled';
      stop();
    };
    o.signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(drainTimer);
      o.signal.removeEventListener('abort', onAbort);
    };
    child.stdout.on('data', (b: Buffer) => out.write(b));
    child.stderr.on('data', (b: Buffer) => out.write(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      cleanup();
      if (pgid !== undefined) stop();
      reject(new Error(e.code === 'ENOENT' ? `"${path.basename(file)}" was not found.` : e.code === 'EACCES' ? `"${path.basename(file)}" is not executable.` : `Could not start "${path.basename(file)}": ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever the command left running in its group is stopped too: it would hold
      // our pipes open, and on an unattended device nobody would ever reap it.
      if (pgid !== undefined && groupAlive(pgid)) stop();
      // Pipes inherited by a process that left the group (setsid) may never close; stop waiting.
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, o.grace + 1000);
    });
    child.on('close', async (code, signal) => {
      cleanup();
      await killing;
      const e = exit ?? { code, signal };
      resolve({ code: e.code, signal: e.signal, stopped, output: out.toString() });
    });
  });
}
