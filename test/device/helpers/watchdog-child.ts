// Runs the real SdNotify + Watchdog against NOTIFY_SOCKET / WATCHDOG_USEC from
// the environment: READY=1, pings for a while, then blocks its own event loop
// with a busy wait, then pings again. Prints the block window as JSON lines.
import { LoopMonitor } from '../../../src/device/loop-monitor.ts';
import { Metrics } from '../../../src/device/metrics.ts';
import { SdNotify } from '../../../src/device/sd-notify.ts';
import { livenessCheck, Watchdog } from '../../../src/device/watchdog.ts';
import { silentLogger } from '../../../src/log.ts';

const [beforeMs, blockMs, afterMs, lagBudgetMs] = process.argv.slice(2).map(Number) as [number, number, number, number];
const log = silentLogger();
const notify = new SdNotify({ log });
notify.start();
const loop = new LoopMonitor({ resolutionMs: 10, windowMs: 1000 });
loop.start();
const metrics = new Metrics();
const wd = new Watchdog({ notify, log, metrics, lagBudgetMs, liveness: livenessCheck({ loop, lagBudgetMs, heapBudgetBytes: 1 << 30 }) });
await notify.ready('child up');
wd.start();
const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
emit({ interval_ms: wd.intervalMs, env_cleared: process.env.NOTIFY_SOCKET === undefined });
setTimeout(() => {
  emit({ block_start: Date.now() });
  const t = Date.now();
  while (Date.now() - t < blockMs) {
    // a runaway computation
  }
  emit({ block_end: Date.now() });
  setTimeout(async () => {
    wd.stop();
    await notify.stopping('bye');
    emit({ pings: wd.pings, skipped: wd.skipped, snapshot: metrics.snapshot() });
    loop.stop();
  }, afterMs);
}, beforeMs);
