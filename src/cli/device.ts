// The device layer around `aeon run`: V8 budget flags, metrics, health server,
// systemd notifications, watchdog and the in-process guard (src/device).
import type { Config } from '../config/types.ts';
import { defineAeonMetrics } from '../device/aeon-metrics.ts';
import { ensureV8Flags, reexec } from '../device/budget.ts';
import { fullGc } from '../device/full-gc.ts';
import { Guard, guardDefaults } from '../device/guard.ts';
import { HealthServer } from '../device/health-server.ts';
import { LoopMonitor } from '../device/loop-monitor.ts';
import { Metrics } from '../device/metrics.ts';
import { processFacts, registerProcessMetrics } from '../device/process-metrics.ts';
import { SdNotify } from '../device/sd-notify.ts';
import { heapBudgetBytes, livenessCheck, Watchdog } from '../device/watchdog.ts';
import type { Logger } from '../log.ts';
import type { Runtime } from '../runtime.ts';
import { VERSION } from './version.ts';

export interface DeviceHandle {
  /** `http://host:port` of the health server, when it runs. */
  url: string | undefined;
  /** Everything configured is started: READY=1, watchdog on. */
  ready(): void;
  /** Shutdown began: STOPPING=1, watchdog and guard off. */
  stopping(): void;
  stop(): Promise<void>;
}

/**
 * Re-executes this process with the board's V8 flags (heap limit, semi-space,
 * --optimize-for-size...) when they are not set yet. Call before opening anything.
 */
export async function applyBudgetFlags(config: Config, log: Logger): Promise<void> {
  const d = ensureV8Flags(config.budget, process.argv, process.execArgv, process.env);
  if (!d.reexec) return;
  log.debug({ flags: d.missing }, 'starting again with the board budget V8 flags');
  await reexec(d);
}

export async function startDevice(rt: Runtime, config: Config): Promise<DeviceHandle> {
  const log = rt.log.child({ mod: 'device' });
  const notify = new SdNotify({ log });
  notify.start();
  const loop = new LoopMonitor();
  loop.start();
  const metrics = new Metrics();
  registerProcessMetrics(metrics, loop);
  const aeon = defineAeonMetrics(metrics, {
    readiness: () => rt.readiness(),
    queue: () => rt.agent.stats(),
    costToday: () => rt.agent.stats().cost_today_usd,
    dbPath: config.storage.sessions_db,
  });
  rt.onTurn = (t) => aeon.observeTurn(t);
  rt.statusExtra = () => {
    const p = processFacts(loop) as unknown as Record<string, unknown>;
    return { ...p, version: VERSION };
  };

  let server: HealthServer | undefined;
  let url: string | undefined;
  if (config.server.enabled) {
    server = new HealthServer({
      host: config.server.host,
      port: config.server.port,
      token: config.server.token,
      log: rt.log.child({ mod: 'health' }),
      metrics,
      loop,
      ready: () => rt.readiness(),
      status: () => rt.status(),
    });
    try {
      await server.start();
      url = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${server.port}`;
    } catch (err) {
      // A taken port must not keep the agent from answering; readiness says why.
      log.error({ err, host: config.server.host, port: config.server.port }, `health server could not listen on ${config.server.host}:${config.server.port}: ${(err as Error).message}`);
      server = undefined;
    }
  }

  const guard = new Guard({ log, ...guardDefaults(config.budget) });
  guard.start();
  // Benchmarks and leak hunts only: with AEON_GC_ON_SIGUSR2=1 (never set by
  // aeon or its unit) SIGUSR2 runs a full GC, so memory read afterwards is
  // what is live. Not --expose-gc: a V8 flag at start changes the flag hash
  // and the binary's code cache is then rejected (docs/build.md).
  if (process.env.AEON_GC_ON_SIGUSR2 === '1') process.on('SIGUSR2', fullGc);
  const watchdog = new Watchdog({
    notify,
    log,
    metrics,
    lagBudgetMs: config.budget.event_loop_lag_ms,
    liveness: livenessCheck({ loop, lagBudgetMs: config.budget.event_loop_lag_ms, heapBudgetBytes: heapBudgetBytes(config.budget.heap_mb) }),
  });

  return {
    url,
    ready() {
      const dialogs = rt.dialogs.map((d) => d.name);
      void notify.ready(`ready: ${dialogs.length ? dialogs.join(', ') : 'no dialogs'}${url ? `; health ${url}` : ''}`);
      watchdog.start();
    },
    stopping() {
      void notify.stopping('stopping');
      watchdog.stop();
    },
    async stop() {
      await guard.stop();
      await server?.stop();
      loop.stop();
      await notify.flush();
    },
  };
}
