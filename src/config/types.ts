// The resolved configuration, as the rest of aeon sees it: validated, defaults
// filled in, ${ENV} substituted, paths absolute, board budget merged.
import type { ProviderKind } from '../llm/types.ts';
import type { LogLevel } from '../log.ts';

export interface ModelRef {
  provider?: ProviderKind;
  model: string;
  base_url?: string;
  api_key?: string;
  headers?: Record<string, string>;
  price?: { input: number; output: number };
}

export interface AgentConfig extends ModelRef {
  provider: ProviderKind;
  max_tokens: number;
  temperature?: number;
  system_prompt?: string;
  /** Absolute path. */
  system_prompt_file?: string;
  fallbacks: ModelRef[];
  tools: string[];
  max_tool_iterations: number;
  context_tokens: number;
  turn_timeout_s: number;
  retries: number;
  timeouts: { connect_s: number; first_byte_s: number; idle_s: number; max_response_bytes: number };
}

export interface BoardBudget {
  heap_mb: number;
  semi_space_mb: number;
  v8_flags: string[];
  max_concurrent_turns: number;
  queue_per_session: number;
  queue_total: number;
  history_messages: number;
  max_message_bytes: number;
  tool_output_bytes: number;
  sse_buffer_bytes: number;
  sqlite_cache_kb: number;
  event_loop_lag_ms: number;
  memory_max_mb: number;
}

export interface Board {
  name: string;
  description: string;
  arch: 'arm64' | 'x64';
  ram_mb: number;
  budget: BoardBudget;
}

export interface TelegramConfig {
  enabled: boolean;
  bot_token?: string;
  allowed_users: number[];
  allowed_chats: number[];
  api_root: string;
  agent?: string;
  group_mode: 'mention' | 'all';
  poll_timeout_s: number;
  stream: boolean;
  rate_limit_per_minute: number;
  max_file_bytes: number;
}

export interface MqttConfig {
  enabled: boolean;
  url: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  reject_unauthorized: boolean;
  client_id?: string;
  protocol_version: 4 | 5;
  base_topic?: string;
  agent?: string;
  discovery: boolean;
  discovery_prefix: string;
  tele_period_s: number;
  max_payload_bytes: number;
  qos: 0 | 1 | 2;
  stream: boolean;
  offline_queue: number;
}

export interface Config {
  /** Absolute path of the file this came from (or `<embedded>`). */
  source: string;
  device: { id: string; name: string; board: string; data_dir: string };
  log: { level: LogLevel };
  server: { enabled: boolean; host: string; port: number; token?: string };
  agents: Record<string, AgentConfig>;
  dialogs: {
    cli: { enabled: boolean; agent?: string };
    telegram: TelegramConfig;
    mqtt: MqttConfig;
  };
  storage: {
    /** Absolute path. */
    sessions_db: string;
    max_history_messages: number;
    retention_days: number;
    compaction: { enabled: boolean; threshold: number; keep_recent: number; mode: 'mark' | 'delete' };
  };
  tools: {
    /** Absolute path. */
    workspace: string;
    timeout_s: number;
    file: { max_bytes: number };
    exec: { allow: string[]; full_trust: boolean; timeout_s: number };
    http_fetch: { allow_private: boolean; max_bytes: number; timeout_s: number };
    mqtt_publish: { allow: string[] };
    mqtt_read: { topics: string[]; max_entries: number };
    message_send: { allow_chats?: number[] };
  };
  budget: BoardBudget & { daily_usd?: number; per_user_daily_usd?: number };
  /** The board profile the budget came from. */
  board: Board;
}
