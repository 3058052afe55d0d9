// The MQTT dialog: prompts in on `<base>/prompt`, replies out, `<base>/state`
// following the turns, request/response commands, telemetry and Home
// Assistant discovery. The topic contract is docs/mqtt.md.
import type { IPublishPacket } from 'mqtt';
import type { MqttConfig } from '../../config/types.ts';
import type { Logger } from '../../log.ts';
import type { DialogDeps } from '../deps.ts';
import type { Dialog, DialogHealth, Inbound, OnMessage, TurnPhase, TurnResult } from '../types.ts';
import { COMMANDS, CommandError, isCommand, runCommand, type CommandEnv } from './commands.ts';
import type { MqttConnection, QoS, Subscription } from './connection.ts';
import { buildDiscovery } from './discovery.ts';
import { parsePrompt, parseRequest } from './prompt.ts';
import type { ReadCache } from './read-cache.ts';
import { deliverReply, MqttReplySink, type PromptRoute, type ReplyTarget } from './reply.ts';
import { isUnder, publishTopicProblem, type Topics } from './topics.ts';
import type { Echo, MqttCounters, ReplyError, ResponsePayload, StatePayload, TelePayload } from './types.ts';

export interface MqttDialogParts {
  deps: DialogDeps;
  cfg: MqttConfig;
  topics: Topics;
  conn: MqttConnection;
  cache: ReadCache;
  version: string;
  now: () => number;
  /** Wait before re-sending discovery when Home Assistant comes online (a few random seconds). */
  discoveryDelayMs: () => number;
  deltaIntervalMs: number;
  /** Loads TLS files and the like; throws a clear message. Runs in `start`. */
  prepare: () => void;
}

interface ActiveTurn {
  id: Echo;
  session: string;
  phase: 'thinking' | 'streaming';
}

// Error codes that mean "not taken" rather than "failed".
const REFUSALS = new Set(['busy', 'budget']);

// Generated prompt ids: `m` + time + counter, unique within a process run.
let idCounter = 0;

