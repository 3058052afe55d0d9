// Process-level gauges, read at scrape time: memory, heap, event-loop lag,
// uptime. Names follow the conventions of Prometheus' own client libraries
// (process_*, nodejs_*) so existing dashboards find them.
import v8 from 'node:v8';
import type { LoopMonitor } from './loop-monitor.ts';
import type { Metrics } from './metrics.ts';

export interface ProcessFacts {
  uptime_s: number;
  rss_bytes: number;
  heap_used_bytes: number;
  heap_total_bytes: number;
  /** V8's limit (what --max-old-space-size and friends produced). */
  heap_limit_bytes: number;
  external_bytes: number;
  event_loop_lag_ms: { p50: number; p99: number; max: number };
}

/** The same facts, for /status and `aeon doctor`. */
export function processFacts(loop?: LoopMonitor): ProcessFacts {
  const m = process.memoryUsage();
  const lag = loop?.stats() ?? { p50: 0, p99: 0, max: 0 };
  return {
    uptime_s: Math.round(process.uptime()),
    rss_bytes: m.rss,
    heap_used_bytes: m.heapUsed,
    heap_total_bytes: m.heapTotal,
    heap_limit_bytes: v8.getHeapStatistics().heap_size_limit,
    external_bytes: m.external,
    event_loop_lag_ms: { p50: round(lag.p50), p99: round(lag.p99), max: round(lag.max) },
  };
}

export function registerProcessMetrics(metrics: Metrics, loop?: LoopMonitor): void {
  const startedAt = Math.round(Date.now() / 1000 - process.uptime());
  metrics.gauge('process_resident_memory_bytes', 'Resident set size of the aeon process in bytes.', () => process.memoryUsage.rss());
  metrics.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', () => startedAt);
  metrics.gauge('aeon_uptime_seconds', 'Seconds since the process started.', () => Math.round(process.uptime()));
  metrics.gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', () => process.memoryUsage().heapUsed);
  metrics.gauge('nodejs_heap_total_bytes', 'V8 heap reserved, in bytes.', () => process.memoryUsage().heapTotal);
  metrics.gauge('nodejs_heap_limit_bytes', 'V8 heap size limit (from the board budget flags), in bytes.', () => v8.getHeapStatistics().heap_size_limit);
  if (loop) {
    metrics.gauge('nodejs_eventloop_lag_p50_seconds', 'Event-loop lag, median over the last window, in seconds.', () => loop.stats().p50 / 1000);
    metrics.gauge('nodejs_eventloop_lag_p99_seconds', 'Event-loop lag, 99th percentile over the last window, in seconds.', () => loop.stats().p99 / 1000);
    metrics.gauge('nodejs_eventloop_lag_max_seconds', 'Event-loop lag, worst over the last and current window, in seconds.', () => loop.stats().max / 1000);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
