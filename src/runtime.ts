// Wiring: builds every part from the config, starts them in order, stops them
// in reverse. Each optional part is imported only when enabled (start-up decides
// idle memory on a 512 MB board) and started inside try/catch, so one broken
// part is reported, not fatal.
import fs from 'node:fs';
import os from 'node:os';
import { Agent } from './agent/agent.ts';
import type { LlmChain, TurnTelemetry } from './agent/turn.ts';
import type { Config } from './config/types.ts';
import type { DialogDeps, DialogParts } from './dialogs/deps.ts';
import type { Dialog, DialogHealth } from './dialogs/types.ts';
import { createLlmChain } from './agent/llm-chain.ts';
import type { Logger } from './log.ts';
import { Store } from './store/store.ts';
import { builtinTools } from './tools/index.ts';
import { ToolRegistry } from './tools/registry.ts';
import type { Secrets } from './util/secrets.ts';

export interface RuntimeOptions {
  config: Config;
  secrets: Secrets;
  log: Logger;
  /** Which dialogs to start; default: every enabled one except cli. */
  dialogs?: string[];
  /** Start the health server (when config.server.enabled). Default true. */
  server?: boolean;
  /** Replace the LLM chain (tests replay scripted streams). */
  llm?: (agentId: string) => LlmChain;
  now?: () => number;
}

type Counter = (name: string, labels?: Record<string, string>, n?: number) => void;

export class Runtime {
  readonly opts: RuntimeOptions;
  readonly log: Logger;
  store!: Store;
  agent!: Agent;
  tools!: ToolRegistry;
  readonly dialogs: Dialog[] = [];
  readonly startedAt = Date.now();
  readonly #stops: Array<{ name: string; stop: () => unknown }> = [];
  readonly #counters = new Map<string, number>();
  readonly #chains = new Map<string, LlmChain>();
  #stopping: Promise<void> | undefined;
  /** Hooks the device layer sets (metrics, ready callbacks). */
  onTurn: ((t: TurnTelemetry) => void) | undefined;

  constructor(opts: RuntimeOptions) {
    this.opts = opts;
    this.log = opts.log;
  }

  get config(): Config {
    return this.opts.config;
  }

  /** Opens the store, builds tools and agent, starts dialogs. Throws only for a store that cannot open. */
  async start(): Promise<void> {
    const { config, log } = this.opts;
    this.store = Store.open({ path: config.storage.sessions_db, cache_kb: config.budget.sqlite_cache_kb });
    this.#stops.push({ name: 'store', stop: () => this.store.close() });
    this.#prune();

    this.tools = new ToolRegistry(builtinTools(config, { secrets: this.opts.secrets, log: log.child({ mod: 'tools' }) }), {
      default_timeout_ms: config.tools.timeout_s * 1000,
      max_output_bytes: config.budget.tool_output_bytes,
      log,
      secrets: this.opts.secrets,
    });
    this.agent = new Agent({
      config,
      store: this.store,
      tools: this.tools,
      llm: (id) => this.#chain(id),
      log: log.child({ mod: 'agent' }),
      now: this.opts.now,
      observe: (t) => {
        this.count('turns_total', { agent: t.agent, result: t.ok ? 'ok' : (t.error_code ?? 'error') });
        this.onTurn?.(t);
      },
    });

    const wanted = this.opts.dialogs ?? (['telegram', 'mqtt'] as const).filter((d) => config.dialogs[d].enabled);
    const parts: DialogParts[] = [];
    for (const name of wanted) {
      try {
        parts.push(await this.#createDialog(name));
      } catch (err) {
        log.error({ err, dialog: name }, `the ${name} dialog could not be created; aeon goes on without it`);
      }
    }
    // Tools first, so a dialog's first message can already use every tool.
    for (const p of parts) for (const t of p.tools ?? []) this.tools.register(t);
    this.#checkAgentTools();
    for (const p of parts) {
      this.dialogs.push(p.dialog);
      this.#stops.push({ name: p.dialog.name, stop: () => p.dialog.stop() });
      try {
        await p.dialog.start(this.agent.submit);
      } catch (err) {
        log.error({ err, dialog: p.dialog.name }, `the ${p.dialog.name} dialog failed to start; it reports not ready`);
      }
    }
  }

  /**
   * Stops the agent first (new messages get "shutting down"; running turns are
   * aborted, persist what was said and send their final while the dialogs are
   * still connected to deliver it), then the rest in reverse order of start.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await this.agent?.stop();
      } catch (err) {
        this.log.warn({ err }, 'error while stopping the agent');
      }
      for (const part of [...this.#stops].reverse()) {
        try {
          await part.stop();
        } catch (err) {
          this.log.warn({ err, part: part.name }, 'error while stopping');
        }
      }
    })();
    return this.#stopping;
  }

  /** Readiness of every part, by name. */
  readiness(): Record<string, DialogHealth> {
    const out: Record<string, DialogHealth> = {
      store: this.store?.isOpen ? { ready: true, state: 'open' } : { ready: false, state: 'closed', detail: 'the database is not open' },
    };
    for (const d of this.dialogs) {
      try {
        out[d.name] = d.health();
      } catch (err) {
        out[d.name] = { ready: false, state: 'error', detail: (err as Error).message };
      }
    }
    const last = this.agent?.stats().last_error;
    if (last && last.code.startsWith('llm_')) out.llm = { ready: true, state: 'degraded', detail: `last LLM error: ${last.message}` };
    return out;
  }

  count: Counter = (name, labels, n = 1) => {
    const key = labels ? `${name}${JSON.stringify(labels)}` : name;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + n);
  };

