// Builds a real Telegram dialog on a bench: real config loader, real SQLite
// store (a file in the bench directory, so a second dialog can reopen it), the
// scripted agent, and counters/logs to assert on.
import type { Config } from '../../src/config/types.ts';
import type { DialogDeps } from '../../src/dialogs/deps.ts';
import { createTelegramDialog, type TelegramOptions } from '../../src/dialogs/telegram/index.ts';
import type { Dialog } from '../../src/dialogs/types.ts';
import type { Inbound } from '../../src/dialogs/types.ts';
import type { Logger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';
import type { Tool } from '../../src/tools/types.ts';
import { ScriptedAgent, type AgentOptions, type Script } from './telegram-agent.ts';
import type { TelegramBench } from './telegram-emulator.ts';

export interface Running {
  config: Config;
  store: Store;
  agent: ScriptedAgent;
  dialog: Dialog;
  tools: Tool[];
  counts: Map<string, number>;
  count(name: string): number;
  /** Stops the dialog and closes the store (a clean shutdown). */
  stop(): Promise<void>;
}

export interface SetupOptions {
  telegram?: Record<string, unknown>;
  extra?: Parameters<TelegramBench['config']>[1];
  script?: (inbound: Inbound) => Script;
  agent?: AgentOptions;
  dialog?: TelegramOptions;
  log?: Logger;
  status?: () => Record<string, unknown>;
}

export async function startDialog(bench: TelegramBench, o: SetupOptions = {}): Promise<Running> {
  const config = bench.config(o.telegram, o.extra);
  const store = Store.open({ path: config.storage.sessions_db });
  const agent = new ScriptedAgent(store, o.script, o.agent);
  const counts = new Map<string, number>();
  const deps: DialogDeps = {
    config,
    log: o.log ?? bench.logger(),
    store,
    agent,
    secrets: bench.secrets,
    status: o.status ?? (() => ({ uptime_s: 3 * 3600 + 12 * 60, rss_bytes: 61 << 20, heap_used_bytes: 20 << 20, heap_limit_bytes: 128 << 20, cpu_temp_c: 48.5, load: [0.12, 0.2, 0.3], model: 'test/scripted' })),
    count: (name, labels, n = 1) => {
      const key = labels ? `${name}${JSON.stringify(labels)}` : name;
      counts.set(key, (counts.get(key) ?? 0) + n);
    },
  };
  const parts = createTelegramDialog(deps, { poll: { graceMs: 1500, backoffMs: 200, backoffCapMs: 2000 }, ...o.dialog });
  await parts.dialog.start(agent.submit);
  let stopped = false;
  return {
    config,
    store,
    agent,
    dialog: parts.dialog,
    tools: parts.tools ?? [],
    counts,
    count: (name) => [...counts].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((n, [, v]) => n + v, 0),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await parts.dialog.stop();
      store.close();
    },
  };
}
