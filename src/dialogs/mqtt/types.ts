// Payloads by topic: what aeon publishes and accepts (docs/mqtt.md is the
// user-facing contract; keep the two in step). JSON keys are snake_case.
import type { AgentStats } from '../../agent/types.ts';

/** A correlation value chosen by the sender, echoed as it came. */
export type Echo = string | number;

/** `<base>/status`, retained, QoS 1: birth `online`, last will `offline`. */
export type StatusPayload = 'online' | 'offline';

/** `<base>/prompt` (in): plain text, or this object. */
export interface PromptPayload {
  text: string;
  id?: Echo;
  /** Conversation name; default one per MQTT 5 client, else `default`. */
  session?: string;
  /** Also publish the final reply here. */
  reply_to?: string;
  /** Publish deltas while the answer streams. */
  stream?: boolean;
  transaction?: Echo;
}

/** `<base>/reply/delta` and `<response topic>/delta`, QoS 0, not retained. */
export interface DeltaPayload {
  id: Echo;
  /** Counts from 0 within one reply. */
  seq: number;
  delta: string;
}

export interface ReplyError {
  /** `bad_json`, `invalid`, `empty`, `too_large`, `busy`, `cancelled`, `llm_*`, `internal`... */
  code: string;
  message: string;
}

/** `<base>/reply`, `reply_to`, the MQTT 5 response topic: QoS 1 (configurable), not retained. */
export interface ReplyPayload {
  /** The prompt's id, or one aeon assigned; absent only when a malformed prompt had none readable. */
  id?: Echo;
  session?: string;
  /** The answer; on failure what was said before the failure (may be absent). */
  text?: string;
  done: true;
  usage?: { input: number; output: number };
  error?: ReplyError;
  transaction?: Echo;
}

export type AeonState = 'idle' | 'thinking' | 'streaming' | 'error';

/** `<base>/state`, retained, QoS 1. */
export interface StatePayload {
  state: AeonState;
  session?: string;
  last_id?: Echo;
  /** Present in state `error`: what went wrong with the last turn. */
  error?: ReplyError;
}

/** `<base>/tele`, QoS 0, every `tele_period_s`: the device status plus these. */
export interface TelePayload extends Record<string, unknown> {
  agent: AgentStats;
  mqtt: MqttCounters;
}

export interface MqttCounters {
  prompts: number;
  replies: number;
  rejected: number;
  errors: number;
  offline_dropped: number;
  reconnects: number;
}

/** `<base>/request/<cmd>` (in). An empty payload is `{}`. */
export interface RequestPayload {
  transaction?: Echo;
  session?: string;
  id?: Echo;
}

export type Command = 'ping' | 'health' | 'session/reset' | 'session/list' | 'cancel' | 'config';

/** `<base>/response/<cmd>`, QoS 1, not retained. */
export type ResponsePayload =
  | { status: 'ok'; data: Record<string, unknown>; transaction?: Echo }
  | { status: 'error'; error: string; transaction?: Echo };

/** `<base>/action`, QoS 1: one per publish the mqtt_publish tool made. */
export interface ActionPayload {
  /** The prompt whose turn made the publish. */
  id?: string;
  session: string;
  topic: string;
  payload: unknown;
  qos: 0 | 1 | 2;
  retain: boolean;
}
