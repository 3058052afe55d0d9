// The contract between the agent and every LLM wire protocol.
// Providers are modelled by wire protocol (openai-completions, anthropic-messages);
// models are plain data (ModelConfig).

/** A tool call the model asked for. `arguments` is the raw JSON text, reassembled exactly. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** One message of the conversation as sent to a provider (system prompt travels separately). */
export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; name: string; content: string; is_error?: boolean };

/** A tool as offered to the model: JSON Schema for its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface LlmRequest {
  /**
   * The model the caller had in mind, for logs. Each provider sends its own
   * `ModelConfig.model`, so one request can travel down a fallback chain.
   */
  model: string;
  system: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  max_tokens?: number;
  temperature?: number;
}

/** Why the model stopped: normalised across wire protocols. */
export type StopReason = 'end' | 'tool_use' | 'max_tokens' | 'content_filter' | 'other';

export type LlmErrorKind = 'auth' | 'rate_limit' | 'timeout' | 'server' | 'bad_request' | 'bad_response' | 'network' | 'aborted' | 'budget';

/**
 * The one stream-event union. A provider's stream yields any number of `text`,
 * `tool_call` and `usage` events, then exactly one `done` or one `error`, and ends.
 * `tool_call` events come whole (arguments fully reassembled), in the order the model made them.
 * A `done` with tool calls before it has stop `tool_use`, whatever the wire said
 * (some servers answer `stop` after a tool call).
 */
export type StreamEvent =
  | { type: 'text'; delta: string }
  | { type: 'tool_call'; call: ToolCall }
  | UsageEvent
  | { type: 'done'; stop: StopReason }
  | { type: 'error'; error: LlmError };

/**
 * Token counts for one request: at most one per stream, just before `done`, with
 * the final totals (never deltas, so a consumer stores it as is). `model` is the
 * `<provider>/<model>` id that produced it (behind a router: the one that
 * answered) and `cost_usd` its price from the built-in table or config.
 */
export interface UsageEvent {
  type: 'usage';
  input: number;
  output: number;
  model?: string;
  cost_usd?: number;
}

/**
 * Failures are data. `retryable` is true for 429, 5xx, network and timeout errors.
 * Kinds: `auth` 401/403 · `rate_limit` 429 · `timeout` connect, first byte or idle
 * bound hit · `server` 5xx or a provider error mid-stream · `bad_request` other 4xx
 * (the model or request is wrong; the message says how) · `bad_response` the stream
 * broke the protocol or a size bound · `network` refused, reset, DNS, stream cut
 * short · `aborted` the caller's signal · `budget` out of credits or quota.
 */
export interface LlmError {
  kind: LlmErrorKind;
  retryable: boolean;
  /** One plain sentence for logs and users; never contains a secret. */
  message: string;
  status?: number;
  /** From a Retry-After header, when the server sent one. */
  retry_after_ms?: number;
}

/**
 * A provider streams one request. It never throws after being called: every
 * failure (HTTP status, network, timeout, malformed stream, abort) arrives as one
 * final `error` event.
 */
export interface LlmProvider {
  /** `<provider>/<model>`, for logs and usage rows. */
  readonly id: string;
  readonly model: ModelConfig;
  stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<StreamEvent>;
}

export type WireProtocol = 'openai-completions' | 'anthropic-messages';

export type ProviderKind = 'openai' | 'openrouter' | 'ollama' | 'lmstudio' | 'openai-compatible' | 'anthropic';

/** Transport bounds; all in milliseconds or bytes. */
export interface TransportLimits {
  connect_timeout_ms: number;
  first_byte_timeout_ms: number;
  idle_timeout_ms: number;
  max_response_bytes: number;
  /** Largest single SSE event accepted (a fixed buffer, from the board profile). */
  max_event_bytes: number;
}

/** A model as plain data. */
export interface ModelConfig {
  provider: ProviderKind;
  model: string;
  base_url: string;
  api_key?: string;
  /** Extra request headers (OpenRouter's HTTP-Referer / X-Title, for example). */
  headers?: Record<string, string>;
  /** USD per million tokens. */
  price?: { input: number; output: number };
  limits: TransportLimits;
}
