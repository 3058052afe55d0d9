import type { Logger } from '../log.ts';

export interface ToolContext {
  /** Aborted on user cancel, turn timeout, tool timeout or shutdown. Tools must stop promptly. */
  signal: AbortSignal;
  /** The session key (`agent:<agent>:<dialog>:<chat>`). */
  session: string;
  /** The id of the inbound prompt, for audit messages (MQTT `<base>/action`). */
  prompt_id?: string;
  log: Logger;
}

/**
 * A tool the model can call. The registry validates `args` against `parameters`
 * (JSON Schema, ajv) before `execute` runs, applies the tool's timeout and caps the
 * returned text. A thrown error becomes an error result that goes back to the model,
 * so `execute` throws plain `Error`s whose message the model can act on.
 */
export interface Tool<A = any> {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  /** Overrides the registry's default timeout. */
  readonly timeout_ms?: number;
  execute(args: A, ctx: ToolContext): Promise<string>;
}

/** What goes back to the model for one call. */
export interface ToolResult {
  content: string;
  is_error: boolean;
}