  counters(): Record<string, number> {
    return Object.fromEntries(this.#counters);
  }

  /**
   * Device facts for dialogs' status commands and telemetry (Home Assistant's
   * diagnostic sensors read these top-level names). Cheap: no subprocess.
   */
  status(): Record<string, unknown> {
    const mem = process.memoryUsage();
    return {
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      board: this.config.device.board,
      cpu_temp_c: cpuTemperature(),
      load: os.loadavg().map((l) => Math.round(l * 100) / 100),
      disk_free_bytes: diskFree(this.config.device.data_dir),
      ...this.statusExtra?.(),
      agent: this.agent?.stats(),
      counters: this.counters(),
    };
  }

  /** The device layer adds facts (temperature, lag, disk) here. */
  statusExtra: (() => Record<string, unknown>) | undefined;

  async #createDialog(name: string): Promise<DialogParts> {
    const deps: DialogDeps = {
      config: this.config,
      log: this.log.child({ mod: name }),
      store: this.store,
      agent: this.agent,
      secrets: this.opts.secrets,
      status: () => this.status(),
      count: this.count,
    };
    switch (name) {
      case 'telegram':
        return (await import('./dialogs/telegram/index.ts')).createTelegramDialog(deps);
      case 'mqtt':
        return (await import('./dialogs/mqtt/index.ts')).createMqttDialog(deps);
      default:
        throw new Error(`unknown dialog "${name}"`);
    }
  }

  #chain(agentId: string): LlmChain {
    let c = this.#chains.get(agentId);
    if (!c) {
      c = this.opts.llm?.(agentId) ?? createLlmChain(this.config.agents[agentId]!, this.config.budget, this.log.child({ mod: 'llm', agent: agentId }));
      this.#chains.set(agentId, c);
    }
    return c;
  }

  #checkAgentTools(): void {
    for (const [id, a] of Object.entries(this.config.agents)) {
      const missing = a.tools.filter((t) => !this.tools.has(t));
      if (missing.length) {
        this.log.warn({ agent: id, missing }, `agent "${id}" lists tools that are not available (their dialog is disabled): ${missing.join(', ')}`);
        a.tools = a.tools.filter((t) => this.tools.has(t));
      }
    }
  }

  #prune(): void {
    const days = this.config.storage.retention_days;
    if (days <= 0) return;
    const run = () => {
      try {
        const n = this.store.prune(days);
        if (n) this.log.info({ deleted: n, days }, 'deleted messages past retention');
      } catch (err) {
        this.log.warn({ err }, 'retention pruning failed');
      }
    };
    run();
    const timer = setInterval(run, 6 * 3600_000);
    timer.unref();
    this.#stops.push({ name: 'retention', stop: () => clearInterval(timer) });
  }
}

/** SoC temperature in °C from the kernel's first thermal zone (Raspberry Pi: the CPU), or undefined. */
function cpuTemperature(): number | undefined {
  try {
    const milli = Number(fs.readFileSync('/sys/class/thermal/thermal_zone0/temp', 'utf8'));
    return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : undefined;
  } catch {
    return undefined;
  }
}

function diskFree(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
