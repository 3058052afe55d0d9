// The real peers aeon talks to in the benchmarks: Mosquitto on loopback
// (set_tcp_nodelay true: its default Nagle adds ~40 ms to small messages and
// would hide everything else; docs/mqtt.md), and the telegram-test-api
// emulator behind the test suite's Bot API proxy (long polling with real
// semantics). Both run in the benchmark's process, never in aeon's.
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type TestBroker } from '../../test/helpers/broker.ts';
import { TelegramBench, TOKEN } from '../../test/helpers/telegram-emulator.ts';

export interface Peers {
  broker: TestBroker;
  telegram: TelegramBench | undefined;
  /** The `dialogs` section enabling MQTT (and Telegram when started). */
  dialogs(mqttExtra?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startPeers(o: { telegram: boolean }): Promise<Peers> {
  const broker = await startBroker({ tcpNoDelay: true });
  if (broker.kind !== 'mosquitto') process.stderr.write('note: Mosquitto is not installed; the benchmark uses the in-process aedes broker (install mosquitto for comparable figures)\n');
  const telegram = o.telegram ? await TelegramBench.start() : undefined;
  return {
    broker,
    telegram,
    dialogs: (mqttExtra = {}) => ({
      mqtt: { enabled: true, url: broker.url, protocol_version: broker.mqtt5 ? 5 : 4, ...mqttExtra },
      ...(telegram ? { telegram: { enabled: true, bot_token: TOKEN, api_root: telegram.apiRoot, allowed_users: [111] } } : {}),
    }),
    close: async () => {
      await telegram?.stop();
      await broker.close();
    },
  };
}

/** An mqtt.js client on the broker, Nagle off (as the broker). */
export function connectClient(url: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  const c = mqtt.connect(url, { protocolVersion, clientId: `bench-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0 });
  return new Promise((resolve, reject) => {
    c.once('connect', () => {
      (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      resolve(c);
    });
    c.once('error', reject);
  });
}
