// The in-process guard: when the event loop is blocked, or the heap stays over
// budget past a grace period, log ONE fatal line saying why and end the
// process, so systemd (Restart=always) starts a fresh one and the journal tells
// what happened. It never waits for the sick process to cooperate.
//
// A blocked main loop cannot run its own timers, so the loop watcher is a tiny
// bash child: the main loop writes a heartbeat line to its stdin every
// `heartbeatMs`; `read -t` times out when they stop, and then the watcher
// writes the fatal line to the journal itself and SIGKILLs aeon (systemd shows
// status=9/KILL). A worker thread could exit with a code of our own but costs
// ~14 MB RSS; bash costs ~3.5 MB, most of it pages shared with every other
// bash (scripts/bench/device-costs.ts). It ends by itself when aeon goes: its
// stdin closes. No bash: the systemd watchdog (WatchdogSec) is the only outside
// watcher, and one warning says so.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Logger } from '../log.ts';
import type { BoardBudget } from '../config/types.ts';
import { heapBudgetBytes } from './watchdog.ts';

/** Exit code when the V8 heap stayed over its budget longer than `heapGraceMs`. */
export const EXIT_HEAP_OVER_BUDGET = 71;

export interface GuardOptions {
  log: Logger;
  /** A loop that makes no progress for this long gets the process killed (SIGKILL, after the fatal line), in ms. */
  blockedMs: number;
  /** Heap-used level counted as over budget, in bytes. */
  heapBudgetBytes: number;
  /** How long the heap may stay over budget before exit 71, in ms. */
  heapGraceMs: number;
  /** Run the loop watcher (default true). */
  loopWatcher?: boolean;
  /** Heartbeat period of the main loop, in ms (default blockedMs / 10, at most 1 s). */
  heartbeatMs?: number;
  /** After a missed deadline, how long a heartbeat may still come before the kill, in ms (default 2 s; see WATCHER). */
  graceMs?: number;
  /** Heap sampling period, in ms (default 1 s). */
  heapCheckMs?: number;
  /** For tests; default process.memoryUsage().heapUsed. */
  heapUsed?: () => number;
  /** For tests; default process.exit. */
  exit?: (code: number) => void;
}

/** Guard settings from a board budget: blocked at 3× the lag budget (at least 10 s), heap at 90% of heap_mb for 10 s. */
export function guardDefaults(budget: Pick<BoardBudget, 'heap_mb' | 'event_loop_lag_ms'>): Pick<GuardOptions, 'blockedMs' | 'heapBudgetBytes' | 'heapGraceMs'> {
  return {
    blockedMs: Math.max(10_000, 3 * budget.event_loop_lag_ms),
    heapBudgetBytes: heapBudgetBytes(budget.heap_mb),
    heapGraceMs: 10_000,
  };
}

// The loop watcher. $1 pid, $2 limit in seconds, $3 limit in ms, $4 grace in
// seconds. A read that times out is checked twice before acting: a stopped or
// traced aeon (SIGSTOP, a debugger) is left alone, and a paused machine (swap
// storm, suspend) gets `grace` to deliver the heartbeat it owes.
const WATCHER = `
pid=$1 limit=$2 limit_ms=$3 grace=$4
now_ms() { local t=\${EPOCHREALTIME/[.,]/}; REPLY=\${t%???}; }
now_ms; last=$REPLY
while :; do
  read -r -t "$limit" _; rc=$?
  if (( rc == 0 )); then now_ms; last=$REPLY; continue; fi
  (( rc > 128 )) || exit 0
  read -r stat 2>/dev/null < "/proc/$pid/stat" || exit 0
  state=\${stat##*) }; state=\${state%% *}
  case $state in T|t) continue ;; esac
  read -r -t "$grace" _; rc=$?
  if (( rc == 0 )); then now_ms; last=$REPLY; continue; fi
  (( rc > 128 )) || exit 0
  now_ms; blocked=$(( REPLY - last ))
  printf '{"level":60,"time":%s,"mod":"guard","reason":"event_loop_blocked","blocked_ms":%s,"signal":"SIGKILL","msg":"event loop blocked for %s ms (limit %s ms); killing aeon (SIGKILL) so systemd restarts it"}\\n' "$REPLY" "$blocked" "$blocked" "$limit_ms"
  kill -KILL "$pid"
  exit 0
done
`;

