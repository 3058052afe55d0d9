// The one MQTT client of the dialog. Its job: stay connected (reconnect with
// capped, jittered exponential backoff), re-subscribe and re-announce on every
// connect, and publish without ever throwing. Replies finished while the broker
// is away wait in a bounded queue and go out after the next connect.
//
// mqtt.js's own reconnect runs on a fixed interval, so it is off
// (reconnectPeriod 0) and `#schedule` drives `client.reconnect()`, handing the
// client its own stores back so QoS 1 messages in flight at the drop are resent.
// mqtt.js is imported in `start` (client.ts: only the parts an mqtt:// URL
// needs): only a device with MQTT enabled should pay for it.
import type { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from '../../log.ts';
import { loadClientFactory, type ClientFactory } from './client.ts';

export type QoS = 0 | 1 | 2;

export interface OutMessage {
  topic: string;
  payload: string | Buffer;
  qos: QoS;
  retain?: boolean;
  /** MQTT 5 publish properties; dropped on 3.1.1. */
  properties?: IPublishPacket['properties'];
  /**
   * Epoch ms after which the message is pointless (the MQTT 5 request it answers
   * has expired). Queued messages past it are dropped; others carry the rest as
   * their own message expiry interval.
   */
  expires_at?: number;
}

export interface Subscription {
  filter: string;
  qos: QoS;
}

export type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

export interface ConnectionOptions {
  url: string;
  /** `url` without credentials, for logs and health. */
  display_url: string;
  client_id: string;
  protocol_version: 4 | 5;
  username?: string;
  password?: string;
  /** TLS material; read by the dialog at start, before `start` here. */
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  reject_unauthorized: boolean;
  /** Last will: retained, QoS 1. */
  will: { topic: string; payload: string };
  keepalive_s: number;
  connect_timeout_ms: number;
  reconnect_min_ms: number;
  reconnect_max_ms: number;
  /** Finished replies kept while disconnected (0: none). */
  offline_queue: number;
  log: Logger;
  random: () => number;
  now: () => number;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'stopped';

/** One reply's messages: queued and delivered together. */
interface QueuedGroup {
  label: string;
  messages: OutMessage[];
}

export class MqttConnection {
  readonly #o: ConnectionOptions;
  #client: MqttClient | undefined;
  #subs: Subscription[] = [];
  #onMessage: MessageHandler = () => {};
  #onConnect: () => void = () => {};
  #queue: QueuedGroup[] = [];
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #state: ConnectionState = 'idle';
  #detail: string | undefined;
  #lastError = '';
  #wasConnected = false;
  reconnects = 0;
  dropped = 0;

  constructor(opts: ConnectionOptions) {
    this.#o = opts;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Why it is not connected, in one sentence (the last broker or socket error). */
  get detail(): string | undefined {
    return this.#detail;
  }

  get connected(): boolean {
    return this.#state === 'connected' && this.#client?.connected === true;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get protocolVersion(): 4 | 5 {
    return this.#o.protocol_version;
  }

  /**
   * Connects in the background and keeps reconnecting; resolves once the first
   * attempt is under way. `onConnect` runs after every (re)connect, once the
   * subscriptions are in place, before queued replies go out.
   */
  async start(subs: Subscription[], onMessage: MessageHandler, onConnect: () => void): Promise<void> {
    if (this.#client) return;
    this.#subs = subs;
    this.#onMessage = onMessage;
    this.#onConnect = onConnect;
    const o = this.#o;
    let create: ClientFactory;
    try {
      create = await loadClientFactory(o.url);
    } catch (err) {
      // A URL aeon cannot use; the schema lets few through, but never crash.
      this.#state = 'stopped';
      this.#detail = `cannot connect to ${o.display_url}: ${(err as Error).message}`;
      o.log.error({ err }, this.#detail);
      return;
    }
    const opts: IClientOptions = {
      clientId: o.client_id,
      protocolVersion: o.protocol_version,
      clean: true,
      keepalive: o.keepalive_s,
      connectTimeout: o.connect_timeout_ms,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: 1, retain: true },
      rejectUnauthorized: o.reject_unauthorized,
    };
    if (o.username !== undefined) opts.username = o.username;
    if (o.password !== undefined) opts.password = o.password;
    if (o.tls.ca) opts.ca = o.tls.ca;
    if (o.tls.cert) opts.cert = o.tls.cert;
    if (o.tls.key) opts.key = o.tls.key;
    this.#state = 'connecting';
    let client: MqttClient;
    try {
      client = create(opts);
    } catch (err) {
      // A URL mqtt.js cannot use; the schema lets few through, but never crash.
      this.#state = 'stopped';
      this.#detail = `cannot connect to ${o.display_url}: ${(err as Error).message}`;
      o.log.error({ err }, this.#detail);
      return;
    }
    this.#client = client;
    client.on('connect', () => this.#connected(client));
    client.on('message', (topic, payload, packet) => {
      try {
        this.#onMessage(topic, payload, packet);
      } catch (err) {
        o.log.error({ err, topic }, 'mqtt message handler failed');
      }
    });
    client.on('error', (err) => this.#error(err));
    client.on('close', () => this.#closed(client));
  }

  /**
   * Publishes now. Never throws; resolves true once the broker has the message
   * (PUBACK/PUBCOMP; for QoS 0, once written), false when not connected or it failed.
   */
  publish(m: OutMessage): Promise<boolean> {
    const client = this.#client;
    if (!client || !this.connected) return Promise.resolve(false);
    const opts: IClientPublishOptions = { qos: m.qos, retain: m.retain ?? false };
    if (this.#o.protocol_version === 5) {
      const props = m.expires_at === undefined ? m.properties : { ...m.properties, messageExpiryInterval: Math.max(1, Math.ceil((m.expires_at - this.#o.now()) / 1000)) };
      if (props) opts.properties = props;
    }
    return new Promise((resolve) => {
      try {
        client.publish(m.topic, m.payload, opts, (err) => {
          if (err) this.#o.log.debug({ err: err.message, topic: m.topic }, 'publish failed');
          resolve(!err);
        });
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message, topic: m.topic }, 'publish failed');
        resolve(false);
      }
    });
  }

  /**
   * Publishes a reply's messages now, or keeps them for the next connect when
   * the broker is away (oldest reply dropped, with a log line, when full).
   */
  deliver(label: string, messages: OutMessage[]): void {
    if (this.connected) {
      for (const m of messages) void this.publish(m);
      return;
    }
    if (this.#state === 'stopped') {
      this.#o.log.warn({ reply: label }, 'reply finished after the MQTT dialog stopped; not delivered');
      return;
    }
    if (this.#o.offline_queue === 0) {
      this.dropped++;
      this.#o.log.warn({ reply: label }, 'broker unreachable and dialogs.mqtt.offline_queue is 0: reply dropped');
      return;
    }
    if (this.#queue.length >= this.#o.offline_queue) {
      const old = this.#queue.shift()!;
      this.dropped++;
      this.#o.log.warn({ reply: old.label, limit: this.#o.offline_queue }, 'offline queue full (dialogs.mqtt.offline_queue): dropped the oldest reply');
    }
    this.#queue.push({ label, messages });
  }

  /** Stops reconnecting, announces `offline` (a clean disconnect sends no will), and closes. */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    const wasConnected = this.connected;
    this.#state = 'stopped';
    if (this.#queue.length) this.#o.log.warn({ replies: this.#queue.length }, 'stopping with replies still queued for the broker; they are dropped');
    this.#queue = [];
    if (!client) return;
    if (wasConnected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        client.publish(this.#o.will.topic, this.#o.will.payload, { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    // A clean DISCONNECT once in-flight messages are acknowledged; a broker that
    // does not answer gets the socket closed after 2 s.
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.stream?.destroy();
        resolve();
      }, 2000);
      client.end(!wasConnected, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
    // Our listeners stay (they check the state); removing all would also remove
    // mqtt.js's own 'close' handler, which clears its connack timer.
  }

  #connected(client: MqttClient): void {
    if (this.#state === 'stopped') return;
    this.#attempt = 0;
    this.#state = 'connected';
    this.#detail = undefined;
    this.#lastError = '';
    if (this.#wasConnected) this.#o.log.info('reconnected to the MQTT broker');
    else this.#o.log.info({ url: this.#o.display_url, client_id: this.#o.client_id, protocol: this.#o.protocol_version }, 'connected to the MQTT broker');
    this.#wasConnected = true;
    const map: Record<string, { qos: QoS }> = {};
    for (const s of this.#subs) map[s.filter] = { qos: s.qos };
    const afterSubscribe = () => {
      if (!client.connected || this.#state !== 'connected') return;
      try {
        this.#onConnect();
      } catch (err) {
        this.#o.log.error({ err }, 'mqtt on-connect step failed');
      }
      this.#flush();
    };
    if (!this.#subs.length) return afterSubscribe();
    client.subscribe(map, (err, granted) => {
      if (err) {
        this.#o.log.warn({ err: err.message }, 'subscribing failed; retrying on the next connect');
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos === 128 || g.qos > 2) this.#o.log.warn({ filter: g.topic }, `the broker refused the subscription to ${g.topic} (check its ACL)`);
      }
      afterSubscribe();
    });
  }

  #flush(): void {
    const groups = this.#queue;
    if (!groups.length) return;
    this.#queue = [];
    const now = this.#o.now();
    let sent = 0;
    for (const g of groups) {
      for (const m of g.messages) {
        if (m.expires_at !== undefined && m.expires_at <= now) {
          this.#o.log.debug({ reply: g.label, topic: m.topic }, 'queued reply expired (MQTT 5 message expiry); dropped');
          continue;
        }
        void this.publish(m);
      }
      sent++;
    }
    this.#o.log.info({ replies: sent }, 'delivered replies queued while the broker was away');
  }

  #error(err: Error & { code?: unknown }): void {
    const msg = err.message || String(err.code ?? 'error');
    this.#detail = `broker ${this.#o.display_url}: ${msg}`;
    // One line per distinct error, not one per retry.
    if (msg !== this.#lastError) this.#o.log.warn({ err: msg, url: this.#o.display_url }, 'MQTT connection problem');
    this.#lastError = msg;
  }

  #closed(client: MqttClient): void {
    if (this.#state === 'stopped' || client !== this.#client) return;
    if (this.#state === 'connected') {
      this.reconnects++;
      this.#detail ??= 'connection to the broker lost';
      this.#o.log.warn({ queued: this.#queue.length }, 'lost the MQTT broker; reconnecting');
    }
    this.#state = this.#wasConnected ? 'reconnecting' : 'connecting';
    this.#schedule(client);
  }

  #schedule(client: MqttClient): void {
    if (this.#timer) return;
    const delay = backoffDelay(this.#attempt++, this.#o.reconnect_min_ms, this.#o.reconnect_max_ms, this.#o.random);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === 'stopped') return;
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore } as never);
    }, delay);
  }
}

/**
 * Capped exponential backoff with "equal jitter": half the step is fixed, half
 * random, so many devices coming back after a broker restart do not reconnect
 * in lockstep. Attempt 0 waits between min/2 and min.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
