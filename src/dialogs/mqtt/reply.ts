// How one prompt's answer goes out: deltas (QoS 0, coalesced, only when asked
// for) and exactly one final reply on every target: `<base>/reply`, `reply_to`,
// the MQTT 5 response topic (Correlation Data copied byte for byte).
import type { IPublishPacket } from 'mqtt';
import type { ReplySink, TurnPhase, TurnResult } from '../types.ts';
import type { MqttConnection, OutMessage, QoS } from './connection.ts';
import type { DeltaPayload, Echo, ReplyPayload } from './types.ts';

export interface ReplyTarget {
  topic: string;
  /** MQTT 5: correlation data and content type for a response topic. */
  properties?: IPublishPacket['properties'];
  expires_at?: number;
}

export interface PromptRoute {
  id: Echo;
  /** Session name as the sender knows it (the Inbound `chat`). */
  session: string;
  transaction?: Echo;
  /** Finals go to each. */
  finals: ReplyTarget[];
  /** Deltas go to each (empty when streaming was not asked for). */
  deltas: ReplyTarget[];
  qos: QoS;
}

export interface SinkHooks {
  phase(phase: TurnPhase): void;
  final(result: TurnResult): void;
}

/** Coalesce deltas for this long: one MQTT message per burst instead of per token. */
export const DELTA_INTERVAL_MS = 50;
// Never hold more than this before sending.
const DELTA_MAX_CHARS = 4096;

export class MqttReplySink implements ReplySink {
  readonly #route: PromptRoute;
  readonly #conn: MqttConnection;
  readonly #hooks: SinkHooks;
  readonly #intervalMs: number;
  #pending = '';
  #seq = 0;
  #lastSent = 0;
  #timer: NodeJS.Timeout | undefined;
  #streaming = false;
  #done = false;

  constructor(route: PromptRoute, conn: MqttConnection, hooks: SinkHooks, intervalMs = DELTA_INTERVAL_MS) {
    this.#route = route;
    this.#conn = conn;
    this.#hooks = hooks;
    this.#intervalMs = intervalMs;
  }

  phase(phase: TurnPhase): void {
    if (this.#done) return;
    if (phase === 'streaming') this.#streaming = true;
    this.#hooks.phase(phase);
  }

  delta(text: string): void {
    if (this.#done || !text) return;
    if (!this.#streaming) this.phase('streaming');
    if (!this.#route.deltas.length) return;
    this.#pending += text;
    if (this.#timer) {
      if (this.#pending.length >= DELTA_MAX_CHARS) this.#flush();
      return;
    }
    const wait = this.#lastSent + this.#intervalMs - Date.now();
    if (wait <= 0 || this.#pending.length >= DELTA_MAX_CHARS) this.#flush();
    else this.#timer = setTimeout(() => this.#flush(), wait);
  }

  final(result: TurnResult): void {
    if (this.#done) return;
    this.#flush();
    this.#done = true;
    const r = this.#route;
    const body: ReplyPayload = {
      id: r.id,
      session: r.session,
      ...(result.text || !result.error ? { text: result.text } : {}),
      done: true,
      ...(result.usage ? { usage: { input: result.usage.input, output: result.usage.output } } : {}),
      ...(result.error ? { error: { code: result.error.code, message: result.error.message } } : {}),
      ...(r.transaction !== undefined ? { transaction: r.transaction } : {}),
    };
    deliverReply(this.#conn, String(r.id), r.finals, body, r.qos);
    try {
      this.#hooks.final(result);
    } catch {
      // state bookkeeping must not break the sink contract
    }
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#pending) return;
    const msg: DeltaPayload = { id: this.#route.id, seq: this.#seq++, delta: this.#pending };
    this.#pending = '';
    this.#lastSent = Date.now();
    const payload = JSON.stringify(msg);
    // QoS 0 and never queued: a delta that cannot go now is stale later.
    for (const t of this.#route.deltas) void this.#conn.publish(toMessage(t, payload, 0));
  }
}

/** Sends (or queues while offline) one final reply to every target. */
export function deliverReply(conn: MqttConnection, label: string, targets: ReplyTarget[], body: ReplyPayload, qos: QoS): void {
  const payload = JSON.stringify(body);
  conn.deliver(label, targets.map((t) => toMessage(t, payload, qos)));
}

function toMessage(t: ReplyTarget, payload: string, qos: QoS): OutMessage {
  const m: OutMessage = { topic: t.topic, payload, qos };
  if (t.properties) m.properties = t.properties;
  if (t.expires_at !== undefined) m.expires_at = t.expires_at;
  return m;
}
