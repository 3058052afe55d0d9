// What the runtime hands every dialog. Dialog modules export a factory
// `create<Name>Dialog(deps): DialogParts` and import nothing global.
import type { AgentControl } from '../agent/types.ts';
import type { Config } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { Tool } from '../tools/types.ts';
import type { Secrets } from '../util/secrets.ts';
import type { Dialog } from './types.ts';

export interface DialogDeps {
  config: Config;
  /** Child logger for the dialog (`{mod: "<name>"}`). */
  log: Logger;
  store: Store;
  agent: AgentControl;
  secrets: Secrets;
  /**
   * Device facts for status commands and telemetry: uptime_s, rss_bytes,
   * heap_used_bytes, heap_limit_bytes, event_loop_lag_ms {p50, p99}, cpu_temp_c,
   * load [1,5,15], disk_free_bytes, counters, model... Cheap to call.
   */
  status(): Record<string, unknown>;
  /** Counts an event for /metrics (name without prefix, e.g. `telegram_updates_total`). */
  count(name: string, labels?: Record<string, string>, n?: number): void;
}

export interface DialogParts {
  dialog: Dialog;
  /** Tools this dialog offers to agents (mqtt_publish, message_send...). */
  tools?: Tool[];
}
