// A child process running the MQTT dialog with the scripted agent, for tests
// that kill it (`kill -9`) and for the benchmark, which reads its memory.
//   node [--expose-gc] test/helpers/mqtt-child.ts <broker url> <mqtt5: 0|1> <device id>
// Prints "ready <base topic>" once connected, then waits to be killed.
// AEON_MQTT_CHILD_BENCH=1: the agent keeps no history (so memory measures the
// dialog, not a growing database), `stream` on when AEON_MQTT_STREAM=1, and
// SIGUSR2 prints "rss <bytes> heap <bytes> heap_total <bytes>" after a full GC.
import { MqttTestAgent } from './mqtt-agent.ts';
import { startDialog, until } from './mqtt-harness.ts';

const [url, v5, deviceId] = process.argv.slice(2);
if (!url || !deviceId) {
  process.stderr.write('usage: mqtt-child.ts <broker url> <0|1> <device id>\n');
  process.exit(2);
}
const bench = process.env.AEON_MQTT_CHILD_BENCH === '1';
const broker = { kind: 'mosquitto' as const, mqtt5: v5 === '1', port: 0, url, stop: async () => {}, start: async () => {}, close: async () => {} };
const h = await startDialog(broker, {
  device_id: deviceId,
  ...(bench ? { agent: new MqttTestAgent({ maxPending: 1024, record: false }), mqtt: { stream: process.env.AEON_MQTT_STREAM === '1', max_payload_bytes: 65536 } } : {}),
});
await until(() => h.dialog.health().ready, 'connected', 10_000);
if (bench) {
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    process.stdout.write(`rss ${m.rss} heap ${m.heapUsed} heap_total ${m.heapTotal}\n`);
  });
}
process.stdout.write(`ready ${h.base}\n`);
setInterval(() => {}, 1 << 30);
