// Applying the board budget at start-up. V8 sizes its heap when the process
// starts, so the heap limit and semi-space size must be on the command line
// before the first line of aeon runs: if they are missing, aeon starts itself
// again with them. Within the single-executable binary they are baked into its
// execArgv and no second start is needed.
//
// The second start replaces the process in place (process.execve, Node >= 23.11):
// same PID, so systemd's MAINPID and WATCHDOG_PID stay right and no parent
// process sits in memory. Where execve is missing, a child is spawned instead
// and this process waits for it, forwarding signals (that parent costs ~40 MB
// of RSS, hence the preference; docs/device.md has the figures).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { BoardBudget } from '../config/types.ts';

/** Set to 1 to never re-exec (flags come from elsewhere, or a debugger is attached). */
export const NO_REEXEC_ENV = 'AEON_NO_REEXEC';
/** Set by the re-exec itself, so a second start can never loop. */
export const REEXECED_ENV = 'AEON_REEXECED';

/**
 * glibc malloc settings aeon runs with (systemd/aeon.service sets the same;
 * a test keeps them equal). Allocations of 32 KiB and more get their own
 * mapping, returned to the kernel when freed: V8's parser and compiler zones
 * peak at ~10 MB while aeon starts and glibc otherwise keeps that memory in
 * its heap for good. Idle RSS 74.3 -> 64.5 MB, peak under load -13 MB, no
 * measurable CPU per token or start-up cost (scripts/bench: idle, load, cpu).
 * Read by glibc when the process starts, so it has to be in the environment.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '32768' };

/** The V8 flags a budget asks for: heap limit, semi-space size, then the board's extra flags. */
export function v8Flags(budget: Pick<BoardBudget, 'heap_mb' | 'semi_space_mb' | 'v8_flags'>): string[] {
  return [`--max-old-space-size=${budget.heap_mb}`, `--max-semi-space-size=${budget.semi_space_mb}`, ...budget.v8_flags];
}

export type V8FlagsDecision =
  | { reexec: false; reason: string }
  | {
      reexec: true;
      /** The flags that were missing and will be added. */
      missing: string[];
      command: string;
      /** Arguments after the command (not including argv0). */
      args: string[];
      env: NodeJS.ProcessEnv;
    };

export interface EnsureOptions {
  /** Running as a single-executable application (flags are baked in). Default: detected. */
  sea?: boolean;
  /** The node binary (default process.execPath). */
  execPath?: string;
}

/**
 * Decides whether this process must start again with the budget's V8 flags.
 * A flag counts as present when the same flag name (any value: an operator's
 * own choice wins) is in `execArgv` or NODE_OPTIONS. `argv` is process.argv.
 */
export function ensureV8Flags(
  budget: Pick<BoardBudget, 'heap_mb' | 'semi_space_mb' | 'v8_flags'>,
  argv: readonly string[],
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
  opts: EnsureOptions = {},
): V8FlagsDecision {
  if (env[NO_REEXEC_ENV] === '1') return { reexec: false, reason: `${NO_REEXEC_ENV}=1` };
  if (env[REEXECED_ENV] === '1') return { reexec: false, reason: 'already re-executed' };
  if (opts.sea ?? isSea()) return { reexec: false, reason: 'single executable: flags are baked in' };
  const present = new Set([...execArgv, ...splitNodeOptions(env.NODE_OPTIONS)].map(flagName).filter((n) => n.startsWith('--')));
  const missing = v8Flags(budget).filter((f) => !present.has(flagName(f)));
  if (!missing.length) return { reexec: false, reason: 'flags already set' };
  return {
    reexec: true,
    missing,
    command: opts.execPath ?? process.execPath,
    args: [...missing, ...execArgv, ...argv.slice(1)],
    // The second start also picks up the malloc settings (an operator's own value wins).
    env: { ...MALLOC_ENV, ...env, [REEXECED_ENV]: '1' },
  };
}

export interface ReexecOptions {
  /** `execve` replaces this process (default where available); `spawn` runs a child and waits. */
  mode?: 'auto' | 'execve' | 'spawn';
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/**
 * Starts the same entry again with the decided flags. With execve it never
 * returns; with spawn it inherits stdio, forwards signals, and exits with the
 * child's code (or re-raises the child's signal).
 */
export function reexec(plan: Extract<V8FlagsDecision, { reexec: true }>, opts: ReexecOptions = {}): Promise<never> {
  const execve = (process as unknown as { execve?: Execve }).execve;
  const mode = opts.mode ?? 'auto';
  if (mode !== 'spawn' && typeof execve === 'function' && process.platform !== 'win32') {
    execve.call(process, plan.command, [plan.command, ...plan.args], plan.env);
  }
  if (mode === 'execve') throw new Error('process.execve is not available in this Node');

  // The child is not the main PID; systemd's WATCHDOG_PID names this parent.
  // Dropping it lets the child's watchdog take the pings (sd_watchdog_enabled semantics).
  const env = { ...plan.env };
  delete env.WATCHDOG_PID;
  const child = spawn(plan.command, plan.args, { stdio: 'inherit', env });
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'];
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const s of signals) process.on(s, forward);
  return new Promise<never>(() => {
    child.on('error', (err) => {
      process.stderr.write(`aeon: cannot start ${plan.command}: ${err.message}\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      if (signal) {
        // Die the same way; the forwarders stay for the other signals, so a late
        // second SIGTERM cannot kill this parent with the wrong status meanwhile.
        process.off(signal, forward);
        process.kill(process.pid, signal);
        // Still here (the signal is ignored or handled elsewhere): the shell convention.
        setTimeout(() => process.exit(128 + signalNumber(signal)), 100).unref();
        return;
      }
      process.exit(code ?? 1);
    });
  });
}

/** True inside a Node single-executable application. */
export function isSea(): boolean {
  try {
    const req = createRequire(import.meta.url);
    const sea = req('node:sea') as { isSea?: () => boolean };
    return sea.isSea?.() ?? false;
  } catch {
    return false;
  }
}

function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  const name = eq < 0 ? arg : arg.slice(0, eq);
  // V8 accepts --max_old_space_size and --max-old-space-size alike.
  return name.replace(/_/g, '-');
}

function splitNodeOptions(value: string | undefined): string[] {
  return value ? value.split(/\s+/).filter(Boolean).map((s) => s.replace(/^["']|["']$/g, '')) : [];
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 1;
}
