// The systemd watchdog: WATCHDOG=1 at half of WATCHDOG_USEC, but only while
// aeon is well. A ping proves more than "the process exists": it is sent from
// the main event loop, and only when the loop is responsive, the heap is under
// budget and no dialog is stuck. When a check fails the ping is skipped; if it
// keeps failing, systemd stops the service (WatchdogSec) and restarts it.
import type { Logger } from '../log.ts';
import type { LoopMonitor } from './loop-monitor.ts';
import type { Counter, Metrics } from './metrics.ts';
import type { SdNotify } from './sd-notify.ts';

export interface Liveness {
  ok: boolean;
  /** Why not, in a few words (`event_loop_lag 5200ms > 5000ms`). */
  reason?: string;
}

export interface WatchdogOptions {
  notify: SdNotify;
  log: Logger;
  /** Extra checks; the watchdog adds its own timer-drift check. Must not throw (a throw counts as a failure). */
  liveness: () => Liveness;
  /** Timer drift above this skips the ping, in ms (the board's event_loop_lag_ms). */
  lagBudgetMs: number;
  metrics?: Metrics;
  /** Ping period in ms; default half of WATCHDOG_USEC. Without either, the watchdog stays off. */
  intervalMs?: number;
}

export class Watchdog {
  readonly #o: WatchdogOptions;
  #timer: NodeJS.Timeout | undefined;
  #expected = 0;
  #pings: Counter | undefined;
  #skips: Counter | undefined;
  #lastSkip: string | undefined;
  /** Pings sent and skipped, for /status. */
  pings = 0;
  skipped = 0;

  constructor(opts: WatchdogOptions) {
    this.#o = opts;
  }

  /** The ping period in ms, or undefined when systemd asked for no watchdog. */
  get intervalMs(): number | undefined {
    if (this.#o.intervalMs) return this.#o.intervalMs;
    const usec = this.#o.notify.watchdogUsec;
    return usec ? Math.max(1, Math.floor(usec / 2000)) : undefined;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts pinging (first ping at once). Call after SdNotify.start(). */
  start(): void {
    const every = this.intervalMs;
    if (this.#timer || !every || !this.#o.notify.enabled) return;
    if (this.#o.metrics) {
      this.#pings = this.#o.metrics.counter('aeon_watchdog_pings_total', 'WATCHDOG=1 messages sent to systemd.');
      this.#skips = this.#o.metrics.counter('aeon_watchdog_skipped_total', 'Watchdog pings withheld because a liveness check failed.', ['reason']);
    }
    this.#o.log.info({ interval_ms: every }, 'systemd watchdog on');
    this.#expected = performance.now();
    this.#tick(every);
    this.#timer = setInterval(() => this.#tick(every), every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(every: number): void {
    const now = performance.now();
    // A timer that fires late means the loop could not run it: the most direct lag measure there is.
    const drift = Math.max(0, now - this.#expected);
    this.#expected = now + every;
    let verdict: Liveness;
    if (drift > this.#o.lagBudgetMs) verdict = { ok: false, reason: `event_loop_lag ${Math.round(drift)}ms > ${this.#o.lagBudgetMs}ms` };
    else {
      try {
        verdict = this.#o.liveness();
      } catch (err) {
        verdict = { ok: false, reason: `liveness check threw: ${(err as Error).message}` };
      }
    }
    if (verdict.ok) {
      if (this.#lastSkip) this.#o.log.info('liveness restored; watchdog pings resumed');
      this.#lastSkip = undefined;
      this.pings++;
      this.#pings?.inc();
      void this.#o.notify.watchdog();
      return;
    }
    this.skipped++;
    const kind = (verdict.reason ?? 'unknown').split(' ')[0]!;
    this.#skips?.inc({ reason: kind });
    // One line per change of reason, not one per tick.
    if (kind !== this.#lastSkip) this.#o.log.warn({ reason: verdict.reason }, 'liveness check failed; withholding watchdog ping');
    this.#lastSkip = kind;
  }
}

export interface LivenessSources {
  loop?: LoopMonitor;
  /** Event-loop lag budget in ms (board event_loop_lag_ms). */
  lagBudgetMs: number;
  /** Heap-used budget in bytes (see heapBudgetBytes). */
  heapBudgetBytes: number;
  /** Names a dialog or turn stuck beyond its timeout, or returns undefined. */
  stuck?: () => string | undefined;
  /** For tests; default process.memoryUsage().heapUsed. */
  heapUsed?: () => number;
}

/** The standard liveness check: loop lag, heap, nothing stuck. */
export function livenessCheck(s: LivenessSources): () => Liveness {
  const heapUsed = s.heapUsed ?? (() => process.memoryUsage().heapUsed);
  return () => {
    const lag = s.loop?.currentMaxMs() ?? 0;
    if (lag > s.lagBudgetMs) return { ok: false, reason: `event_loop_lag ${Math.round(lag)}ms > ${s.lagBudgetMs}ms` };
    const heap = heapUsed();
    if (heap > s.heapBudgetBytes) return { ok: false, reason: `heap ${mb(heap)}MB > ${mb(s.heapBudgetBytes)}MB` };
    const stuck = s.stuck?.();
    if (stuck) return { ok: false, reason: `stuck ${stuck}` };
    return { ok: true };
  };
}

/**
 * The heap level the watchdog and the guard treat as "over budget": 90% of the
 * board's heap_mb. heap_mb itself is V8's hard limit (--max-old-space-size),
 * where V8 aborts the process; a heap that stays just under it is spending its
 * time in garbage collection.
 */
export function heapBudgetBytes(heapMb: number, fraction = 0.9): number {
  return Math.floor(heapMb * fraction * 1024 * 1024);
}

function mb(bytes: number): number {
  return Math.round(bytes / 1048576);
}
