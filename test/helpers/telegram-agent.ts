// An AgentControl that behaves like the real agent as a dialog sees it: turns
// of one session run in order; a turn first persists the user message to a
// real Store (calling `onPersisted` inside that write), then shows "thinking",
// streams a scripted answer through the sink, stores the answer and usage, and
// ends with exactly one `final`. cancel/reset/stats work. `crash()` makes it
// stop dead, as a killed process would (no final, nothing more stored).
import type { AgentControl, AgentStats } from '../../src/agent/types.ts';
import type { Inbound, ReplySink, TurnError } from '../../src/dialogs/types.ts';
import type { Store } from '../../src/store/store.ts';

export interface Script {
  /** Streamed pieces; default: `text` in one piece. */
  chunks?: string[];
  text?: string;
  /** Pause between pieces. */
  gapMs?: number;
  /** "Thinking" time before the first piece. */
  thinkMs?: number;
  /** Ends with this error after the pieces. */
  error?: TurnError;
  /** Wait for cancel after the pieces (a long answer the person stops). */
  hold?: boolean;
  /** Persist the message, but "crash" before onPersisted and before answering. */
  crashAfterPersist?: boolean;
}

export interface AgentOptions {
  /** Delay before a turn persists its message (a queue or a slow disk). */
  persistDelayMs?: number;
  maxQueued?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ScriptedAgent implements AgentControl {
  /** Inbound messages whose turn persisted them, in order. */
  readonly turns: Inbound[] = [];
  /** Every submit, accepted or not. */
  readonly submitted: Inbound[] = [];
  readonly resets: string[] = [];
  script: (inbound: Inbound) => Script;
  readonly #store: Store;
  readonly #o: AgentOptions;
  readonly #lanes = new Map<string, Promise<void>>();
  readonly #running = new Map<string, AbortController>();
  readonly #queued = new Map<string, { drop: () => void }[]>();
  #dead = false;
  #stats = { turns: 0, errors: 0, tokens_in: 0, tokens_out: 0 };

  constructor(store: Store, script: (inbound: Inbound) => Script = () => ({ text: 'ok' }), opts: AgentOptions = {}) {
    this.#store = store;
    this.script = script;
    this.#o = opts;
  }

  sessionKey(inbound: Pick<Inbound, 'dialog' | 'chat' | 'agent'>): string {
    return `agent:${inbound.agent ?? 'main'}:${inbound.dialog}:${inbound.chat}`;
  }

  submit = (inbound: Inbound, sink: ReplySink): void => {
    this.submitted.push(inbound);
    if (this.#dead) return;
    const session = this.sessionKey(inbound);
    const queue = this.#queued.get(session) ?? [];
    if (queue.length >= (this.#o.maxQueued ?? 8)) {
      sink.final({ text: '', session, error: { code: 'busy', message: 'I am busy; try again in a moment.' } });
      return;
    }
    let dropped = false;
    const entry = {
      drop: () => {
        dropped = true;
        sink.final({ text: '', session, error: { code: 'cancelled', message: 'Cancelled.' } });
      },
    };
    queue.push(entry);
    this.#queued.set(session, queue);
    const prev = this.#lanes.get(session) ?? Promise.resolve();
    const next = prev.then(async () => {
      const q = this.#queued.get(session) ?? [];
      const i = q.indexOf(entry);
      if (i >= 0) q.splice(i, 1);
      if (dropped || this.#dead) return;
      await this.#turn(inbound, sink, session);
    });
    this.#lanes.set(session, next);
  };

  async #turn(inbound: Inbound, sink: ReplySink, session: string): Promise<void> {
    const ac = new AbortController();
    this.#running.set(session, ac);
    try {
      if (this.#o.persistDelayMs) await sleep(this.#o.persistDelayMs);
      if (this.#dead) return;
      const script = this.script(inbound);
      this.#store.transaction(() => {
        this.#store.ensureSession(session, { agent_id: inbound.agent ?? 'main', dialog: inbound.dialog, chat: inbound.chat });
        this.#store.append(session, { role: 'user', content: inbound.text, ...(inbound.meta ? { meta: inbound.meta } : {}) });
        if (!script.crashAfterPersist) inbound.onPersisted?.();
      });
      this.turns.push(inbound);
      if (script.crashAfterPersist) {
        this.#dead = true;
        return;
      }
      sink.phase?.('thinking');
      if (script.thinkMs) await sleep(script.thinkMs);
      let text = '';
      const chunks = script.chunks ?? (script.text !== undefined ? [script.text] : []);
      for (const c of chunks) {
        if (ac.signal.aborted || this.#dead) break;
        sink.phase?.('streaming');
        sink.delta(c);
        text += c;
        if (script.gapMs) await sleep(script.gapMs);
      }
      if (script.hold && !ac.signal.aborted) await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
      if (this.#dead) return;
      if (ac.signal.aborted) {
        sink.final({ text, session, error: { code: 'cancelled', message: 'Cancelled.' } });
        return;
      }
      this.#store.append(session, { role: 'assistant', content: text });
      const usage = { input: 100, output: 20, cost_usd: 0.002 };
      this.#store.addUsage({ session_key: session, model: 'test/scripted', user_id: inbound.user ?? '', input: usage.input, output: usage.output, cost_usd: usage.cost_usd });
      this.#stats.turns++;
      this.#stats.tokens_in += usage.input;
      this.#stats.tokens_out += usage.output;
      if (script.error) this.#stats.errors++;
      sink.final({ text, session, usage, ...(script.error ? { error: script.error } : {}) });
    } finally {
      this.#running.delete(session);
    }
  }

  cancel(session: string): boolean {
    const queued = this.#queued.get(session) ?? [];
    this.#queued.delete(session);
    for (const q of queued) q.drop();
    const running = this.#running.get(session);
    running?.abort();
    return queued.length > 0 || running !== undefined;
  }

  async reset(session: string): Promise<void> {
    this.cancel(session);
    await this.#lanes.get(session);
    this.#store.clearSession(session);
    this.resets.push(session);
  }

  stats(): AgentStats {
    return {
      running: this.#running.size,
      queued: [...this.#queued.values()].reduce((n, q) => n + q.length, 0),
      ...this.#stats,
      model: 'test/scripted',
      cost_today_usd: this.#store.spentToday(),
    };
  }

  /** Dies like a killed process: nothing more is persisted or answered. */
  crash(): void {
    this.#dead = true;
    for (const c of this.#running.values()) c.abort();
  }

  /** Waits until every session's turns are done. */
  async idle(): Promise<void> {
    await Promise.all([...this.#lanes.values()]);
  }
}
