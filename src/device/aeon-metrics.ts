// aeon's own metrics, in one place so names and help texts stay consistent:
// turns, errors by kind, tokens, cost today, time to first token, part
// readiness (dialog connection states), queue depths, SQLite size. Values that
// live elsewhere are read at scrape time through the injected callbacks; turn
// facts arrive through `observeTurn`, called once per finished turn.
import fs from 'node:fs';
import type { Metrics } from './metrics.ts';
import type { TurnTelemetry } from '../agent/turn.ts';

/** What a finished turn reports: the agent's TurnTelemetry, less what metrics do not label by. */
export type TurnSample = Omit<TurnTelemetry, 'session' | 'cost_usd'>;

export interface AeonMetricSources {
  /** Readiness by part (store, telegram, mqtt...), e.g. Runtime.readiness. */
  readiness?: () => Record<string, { ready: boolean }>;
  /** Turns running and messages waiting. */
  queue?: () => { running: number; queued: number };
  /** USD spent today. */
  costToday?: () => number;
  /** The SQLite file; its size and its -wal file's are reported. */
  dbPath?: string;
}

export interface AeonMetrics {
  observeTurn(t: TurnSample): void;
}

export const TTFT_BUCKETS = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];
export const TURN_BUCKETS = [0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320];

export function defineAeonMetrics(metrics: Metrics, src: AeonMetricSources = {}): AeonMetrics {
  const turns = metrics.counter('aeon_turns_total', 'Finished turns by agent and result (ok or an error code).', ['agent', 'result']);
  const errors = metrics.counter('aeon_turn_errors_total', 'Failed turns by error kind (llm_timeout, busy, budget...).', ['kind']);
  const tokens = metrics.counter('aeon_llm_tokens_total', 'LLM tokens by direction (in = prompt, out = completion).', ['direction']);
  const tools = metrics.counter('aeon_tool_calls_total', 'Tool calls made by the model.');
  const ttft = metrics.histogram('aeon_llm_first_token_seconds', 'Time from LLM request to the first text or tool call, in seconds.', TTFT_BUCKETS);
  const duration = metrics.histogram('aeon_turn_duration_seconds', 'Whole turn duration, in seconds.', TURN_BUCKETS);

  const { readiness, queue, costToday, dbPath } = src;
  if (costToday) metrics.gauge('aeon_cost_today_usd', 'USD spent on LLM calls today (UTC).', costToday);
  if (readiness) {
    metrics.gauge('aeon_part_ready', 'Whether each part (store, dialogs, llm) is ready: 1 or 0.', () =>
      Object.entries(readiness()).map(([part, h]): [Record<string, string>, number] => [{ part }, h.ready ? 1 : 0]),
    );
  }
  if (queue) {
    metrics.gauge('aeon_turns_running', 'Turns running now.', () => queue().running);
    metrics.gauge('aeon_queue_depth', 'Messages waiting for a turn, across sessions.', () => queue().queued);
  }
  if (dbPath && dbPath !== ':memory:') {
    metrics.gauge('aeon_sqlite_bytes', 'Size of the SQLite database file plus its write-ahead log, in bytes.', () => fileSize(dbPath) + fileSize(`${dbPath}-wal`));
  }

  return {
    observeTurn(t) {
      const result = t.ok ? 'ok' : (t.error_code ?? 'error');
      turns.inc({ agent: t.agent, result });
      if (!t.ok) errors.inc({ kind: t.error_code ?? 'error' });
      if (t.input > 0) tokens.inc({ direction: 'in' }, t.input);
      if (t.output > 0) tokens.inc({ direction: 'out' }, t.output);
      if (t.tool_calls > 0) tools.inc(t.tool_calls);
      if (t.ttft_ms !== undefined) ttft.observe(t.ttft_ms / 1000);
      duration.observe(t.duration_ms / 1000);
    },
  };
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}
