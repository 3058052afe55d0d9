// The in-process guard: when the event loop is blocked, or the heap stays over
// budget past a grace period, log ONE fatal line saying why and exit with a
// distinct code, so systemd (Restart=always) starts a fresh process and the
// journal tells what happened. It never waits for the sick process to cooperate.
//
// A blocked main loop cannot run its own timers, so the loop watcher lives on a
// tiny worker thread: the main loop bumps a counter in a SharedArrayBuffer;
// the worker notices when it stops moving. The worker then ends the process
// through the inspector, which delivers its message as a V8 interrupt on the
// main thread: that works inside a busy JS loop (the usual culprit: a runaway
// regex, a huge JSON.parse), and the exit code stays ours. A main thread stuck
// in native code never takes the interrupt, so after `killAfterMs` the worker
// sends SIGKILL (the journal then shows status=9/KILL after our fatal line).
// Cost of the worker: ~10 MB anonymous memory + ~8 MB of shared binary pages
// (docs/device.md); `loopWatcher: false` turns it off, leaving systemd's
// watchdog (WatchdogSec) as the only outside watcher.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import type { BoardBudget } from '../config/types.ts';
import { heapBudgetBytes } from './watchdog.ts';

/** Exit code when the event loop was blocked longer than `blockedMs`. */
export const EXIT_LOOP_BLOCKED = 70;
/** Exit code when the V8 heap stayed over its budget longer than `heapGraceMs`. */
export const EXIT_HEAP_OVER_BUDGET = 71;

export interface GuardOptions {
  log: Logger;
  /** A loop that makes no progress for this long ends the process (exit 70), in ms. */
  blockedMs: number;
  /** Heap-used level counted as over budget, in bytes. */
  heapBudgetBytes: number;
  /** How long the heap may stay over budget before exit 71, in ms. */
  heapGraceMs: number;
  /** Run the loop-watcher worker thread (default true). */
  loopWatcher?: boolean;
  /** Heartbeat period of the main loop, in ms (default blockedMs / 10, at most 1 s). */
  heartbeatMs?: number;
  /** Heap sampling period, in ms (default 1 s). */
  heapCheckMs?: number;
  /** After asking the main thread to exit, SIGKILL if it is still alive after this long, in ms (default 3 s). */
  killAfterMs?: number;
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

// The watcher, as CommonJS source for `eval: true` (no file to find: works the
// same unbundled, bundled and inside a single-executable binary).
const WATCHER = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { beats: sab, blockedMs, checkMs, killAfterMs, code } = workerData;
const beats = new Int32Array(sab);
let last = Atomics.load(beats, 0);
let since = performance.now();
let prevCheck = since;
const timer = setInterval(() => {
  const now = performance.now();
  // This thread's own timer was late too: the whole process was stopped or starved
  // (SIGSTOP, swap storm), not just the main loop. Start counting afresh.
  if (now - prevCheck > checkMs + blockedMs / 2) since = now;
  prevCheck = now;
  const cur = Atomics.load(beats, 0);
  if (cur !== last) { last = cur; since = now; return; }
  const blocked = Math.round(now - since);
  if (blocked < blockedMs) return;
  clearInterval(timer);
  const msg = 'event loop blocked for ' + blocked + ' ms (limit ' + blockedMs + ' ms); exiting with code ' + code + ' so systemd restarts aeon';
  try {
    fs.writeSync(1, JSON.stringify({ level: 60, time: Date.now(), mod: 'guard', reason: 'event_loop_blocked', blocked_ms: blocked, exit_code: code, msg }) + '\\n');
  } catch {}
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), killAfterMs);
  try {
    const inspector = require('node:inspector');
    const session = new inspector.Session();
    session.connectToMainThread();
    // Runs on the main thread, inside whatever it is stuck in. reallyExit skips 'exit'
    // listeners (they would run on the sick loop). stderr is closed first because
    // Node prints "Waiting for the debugger to disconnect..." at exit while this
    // session is attached, which would mislead whoever reads the journal.
    session.post('Runtime.evaluate', {
      expression: '(() => { try { process.getBuiltinModule("node:fs").closeSync(2); } catch {} ' +
        '(typeof process.reallyExit === "function" ? process.reallyExit : process.exit)(' + code + '); })()',
    });
  } catch {}
}, checkMs);
`;

export class Guard {
  readonly #o: GuardOptions;
  #worker: Worker | undefined;
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

    const heartbeatMs = o.heartbeatMs ?? Math.min(1000, Math.max(10, Math.floor(o.blockedMs / 10)));
    const sab = new SharedArrayBuffer(4);
    const beats = new Int32Array(sab);
    this.#beatTimer = setInterval(() => Atomics.add(beats, 0, 1), heartbeatMs);
    this.#beatTimer.unref();
    try {
      const w = new Worker(WATCHER, {
        eval: true,
        name: 'aeon-guard',
        workerData: { beats: sab, blockedMs: o.blockedMs, checkMs: heartbeatMs, killAfterMs: o.killAfterMs ?? 3000, code: EXIT_LOOP_BLOCKED },
        // It holds a few numbers; a cap keeps a bug in it from eating the board.
        resourceLimits: { maxOldGenerationSizeMb: 16, stackSizeMb: 1 },
      });
      w.unref();
      w.on('error', (err) => o.log.warn({ err }, 'guard loop watcher failed; the systemd watchdog remains'));
      this.#worker = w;
    } catch (err) {
      o.log.warn({ err }, 'guard loop watcher could not start; the systemd watchdog remains');
    }
    o.log.debug({ blocked_ms: o.blockedMs, heap_budget_mb: Math.round(o.heapBudgetBytes / 1048576), heap_grace_ms: o.heapGraceMs }, 'guard on');
  }

  async stop(): Promise<void> {
    if (this.#heapTimer) clearInterval(this.#heapTimer);
    if (this.#beatTimer) clearInterval(this.#beatTimer);
    this.#heapTimer = this.#beatTimer = undefined;
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate().catch(() => undefined);
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
