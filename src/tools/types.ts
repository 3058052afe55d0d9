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
 * (JSON Schema, ajv; defaults are filled in) before `execute` runs, applies the
 * tool's timeout and caps the returned text. A thrown error becomes an error result
 * that goes back to the model, so `execute` throws plain `Error`s whose message the
 * model can act on. When the timeout or the caller's abort fires, the call settles
 * at once whether or not `execute` has returned; `execute` should still stop
 * promptly on `ctx.signal` (kill its processes, close its sockets).
 * `name`: 1 to 64 of `A-Za-z0-9_-` (what the LLM APIs accept).
 */
export interface Tool<A = any> {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  /** Overrides the registry's default timeout, in ms. A tool with its own inner timeout sets this a little longer, so its own, more helpful message wins. */
  readonly timeout_ms?: number;
  execute(args: A, ctx: ToolContext): Promise<string>;
}

/** What goes back to the model for one call. */
export interface ToolResult {
  content: string;
  is_error: boolean;
}