export class MqttDialog implements Dialog {
  readonly name = 'mqtt';
  readonly #p: MqttDialogParts;
  readonly #log: Logger;
  readonly #active = new Map<number, ActiveTurn>();
  readonly #byId = new Map<string, string>();
  readonly counters: MqttCounters = { prompts: 0, replies: 0, rejected: 0, errors: 0, offline_dropped: 0, reconnects: 0 };
  #onMessage: OnMessage | undefined;
  #turnSeq = 0;
  /** How the last turn that ran ended: `idle` or `error`, with its session and id. */
  #last: StatePayload = { state: 'idle' };
  #stateJson = '';
  #startError: string | undefined;
  #teleTimer: NodeJS.Timeout | undefined;
  #discoveryTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(parts: MqttDialogParts) {
    this.#p = parts;
    this.#log = parts.deps.log;
  }

  async start(onMessage: OnMessage): Promise<void> {
    if (this.#onMessage) return;
    this.#onMessage = onMessage;
    const { cfg, topics, conn, cache } = this.#p;
    try {
      this.#p.prepare();
    } catch (err) {
      this.#startError = (err as Error).message;
      this.#log.error({ err: this.#startError }, 'the MQTT dialog cannot start');
      throw err;
    }
    const qos = cfg.qos;
    const subs: Subscription[] = [
      { filter: topics.prompt, qos },
      { filter: topics.requests, qos },
    ];
    if (cfg.discovery) subs.push({ filter: topics.haStatus, qos: 1 });
    for (const f of cache.filters) if (!subs.some((s) => s.filter === f)) subs.push({ filter: f, qos: 1 });
    await conn.start(subs, (t, payload, packet) => this.#message(t, payload, packet), () => this.#announce());
    if (cfg.tele_period_s > 0) {
      this.#teleTimer = setInterval(() => this.#tele(), cfg.tele_period_s * 1000);
      this.#teleTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#teleTimer) clearInterval(this.#teleTimer);
    if (this.#discoveryTimer) clearTimeout(this.#discoveryTimer);
    this.#teleTimer = this.#discoveryTimer = undefined;
    await this.#p.conn.stop();
  }

  health(): DialogHealth {
    if (this.#startError) return { ready: false, state: 'error', detail: this.#startError };
    const c = this.#p.conn;
    switch (c.state) {
      case 'connected':
        return { ready: true, state: 'connected' };
      case 'idle':
        return { ready: false, state: 'stopped', detail: 'not started' };
      case 'stopped':
        return { ready: false, state: 'stopped' };
      default: {
        const queued = c.queued ? `; ${c.queued} repl${c.queued === 1 ? 'y' : 'ies'} waiting` : '';
        return { ready: false, state: c.state, detail: `${c.detail ?? 'connecting to the broker'}${queued}` };
      }
    }
  }

  /** After every (re)connect: status, state, discovery, telemetry. */
  #announce(): void {
    const { conn, topics, cfg } = this.#p;
    this.counters.reconnects = conn.reconnects;
    void conn.publish({ topic: topics.status, payload: 'online', qos: 1, retain: true });
    this.#publishState(true);
    if (cfg.discovery) this.#publishDiscovery();
    if (cfg.tele_period_s > 0) this.#tele();
  }

  #message(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const { topics, cache } = this.#p;
    if (cache.filters.length && cache.covers(topic)) cache.put(topic, payload, packet.retain === true, this.#p.now());
    if (topic === topics.prompt) return this.#prompt(payload, packet);
    if (topic.startsWith(topics.requestPrefix)) return void this.#request(topic.slice(topics.requestPrefix.length), payload, packet);
    if (topic === topics.haStatus && this.#p.cfg.discovery) return this.#haStatus(payload, packet);
  }

  #prompt(payload: Buffer, packet: IPublishPacket): void {
    const { cfg, topics, conn, deps } = this.#p;
    if (packet.retain) {
      // A retained prompt would be answered again on every reconnect.
      this.#log.warn({ topic: topics.prompt }, 'ignoring a retained prompt; publish prompts without retain (clear it with an empty retained message)');
      return;
    }
    this.counters.prompts++;
    deps.count('mqtt_prompts_total');
    const props = conn.protocolVersion === 5 ? packet.properties : undefined;
    const finals: ReplyTarget[] = [{ topic: topics.reply }];
    const deltas: ReplyTarget[] = [];
    let responseTarget: ReplyTarget | undefined;
    let responseProblem: string | undefined;
    if (props?.responseTopic) {
      responseProblem = this.#replyTopicProblem(props.responseTopic, 'the response topic');
      if (!responseProblem) {
        const properties: IPublishPacket['properties'] = { contentType: 'application/json' };
        if (props.correlationData) properties.correlationData = props.correlationData;
        responseTarget = { topic: props.responseTopic, properties };
        if (props.messageExpiryInterval) responseTarget.expires_at = this.#p.now() + props.messageExpiryInterval * 1000;
        finals.push(responseTarget);
      }
    }
    const parsed = parsePrompt(payload, cfg.max_payload_bytes);
    if (!parsed.ok || responseProblem) {
      const error = parsed.ok ? { code: 'invalid', message: `The prompt has problems: ${responseProblem}.` } : parsed.error;
      const echo = parsed.ok ? { id: parsed.value.id, transaction: parsed.value.transaction } : parsed;
      this.#reject(finals, error, echo.id, echo.transaction);
      return;
    }
    const p = parsed.value;
    if (p.reply_to !== undefined) {
      const bad = this.#replyTopicProblem(p.reply_to, 'reply_to');
      if (bad) return this.#reject(finals, { code: 'invalid', message: `The prompt has problems: ${bad}.` }, p.id, p.transaction);
      if (!finals.some((f) => f.topic === p.reply_to)) finals.push({ topic: p.reply_to });
    }
    const id: Echo = p.id ?? `m${Date.now().toString(36)}${(++idCounter).toString(36)}`;
    const client = userProperty(props?.userProperties, 'client_id');
    const session = p.session ?? client ?? props?.responseTopic ?? 'default';
    if (p.stream ?? cfg.stream) {
      deltas.push({ topic: topics.delta });
      if (responseTarget) deltas.push({ ...responseTarget, topic: `${responseTarget.topic}/delta` });
    }
    const route: PromptRoute = { id, session, finals, deltas, qos: cfg.qos, ...(p.transaction !== undefined ? { transaction: p.transaction } : {}) };
    const turn = ++this.#turnSeq;
    const idKey = String(id);
    this.#active.set(turn, { id, session, phase: 'thinking' });
    this.#byId.set(idKey, session);
    let started = false;
    const sink = new MqttReplySink(route, conn, {
      phase: (phase) => {
        started = true;
        this.#phase(turn, phase);
      },
      final: (result) => this.#finished(turn, idKey, result, started),
    }, this.#p.deltaIntervalMs);
    const inbound: Inbound = {
      dialog: 'mqtt',
      chat: session,
      text: p.text,
      id: idKey,
      meta: { mqtt_id: id, ...(p.transaction !== undefined ? { transaction: p.transaction } : {}), ...(client ? { client_id: client } : {}) },
    };
    if (client) inbound.user = client;
    if (cfg.agent) inbound.agent = cfg.agent;
    try {
      this.#onMessage!(inbound, sink);
    } catch (err) {
      this.#log.error({ err }, 'handing the prompt to the agent failed');
      sink.final({ text: '', session, error: { code: 'internal', message: 'aeon could not take the prompt; see its log.' } });
    }
    // After the hand-over: a prompt refused at once (busy) never shows as thinking.
    if (this.#active.has(turn)) this.#publishState();
  }

  #reject(finals: ReplyTarget[], error: ReplyError, id: Echo | undefined, transaction: Echo | undefined): void {
    this.counters.rejected++;
    this.#p.deps.count('mqtt_rejected_total', { reason: error.code });
    this.#log.info({ code: error.code, id }, `rejected a prompt: ${error.message}`);
    const body = { ...(id !== undefined ? { id } : {}), done: true as const, error, ...(transaction !== undefined ? { transaction } : {}) };
    deliverReply(this.#p.conn, String(id ?? 'rejected'), finals, body, this.#p.cfg.qos);
  }

  /** reply_to and response topics must be concrete and must not loop back into aeon. */
  #replyTopicProblem(topic: string, what: string): string | undefined {
    const bad = publishTopicProblem(topic);
    if (bad) return `${what}: ${bad}`;
    const t = this.#p.topics;
    if (isUnder(t.base, topic) && !topic.startsWith(`${t.reply}/`)) return `${what}: "${topic}" is one of aeon's own topics (only below ${t.reply}/ is allowed)`;
    if (topic === t.haStatus) return `${what}: "${topic}" is Home Assistant's status topic`;
    return undefined;
  }

  #phase(turn: number, phase: TurnPhase): void {
    const a = this.#active.get(turn);
    if (!a) return;
    const next = phase === 'streaming' ? 'streaming' : 'thinking';
    if (a.phase === next) return;
    a.phase = next;
    this.#publishState();
  }

  #finished(turn: number, idKey: string, result: TurnResult, started: boolean): void {
    const a = this.#active.get(turn);
    this.#active.delete(turn);
    if (this.#byId.get(idKey) === a?.session) this.#byId.delete(idKey);
    this.counters.replies++;
    this.#p.deps.count('mqtt_replies_total');
    this.counters.offline_dropped = this.#p.conn.dropped;
    if (result.error) this.counters.errors++;
    // A refusal before the turn began (busy, over budget) leaves the state as it was.
    const refused = !started && result.error !== undefined && REFUSALS.has(result.error.code);
    if (a && !refused) {
      this.#last = result.error
        ? { state: 'error', session: a.session, last_id: a.id, error: { code: result.error.code, message: result.error.message } }
        : { state: 'idle', session: a.session, last_id: a.id };
    }
    this.#publishState();
  }

  /**
   * Derives `<base>/state`: a streaming turn if any, else the newest running
   * one, else how the last turn ended. Publishes when it changed (or `force`).
   */
  #publishState(force = false): void {
    let latest: ActiveTurn | undefined;
    let streaming: ActiveTurn | undefined;
    for (const a of this.#active.values()) {
      latest = a;
      if (a.phase === 'streaming') streaming = a;
    }
    const running = streaming ?? latest;
    const s: StatePayload = running ? { state: running.phase, session: running.session, last_id: running.id } : this.#last;
    const json = JSON.stringify(s);
    if (json === this.#stateJson && !force) return;
    this.#stateJson = json;
    void this.#p.conn.publish({ topic: this.#p.topics.state, payload: json, qos: 1, retain: true });
  }

  async #request(cmd: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    if (packet.retain) {
      this.#log.warn({ cmd }, 'ignoring a retained request; publish requests without retain');
      return;
    }
    const { topics, conn, cfg, deps } = this.#p;
    const targets: ReplyTarget[] = [{ topic: topics.responsePrefix + cmd }];
    const props = conn.protocolVersion === 5 ? packet.properties : undefined;
    if (props?.responseTopic && !this.#replyTopicProblem(props.responseTopic, 'response topic')) {
      targets.push({ topic: props.responseTopic, properties: { contentType: 'application/json', ...(props.correlationData ? { correlationData: props.correlationData } : {}) } });
    }
    const parsed = parseRequest(payload, cfg.max_payload_bytes);
    let res: ResponsePayload;
    if (!parsed.ok) {
      res = { status: 'error', error: parsed.error.message, ...(parsed.transaction !== undefined ? { transaction: parsed.transaction } : {}) };
    } else {
      const tx = parsed.value.transaction;
      const echo = tx !== undefined ? { transaction: tx } : {};
      if (!isCommand(cmd)) {
        res = { status: 'error', error: `Unknown command "${cmd}"; known: ${COMMANDS.join(', ')}.`, ...echo };
      } else {
        try {
          res = { status: 'ok', data: await runCommand(cmd, parsed.value, this.#commandEnv()), ...echo };
        } catch (err) {
          if (!(err instanceof CommandError)) this.#log.error({ err, cmd }, 'mqtt command failed');
          res = { status: 'error', error: err instanceof CommandError ? err.message : `The command failed: ${(err as Error).message}`, ...echo };
        }
      }
    }
    deps.count('mqtt_requests_total', { cmd: isCommand(cmd) ? cmd : 'unknown', status: res.status });
    const json = JSON.stringify(res);
    for (const t of targets) void conn.publish({ topic: t.topic, payload: json, qos: cfg.qos, ...(t.properties ? { properties: t.properties } : {}) });
  }

  #commandEnv(): CommandEnv {
    const { deps, cfg } = this.#p;
    return {
      agent: deps.agent,
      store: deps.store,
      config: deps.config,
      secrets: deps.secrets,
      agentId: cfg.agent,
      health: () => this.health(),
      status: () => deps.status(),
      sessionOfPrompt: (id) => this.#byId.get(id),
    };
  }

  #haStatus(payload: Buffer, packet: IPublishPacket): void {
    // A retained `online` arrives right after our own connect, which already published discovery.
    if (packet.retain || payload.toString('utf8').trim() !== 'online' || this.#discoveryTimer) return;
    const delay = this.#p.discoveryDelayMs();
    this.#log.debug({ delay_ms: delay }, 'Home Assistant is online; re-sending discovery');
    this.#discoveryTimer = setTimeout(() => {
      this.#discoveryTimer = undefined;
      if (this.#stopped) return;
      this.#publishDiscovery();
      this.#publishState(true);
    }, delay);
    this.#discoveryTimer.unref();
  }

  #publishDiscovery(): void {
    const { deps, topics, conn, version, cfg } = this.#p;
    const d = deps.config.device;
    const payload = buildDiscovery({ topics, device: { id: d.id, name: d.name, board: d.board }, version, qos: cfg.qos as QoS });
    void conn.publish({ topic: topics.discovery, payload: JSON.stringify(payload), qos: 1, retain: true });
  }

  #tele(): void {
    const { deps, conn, topics } = this.#p;
    if (!conn.connected) return;
    this.counters.reconnects = conn.reconnects;
    this.counters.offline_dropped = conn.dropped;
    let status: Record<string, unknown> = {};
    try {
      status = deps.status();
    } catch (err) {
      this.#log.warn({ err }, 'device status failed; telemetry without it');
    }
    const tele: TelePayload = { ...status, agent: deps.agent.stats(), mqtt: { ...this.counters } };
    void conn.publish({ topic: topics.tele, payload: JSON.stringify(tele), qos: 0 });
  }
}

function userProperty(props: Record<string, string | string[]> | undefined, name: string): string | undefined {
  const v = props?.[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.length <= 64 ? s : undefined;
}
