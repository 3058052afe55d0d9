// Event-loop lag, from perf_hooks' monitorEventLoopDelay (a libuv timer whose
// lateness is recorded in a native histogram: no JS runs per sample).
// Windows rotate every `windowMs`, so p50/p99 describe the recent past rather
// than the whole uptime. Lag is reported net of the sampling resolution: the
// histogram records the whole timer interval (an idle loop reads ~resolution).
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';

export interface LagStats {
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
}

export interface LoopMonitorOptions {
  /** Sampling timer period in ms (default 20). */
  resolutionMs?: number;
  /** Length of one statistics window in ms (default 10 s). */
  windowMs?: number;
}

const ZERO: LagStats = { p50: 0, p99: 0, max: 0 };

export class LoopMonitor {
  readonly resolutionMs: number;
  readonly windowMs: number;
  #h: ELDHistogram | undefined;
  #timer: NodeJS.Timeout | undefined;
  #last: LagStats | undefined;

  constructor(opts: LoopMonitorOptions = {}) {
    this.resolutionMs = opts.resolutionMs ?? 20;
    this.windowMs = opts.windowMs ?? 10_000;
  }

  start(): void {
    if (this.#h) return;
    this.#h = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.#h.enable();
    this.#timer = setInterval(() => this.#rotate(), this.windowMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#h?.disable();
    this.#h = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * p50/p99 of the last complete window (the current one before the first
   * rotation); max covers the last and the current window, so a stall shows
   * up at once.
   */
  stats(): LagStats {
    const cur = this.#read();
    const last = this.#last ?? cur;
    return { p50: last.p50, p99: last.p99, max: Math.max(last.max, cur.max) };
  }

  /** The worst lag seen since the current window began, in ms. */
  currentMaxMs(): number {
    return this.#read().max;
  }

  #rotate(): void {
    this.#last = this.#read();
    this.#h?.reset();
  }

  #read(): LagStats {
    const h = this.#h;
    if (!h || h.count === 0) return ZERO;
    const net = (ns: number) => Math.max(0, ns / 1e6 - this.resolutionMs);
    return { p50: net(h.percentile(50)), p99: net(h.percentile(99)), max: net(h.max) };
  }
}
