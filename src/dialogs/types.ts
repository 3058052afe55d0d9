// The contract between a dialog (Telegram, MQTT, CLI, HTTP) and the agent.

/** A message from a person or a system, normalised by its dialog. */
export interface Inbound {
  /** Dialog name: `telegram`, `mqtt`, `cli`, `http`. */
  dialog: string;
  /** Conversation id within the dialog (chat id, topic, session name). With agent+dialog it makes the session key. */
  chat: string;
  text: string;
  /** Who sent it (Telegram user id, MQTT client); used for per-user limits and audit. */
  user?: string;
  /** Correlation id chosen by the sender (MQTT `id`), echoed in replies. */
  id?: string;
  /** Which agent answers; defaults to the dialog's configured agent. */
  agent?: string;
  /** Stored with the user message (for example the Telegram update_id). */
  meta?: Record<string, unknown>;
  /**
   * Called, synchronously, right after the user message is persisted (inside the
   * same step), so a dialog can advance its own cursor (Telegram offset) only once
   * the message is safe on disk.
   */
  onPersisted?: () => void;
}

export type TurnPhase = 'thinking' | 'tool' | 'streaming';

export interface TurnError {
  /** Stable machine code: `busy`, `budget`, `llm_auth`, `llm_rate_limit`, `llm_timeout`, `llm_unavailable`, `cancelled`, `internal`, ... */
  code: string;
  /** One plain sentence for the person; never a stack trace or a secret. */
  message: string;
}

export interface TurnResult {
  /** The whole answer as sent to the person (may be partial when cancelled or failed mid-stream). */
  text: string;
  session: string;
  error?: TurnError;
  usage?: { input: number; output: number; cost_usd?: number };
}

/**
 * Where a turn's reply goes. Each dialog decides how to render streaming
 * (Telegram: throttled edits; MQTT: delta topic; CLI: stdout). `final` is called
 * exactly once per inbound message, also when it was refused (busy, budget) or failed.
 * Sink methods must not throw; the agent does not wait for them.
 */
export interface ReplySink {
  phase?(phase: TurnPhase, detail?: string): void;
  delta(text: string): void;
  final(result: TurnResult): void;
}

/** Hands a message to the agent. Never throws; refusals go to `sink.final`. */
export type OnMessage = (inbound: Inbound, sink: ReplySink) => void;

export interface DialogHealth {
  /** True when the dialog is connected and able to take messages. */
  ready: boolean;
  /** Short state: `connected`, `connecting`, `conflict`, `stalled`, `stopped`... */
  state: string;
  /** Why it is not ready, in one sentence. */
  detail?: string;
}

/**
 * A way in for messages. The constructor only assigns fields; `start` connects
 * and may resolve before the peer is reachable (it keeps retrying and reports
 * through `health`). `stop` stops taking messages and flushes what it can.
 */
export interface Dialog {
  readonly name: string;
  start(onMessage: OnMessage): Promise<void>;
  stop(): Promise<void>;
  health(): DialogHealth;
}
