// MQTT dialog factory: builds the connection, the dialog and the mqtt_publish /
// mqtt_read tools from config. Nothing connects until `dialog.start`; the
// `mqtt` package itself loads only then.
import fs from 'node:fs';
import pkg from '../../../package.json' with { type: 'json' };
import type { DialogDeps, DialogParts } from '../deps.ts';
import { MqttConnection } from './connection.ts';
import { MqttDialog } from './dialog.ts';
import { ReadCache } from './read-cache.ts';
import { DELTA_INTERVAL_MS } from './reply.ts';
import { createMqttTools } from './tools.ts';
import { topicsFor } from './topics.ts';

export { MqttDialog } from './dialog.ts';
export { publishRefusal } from './tools.ts';
export { topicMatches } from './topics.ts';
export type * from './types.ts';

/** Seams for tests and benchmarks; production uses the defaults. */
export interface MqttDialogOptions {
  /** First reconnect wait; doubles per failed attempt up to `reconnect_max_ms` (jittered). Default 1000. */
  reconnect_min_ms?: number;
  /** Default 60000. */
  reconnect_max_ms?: number;
  /** Wait before re-sending discovery after `homeassistant/status online`. Default 2–5 s, random. */
  discovery_delay_ms?: () => number;
  /** Delta coalescing window. Default 50 ms. */
  delta_interval_ms?: number;
  keepalive_s?: number;
  random?: () => number;
  now?: () => number;
}

export function createMqttDialog(deps: DialogDeps, opts: MqttDialogOptions = {}): DialogParts {
  const config = deps.config;
  const cfg = config.dialogs.mqtt;
  const deviceId = config.device.id;
  const base = stripSlash(cfg.base_topic ?? `aeon/${deviceId}`);
  const topics = topicsFor(base, stripSlash(cfg.discovery_prefix), deviceId);
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  const conn = new MqttConnection({
    url: cfg.url,
    display_url: withoutCredentials(cfg.url),
    client_id: cfg.client_id ?? `aeon-${deviceId}`,
    protocol_version: cfg.protocol_version,
    ...(cfg.username !== undefined ? { username: cfg.username } : {}),
    ...(cfg.password !== undefined ? { password: cfg.password } : {}),
    tls,
    reject_unauthorized: cfg.reject_unauthorized,
    will: { topic: topics.status, payload: 'offline' },
    keepalive_s: opts.keepalive_s ?? 30,
    connect_timeout_ms: 15_000,
    reconnect_min_ms: opts.reconnect_min_ms ?? 1000,
    reconnect_max_ms: opts.reconnect_max_ms ?? 60_000,
    offline_queue: cfg.offline_queue,
    log: deps.log,
    random,
    now,
  });
  const cache = new ReadCache(config.tools.mqtt_read.topics, config.tools.mqtt_read.max_entries, config.budget.tool_output_bytes);
  const dialog = new MqttDialog({
    deps,
    cfg,
    topics,
    conn,
    cache,
    version: pkg.version,
    now,
    discoveryDelayMs: opts.discovery_delay_ms ?? (() => 2000 + Math.round(random() * 3000)),
    deltaIntervalMs: opts.delta_interval_ms ?? DELTA_INTERVAL_MS,
    prepare: () => {
      // Read at start, so a renewed certificate needs only a restart.
      for (const k of ['ca', 'cert', 'key'] as const) {
        const file = cfg[k];
        if (file) tls[k] = readTlsFile(file, k);
      }
    },
  });
  const tools = createMqttTools({ conn, topics, allow: config.tools.mqtt_publish.allow, cache, now, count: deps.count });
  return { dialog, tools };
}

function readTlsFile(file: string, key: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new Error(`dialogs.mqtt.${key}: cannot read ${file}: ${why}`);
  }
}

/** `mqtt://user:pass@host:1883` → `mqtt://host:1883`: a URL may carry the password. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

function stripSlash(t: string): string {
  return t.endsWith('/') ? t.replace(/\/+$/, '') : t;
}
