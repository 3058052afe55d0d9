// The agent's hands on the home: mqtt_publish (allow-listed topics only, every
// publish mirrored to `<base>/action`) and mqtt_read (the last value seen on a
// followed topic). They share the dialog's one connection.
import type { Tool, ToolContext } from '../../tools/types.ts';
import type { MqttConnection, QoS } from './connection.ts';
import type { ReadCache } from './read-cache.ts';
import { mqttPublishArgs, mqttReadArgs } from './schema.ts';
import { filterProblem, hasWildcard, isUnder, publishTopicProblem, topicMatches, type Topics } from './topics.ts';
import type { ActionPayload } from './types.ts';

export interface MqttToolsEnv {
  conn: MqttConnection;
  topics: Topics;
  allow: string[];
  cache: ReadCache;
  now: () => number;
  count: (name: string, labels?: Record<string, string>, n?: number) => void;
}

// Largest payload the agent may publish: a light command is tens of bytes.
const MAX_PUBLISH_BYTES = 256 * 1024;
const MAX_READ_MATCHES = 50;

export interface PublishArgs {
  topic: string;
  payload: unknown;
  qos?: QoS;
  retain?: boolean;
}

export interface ReadArgs {
  topic: string;
}

/**
 * May the agent publish to `topic`? Returns why not, or undefined.
 * Topics under aeon's own base topic need an allow entry naming them exactly:
 * a broad pattern such as `#` must not let the model prompt itself
 * (`<base>/prompt`), fake its replies or overwrite its status.
 */
export function publishRefusal(topic: string, allow: readonly string[], base: string): string | undefined {
  const bad = publishTopicProblem(topic);
  if (bad) return `Cannot publish: ${bad}.`;
  if (isUnder(base, topic)) {
    if (allow.includes(topic)) return undefined;
    return `Cannot publish to "${topic}": it is aeon's own topic (under ${base}/), which only an entry naming it exactly in tools.mqtt_publish.allow permits.`;
  }
  if (allow.some((p) => topicMatches(p, topic))) return undefined;
  if (!allow.length) return `Cannot publish to "${topic}": tools.mqtt_publish.allow is empty, so no topic is allowed.`;
  return `Cannot publish to "${topic}": it matches none of the allowed topic patterns (tools.mqtt_publish.allow: ${allow.join(', ')}).`;
}

export function createMqttTools(env: MqttToolsEnv): Tool[] {
  return [publishTool(env), readTool(env)];
}

function publishTool(env: MqttToolsEnv): Tool<PublishArgs> {
  const allowed = env.allow.length ? env.allow.join(', ') : '(none configured)';
  return {
    name: 'mqtt_publish',
    description:
      'Publish one MQTT message to act on the home. Zigbee2MQTT: topic "zigbee2mqtt/<device>/set", payload {"state": "ON"}. ' +
      `Tasmota: topic "cmnd/<device>/POWER", payload "ON". Allowed topic patterns: ${allowed}.`,
    parameters: mqttPublishArgs,
    async execute(args, ctx) {
      const refusal = publishRefusal(args.topic, env.allow, env.topics.base);
      if (refusal) {
        env.count('mqtt_tool_refused_total');
        throw new Error(refusal);
      }
      const text = typeof args.payload === 'string' ? args.payload : JSON.stringify(args.payload);
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_PUBLISH_BYTES) throw new Error(`The payload is ${bytes} bytes; mqtt_publish sends at most ${MAX_PUBLISH_BYTES}.`);
      if (!env.conn.connected) throw new Error(`Not connected to the MQTT broker (${env.conn.detail ?? env.conn.state}); nothing was published.`);
      const qos = args.qos ?? 1;
      const retain = args.retain ?? false;
      const ok = await abortable(env.conn.publish({ topic: args.topic, payload: text, qos, retain }), ctx);
      if (!ok) throw new Error(`The broker did not accept the message for "${args.topic}" (connection lost or refused); it may not have been delivered.`);
      env.count('mqtt_tool_publishes_total');
      const action: ActionPayload = { ...(ctx.prompt_id !== undefined ? { id: ctx.prompt_id } : {}), session: ctx.session, topic: args.topic, payload: args.payload, qos, retain };
      void env.conn.publish({ topic: env.topics.action, payload: JSON.stringify(action), qos: 1 });
      ctx.log.info({ topic: args.topic, bytes, qos, retain }, 'mqtt_publish');
      return `Published ${bytes} bytes to ${args.topic} (QoS ${qos}${retain ? ', retained' : ''}).`;
    },
  };
}

function readTool(env: MqttToolsEnv): Tool<ReadArgs> {
  const followed = env.cache.filters.length ? env.cache.filters.join(', ') : '(none configured)';
  return {
    name: 'mqtt_read',
    description:
      'Read the last message seen on an MQTT topic (a sensor reading, a light\'s state), e.g. "zigbee2mqtt/hall". ' +
      `A filter with + or # lists the matching topics. Topics followed: ${followed}.`,
    parameters: mqttReadArgs,
    async execute(args) {
      const cache = env.cache;
      if (!cache.filters.length) throw new Error('mqtt_read follows no topics: add topic patterns to tools.mqtt_read.topics.');
      const now = env.now();
      if (hasWildcard(args.topic)) {
        const bad = filterProblem(args.topic);
        if (bad) throw new Error(`Invalid filter: ${bad}.`);
        const found = cache.find(args.topic, MAX_READ_MATCHES);
        if (!found.length) throw new Error(`No message has been seen on a topic matching "${args.topic}" (topics followed: ${followed}).`);
        return JSON.stringify(found.map(([topic, m]) => view(topic, m, now)));
      }
      if (!cache.covers(args.topic)) {
        throw new Error(`"${args.topic}" is not a topic mqtt_read follows (tools.mqtt_read.topics: ${followed}).`);
      }
      const m = cache.get(args.topic);
      if (!m) throw new Error(`No message has been seen on "${args.topic}" yet: nothing is retained there and nothing was published since aeon subscribed.`);
      return JSON.stringify(view(args.topic, m, now));
    },
  };
}

function view(topic: string, m: { payload: string; truncated: boolean; bytes: number; retained: boolean; at: number }, now: number): Record<string, unknown> {
  let payload: unknown = m.payload;
  if (!m.truncated) {
    try {
      payload = JSON.parse(m.payload);
    } catch {
      // plain text stays text
    }
  }
  return {
    topic,
    payload,
    age_s: Math.max(0, Math.round((now - m.at) / 1000)),
    retained: m.retained,
    ...(m.truncated ? { truncated: true, bytes: m.bytes } : {}),
  };
}

function abortable<T>(p: Promise<T>, ctx: ToolContext): Promise<T> {
  if (!ctx.signal) return p;
  if (ctx.signal.aborted) return Promise.reject(new Error('Cancelled before publishing finished.'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error('Cancelled while waiting for the broker to acknowledge; the message may still arrive.'));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        ctx.signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
