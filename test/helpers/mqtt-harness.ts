// What the MQTT tests share: a validated config pointing at the test broker, a
// dialog wired to the scripted agent with a log the test can read, and a
// plain MQTT client ("watcher") that records what it sees and waits for it.
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Config } from '../../src/config/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DialogDeps } from '../../src/dialogs/deps.ts';
import { createMqttDialog, type MqttDialogOptions } from '../../src/dialogs/mqtt/index.ts';
import type { Dialog } from '../../src/dialogs/types.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import type { Tool } from '../../src/tools/types.ts';
import { Secrets } from '../../src/util/secrets.ts';
import type { TestBroker } from './broker.ts';
import { MqttTestAgent, type MqttAgentOptions } from './mqtt-agent.ts';

let seq = 0;

export interface ConfigOverrides {
  device_id?: string;
  mqtt?: Record<string, unknown>;
  tools?: Record<string, unknown>;
  agents?: Record<string, unknown>;
}

/** A config as aeon would load it (schema defaults, validation), for the test broker. */
export function testConfig(broker: Pick<TestBroker, 'url' | 'mqtt5'>, over: ConfigOverrides = {}): { config: Config; secrets: Secrets } {
  const id = over.device_id ?? `t${process.pid}x${++seq}`;
  const raw = {
    device: { id, name: `aeon ${id}`, board: 'x64', data_dir: path.join(os.tmpdir(), `aeon-mqtt-${id}`) },
    agents: over.agents ?? { main: { provider: 'ollama', model: 'llama3.2', base_url: 'http://127.0.0.1:9/v1' } },
    storage: { sessions_db: ':memory:' },
    dialogs: { mqtt: { enabled: true, url: broker.url, protocol_version: broker.mqtt5 ? 5 : 4, tele_period_s: 0, ...over.mqtt } },
    tools: over.tools ?? {},
  };
  const { config, secrets } = parseConfig(JSON.stringify(raw), '<test>', { env: {} });
  return { config, secrets };
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface DialogHarness {
  config: Config;
  dialog: Dialog;
  tools: Tool[];
  agent: MqttTestAgent;
  store: Store;
  logs: LogLine[];
  counts: Map<string, number>;
  base: string;
  stop(): Promise<void>;
}

export interface HarnessOptions extends ConfigOverrides {
  /** Default: a MqttTestAgent on the harness store with `script` and `maxPending`. */
  agent?: MqttTestAgent;
  script?: MqttAgentOptions['script'];
  maxPending?: number;
  dialog?: MqttDialogOptions;
  status?: () => Record<string, unknown>;
  /** Do not call dialog.start. */
  noStart?: boolean;
}

export async function startDialog(broker: TestBroker, o: HarnessOptions = {}): Promise<DialogHarness> {
  const { config, secrets } = testConfig(broker, o);
  const store = Store.open({ path: ':memory:' });
  const agent = o.agent ?? new MqttTestAgent({ store, ...(o.script ? { script: o.script } : {}), ...(o.maxPending ? { maxPending: o.maxPending } : {}) });
  const logs: LogLine[] = [];
  const log = createLogger({
    level: 'debug',
    secrets,
    destination: {
      write(line: string) {
        logs.push(JSON.parse(line) as LogLine);
      },
    },
  }).child({ mod: 'mqtt' });
  const counts = new Map<string, number>();
  const deps: DialogDeps = {
    config,
    log,
    store,
    agent,
    secrets,
    status: o.status ?? (() => ({ uptime_s: 12, rss_bytes: 50 << 20, heap_used_bytes: 10 << 20, cpu_temp_c: 48.5 })),
    count: (name, _labels, n = 1) => counts.set(name, (counts.get(name) ?? 0) + n),
  };
  const { dialog, tools = [] } = createMqttDialog(deps, { reconnect_min_ms: 100, reconnect_max_ms: 1000, discovery_delay_ms: () => 50, ...o.dialog });
  if (!o.noStart) await dialog.start(agent.submit);
  return {
    config,
    dialog,
    tools,
    agent,
    store,
    logs,
    counts,
    base: config.dialogs.mqtt.base_topic ?? `aeon/${config.device.id}`,
    async stop() {
      await dialog.stop();
      store.close();
    },
  };
}

/** Waits until `cond` holds, polling. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Seen {
  topic: string;
  text: string;
  payload: Buffer;
  packet: IPublishPacket;
  /** Parsed JSON, when the payload is JSON. */
  json: any;
  at: number;
}

/** A plain MQTT client for the test side: records every message, waits for the ones it needs. */
export class Watcher {
  readonly client: MqttClient;
  readonly seen: Seen[] = [];
  #waiters: Array<{ pred: (m: Seen) => boolean; resolve: (m: Seen) => void }> = [];

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        json = undefined;
      }
      const m: Seen = { topic, payload, text: payload.toString('utf8'), packet, json, at: Date.now() };
      this.seen.push(m);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async connect(broker: Pick<TestBroker, 'url'>, opts: { protocolVersion?: 4 | 5; clientId?: string; subscribe?: string[] } = {}): Promise<Watcher> {
    const client = mqtt.connect(broker.url, { protocolVersion: opts.protocolVersion ?? 4, clientId: opts.clientId ?? `watch-${process.pid}-${++seq}`, reconnectPeriod: 100 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const w = new Watcher(client);
    if (opts.subscribe?.length) await w.subscribe(...opts.subscribe);
    return w;
  }

  async subscribe(...filters: string[]): Promise<void> {
    await this.client.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])));
  }

  async publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions = { qos: 1 }): Promise<void> {
    await this.client.publishAsync(topic, payload, opts);
  }

  /** The first message (already seen or coming) that matches. */
  wait(pred: (m: Seen) => boolean, what: string, timeoutMs = 5000): Promise<Seen> {
    const found = this.seen.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m: Seen) => {
          clearTimeout(t);
          resolve(m);
        },
      };
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw: ${this.seen.map((s) => `${s.topic} ${s.text.slice(0, 80)}`).join(' | ') || 'nothing'}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  on(topic: string): Seen[] {
    return this.seen.filter((m) => m.topic === topic);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
