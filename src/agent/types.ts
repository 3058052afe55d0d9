// What dialogs may ask of the agent besides sending it messages.
import type { Inbound, OnMessage } from '../dialogs/types.ts';

export interface AgentStats {
  running: number;
  queued: number;
  turns: number;
  errors: number;
  tokens_in: number;
  tokens_out: number;
  /** Default agent's primary model, `<provider>/<model>`. */
  model: string;
  /** USD spent today (UTC). */
  cost_today_usd: number;
  last_error?: { code: string; message: string; at: number };
}

/**
 * The agent as dialogs see it. `submit` queues a turn (bounded; refusals go to
 * the sink as a `busy` error); the rest are synchronous controls.
 */
export interface AgentControl {
  submit: OnMessage;
  /** `agent:<agent>:<dialog>:<chat>` for an inbound message (agent defaults per dialog). */
  sessionKey(inbound: Pick<Inbound, 'dialog' | 'chat' | 'agent'>): string;
  /** Aborts the running turn of a session and drops its queue. True when something was cancelled. */
  cancel(session: string): boolean;
  /** Cancels, waits for the running turn to stop, then forgets the session's history and summary. */
  reset(session: string): Promise<void>;
  stats(): AgentStats;
}