/** bash, where Debian and Raspberry Pi OS keep it (it is an essential package there). */
function findBash(): string | undefined {
  for (const p of ['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash']) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

export class Guard {
  readonly #o: GuardOptions;
  #watcher: ChildProcess | undefined;
  #beatTimer: NodeJS.Timeout | undefined;
  #heapTimer: NodeJS.Timeout | undefined;
  #overSince: number | undefined;
  #fired = false;

  constructor(opts: GuardOptions) {
    this.#o = opts;
  }

  start(): void {
    if (this.#heapTimer) return;
    const o = this.#o;
    const heapUsed = o.heapUsed ?? (() => process.memoryUsage().heapUsed);
    this.#heapTimer = setInterval(() => this.#checkHeap(heapUsed()), o.heapCheckMs ?? 1000);
    this.#heapTimer.unref();
    if (o.loopWatcher === false) return;

    const bash = findBash();
    if (!bash) {
      o.log.warn('no bash found: the guard cannot watch the event loop; the systemd watchdog remains');
      return;
    }
    const heartbeatMs = o.heartbeatMs ?? Math.min(1000, Math.max(10, Math.floor(o.blockedMs / 10)));
    const w = spawn(bash, ['-c', WATCHER, 'aeon-guard', String(process.pid), String(o.blockedMs / 1000), String(o.blockedMs), String((o.graceMs ?? 2000) / 1000)], {
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    w.on('error', (err) => o.log.warn({ err }, 'guard loop watcher failed; the systemd watchdog remains'));
    // A watcher that died cannot read: drop heartbeats instead of buffering them.
    w.stdin!.on('error', () => undefined);
    w.unref();
    (w.stdin as unknown as { unref?: () => void }).unref?.();
    this.#watcher = w;
    this.#beatTimer = setInterval(() => {
      if (w.stdin!.writable && w.stdin!.writableLength < 64) w.stdin!.write('\n');
    }, heartbeatMs);
    this.#beatTimer.unref();
    o.log.debug({ blocked_ms: o.blockedMs, heap_budget_mb: Math.round(o.heapBudgetBytes / 1048576), heap_grace_ms: o.heapGraceMs }, 'guard on');
  }

  async stop(): Promise<void> {
    if (this.#heapTimer) clearInterval(this.#heapTimer);
    if (this.#beatTimer) clearInterval(this.#beatTimer);
    this.#heapTimer = this.#beatTimer = undefined;
    const w = this.#watcher;
    this.#watcher = undefined;
    if (!w || w.exitCode !== null || w.signalCode !== null) return;
    // EOF on its stdin ends the watcher.
    const gone = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.stdin!.end();
    const t = setTimeout(() => w.kill('SIGKILL'), 1000);
    await gone;
    clearTimeout(t);
  }

  #checkHeap(used: number): void {
    const o = this.#o;
    if (this.#fired) return;
    if (used <= o.heapBudgetBytes) {
      this.#overSince = undefined;
      return;
    }
    const now = performance.now();
    this.#overSince ??= now;
    const over = Math.round(now - this.#overSince);
    if (over < o.heapGraceMs) return;
    this.#fired = true;
    const usedMb = Math.round(used / 1048576);
    const budgetMb = Math.round(o.heapBudgetBytes / 1048576);
    o.log.fatal(
      { mod: 'guard', reason: 'heap_over_budget', heap_used_mb: usedMb, heap_budget_mb: budgetMb, over_ms: over, exit_code: EXIT_HEAP_OVER_BUDGET },
      `heap ${usedMb} MB over its budget of ${budgetMb} MB for ${over} ms; exiting with code ${EXIT_HEAP_OVER_BUDGET} so systemd restarts aeon`,
    );
    (o.exit ?? process.exit)(EXIT_HEAP_OVER_BUDGET);
  }
}
