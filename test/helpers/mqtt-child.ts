// A child process running the MQTT dialog with the scripted agent, for tests
// that kill it (`kill -9`) and watch what the broker does. Usage:
//   node test/helpers/mqtt-child.ts <broker url> <mqtt5: 0|1> <device id>
// Prints "ready <base topic>" once connected; then waits to be killed.
import { startDialog, until } from './mqtt-harness.ts';

const [url, v5, deviceId] = process.argv.slice(2);
if (!url || !deviceId) {
  process.stderr.write('usage: mqtt-child.ts <broker url> <0|1> <device id>\n');
  process.exit(2);
}
const broker = { kind: 'mosquitto' as const, mqtt5: v5 === '1', port: 0, url, stop: async () => {}, start: async () => {}, close: async () => {} };
const h = await startDialog(broker, { device_id: deviceId });
await until(() => h.dialog.health().ready, 'connected', 10_000);
process.stdout.write(`ready ${h.base}\n`);
setInterval(() => {}, 1 << 30);
