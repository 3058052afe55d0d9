import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineAeonMetrics } from '../../src/device/aeon-metrics.ts';
import { LoopMonitor } from '../../src/device/loop-monitor.ts';
import { MAX_SERIES, Metrics } from '../../src/device/metrics.ts';
import { registerProcessMetrics } from '../../src/device/process-metrics.ts';
import { parseProm, sample } from './helpers/prom.ts';

describe('Metrics', () => {
  it('renders counters, gauges and histograms in the text format with HELP and TYPE', () => {
    const m = new Metrics();
    const c = m.counter('t_requests_total', 'Requests.\nSecond line with a \\ backslash.', ['code']);
    c.inc({ code: 200 });
    c.inc({ code: 200 }, 2);
    c.inc({ code: 500 });
    c.inc({ code: 500 }, -5); // counters never go down
    const g = m.gauge('t_temperature', 'Temperature.');
    g.set(41.5);
    m.gauge('t_collected', 'Collected.', () => [
      [{ part: 'mqtt' }, 1],
      [{ part: 'tele"gram\n\\x' }, 0],
    ]);
    const h = m.histogram('t_latency_seconds', 'Latency.', [1, 0.1, 0.5]);
    for (const v of [0.05, 0.2, 0.3, 0.7, 3]) h.observe(v);

    const text = m.render();
    const f = parseProm(text);
    assert.equal(f.get('t_requests_total')!.type, 'counter');
    assert.equal(f.get('t_requests_total')!.help, 'Requests.\nSecond line with a \\ backslash.');
    assert.equal(sample(f, 't_requests_total', { code: '200' }), 3);
    assert.equal(sample(f, 't_requests_total', { code: '500' }), 1);
    assert.equal(f.get('t_temperature')!.type, 'gauge');
    assert.equal(sample(f, 't_temperature'), 41.5);
    assert.equal(sample(f, 't_collected', { part: 'tele"gram\n\\x' }), 0, 'label values are escaped and parse back');
    assert.equal(f.get('t_latency_seconds')!.type, 'histogram');
    assert.equal(sample(f, 't_latency_seconds_bucket', { le: '0.1' }), 1);
    assert.equal(sample(f, 't_latency_seconds_bucket', { le: '0.5' }), 3);
    assert.equal(sample(f, 't_latency_seconds_bucket', { le: '1' }), 4);
    assert.equal(sample(f, 't_latency_seconds_bucket', { le: '+Inf' }), 5);
    assert.equal(sample(f, 't_latency_seconds_count'), 5);
    assert.ok(Math.abs(sample(f, 't_latency_seconds_sum')! - 4.25) < 1e-9);
  });

  it('gives the same facts as a JSON snapshot', () => {
    const m = new Metrics();
    m.counter('a_total', 'A.').inc(3);
    m.counter('b_total', 'B.', ['kind']).inc({ kind: 'x' });
    m.histogram('c_seconds', 'C.', [1]).observe(0.5);
    assert.deepEqual(m.snapshot(), {
      a_total: 3,
      b_total: [{ labels: { kind: 'x' }, value: 1 }],
      c_seconds: { count: 1, sum: 0.5, buckets: { '1': 1 } },
    });
  });

  it('returns the same metric when registered twice and refuses a type clash or a bad name', () => {
    const m = new Metrics();
    m.counter('x_total', 'X.').inc();
    m.counter('x_total', 'X.').inc();
    assert.equal(m.snapshot().x_total, 2);
    assert.throws(() => m.gauge('x_total', 'X.'), /already registered as a counter/);
    assert.throws(() => m.counter('bad-name', 'B.'), /not valid/);
    assert.throws(() => m.counter('y_total', 'Y.', ['le']), /not allowed/);
  });

  it('keeps label sets bounded', () => {
    const m = new Metrics();
    const c = m.counter('chat_total', 'Per chat (a bug).', ['chat']);
    for (let i = 0; i < MAX_SERIES + 50; i++) c.inc({ chat: i });
    assert.equal((m.snapshot().chat_total as unknown[]).length, MAX_SERIES);
    assert.equal(m.dropped, 50);
  });

  it('hides a gauge whose collect throws instead of failing the scrape', () => {
    const m = new Metrics();
    m.gauge('boom', 'Throws.', () => {
      throw new Error('no');
    });
    m.gauge('fine', 'Fine.', () => 1);
    const f = parseProm(m.render());
    assert.equal(f.get('boom')!.samples.length, 0);
    assert.equal(sample(f, 'fine'), 1);
  });

  it('exposes process gauges and event-loop lag that sees a blocked loop', async () => {
    const m = new Metrics();
    const loop = new LoopMonitor({ resolutionMs: 10, windowMs: 60_000 });
    loop.start();
    registerProcessMetrics(m, loop);
    await new Promise((r) => setTimeout(r, 50));
    const t = Date.now();
    while (Date.now() - t < 250) {
      // block the loop
    }
    await new Promise((r) => setTimeout(r, 50));
    const f = parseProm(m.render());
    loop.stop();
    assert.ok(sample(f, 'process_resident_memory_bytes')! > 10 * 1024 * 1024);
    assert.ok(sample(f, 'nodejs_heap_used_bytes')! > 0);
    assert.ok(sample(f, 'nodejs_heap_limit_bytes')! >= sample(f, 'nodejs_heap_used_bytes')!);
    assert.ok(sample(f, 'aeon_uptime_seconds')! >= 0);
    const max = sample(f, 'nodejs_eventloop_lag_max_seconds')!;
    assert.ok(max >= 0.2 && max < 2, `max lag ${max}s should show the 250 ms block`);
    assert.ok(sample(f, 'nodejs_eventloop_lag_p50_seconds')! < 0.2);
  });

  it('counts turns, errors, tokens and time to first token', () => {
    const m = new Metrics();
    const a = defineAeonMetrics(m, { readiness: () => ({ store: { ready: true }, mqtt: { ready: false } }), queue: () => ({ running: 2, queued: 5 }), costToday: () => 0.25 });
    a.observeTurn({ agent: 'main', ok: true, duration_ms: 1500, ttft_ms: 700, input: 100, output: 20, tool_calls: 1 });
    a.observeTurn({ agent: 'main', ok: false, error_code: 'llm_timeout', duration_ms: 30000, input: 100, output: 0, tool_calls: 0 });
    const f = parseProm(m.render());
    assert.equal(sample(f, 'aeon_turns_total', { agent: 'main', result: 'ok' }), 1);
    assert.equal(sample(f, 'aeon_turns_total', { agent: 'main', result: 'llm_timeout' }), 1);
    assert.equal(sample(f, 'aeon_turn_errors_total', { kind: 'llm_timeout' }), 1);
    assert.equal(sample(f, 'aeon_llm_tokens_total', { direction: 'in' }), 200);
    assert.equal(sample(f, 'aeon_llm_tokens_total', { direction: 'out' }), 20);
    assert.equal(sample(f, 'aeon_llm_first_token_seconds_bucket', { le: '0.5' }), 0);
    assert.equal(sample(f, 'aeon_llm_first_token_seconds_bucket', { le: '1' }), 1);
    assert.equal(sample(f, 'aeon_part_ready', { part: 'mqtt' }), 0);
    assert.equal(sample(f, 'aeon_part_ready', { part: 'store' }), 1);
    assert.equal(sample(f, 'aeon_queue_depth'), 5);
    assert.equal(sample(f, 'aeon_cost_today_usd'), 0.25);
  });
});
