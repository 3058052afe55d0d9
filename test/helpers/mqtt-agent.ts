// An AgentControl that acts like the real agent as the MQTT dialog sees it:
// one turn at a time per session, in order; a bounded number of waiting turns
// (beyond it `busy`, through the sink, at once); each turn persists the user
// message (calling onPersisted), shows "thinking", streams a scripted answer
// through the sink and ends with exactly one `final`. cancel and reset work.
// A turn can be held until the test releases it (`hold`), which is how the
// restart test finishes a reply while the broker is away.
import type { AgentControl, AgentStats } from '../../src/agent/types.ts';
import type { Inbound, ReplySink, TurnError, TurnResult } from '../../src/dialogs/types.ts';
import type { Store } from '../../src/store/store.ts';

export interface TurnScript {
  /** Streamed pieces; default: the echo `you said: <text>` in three pieces. */
  chunks?: string[];
  /** Pause between pieces, ms. */
  gapMs?: number;
  /** Wait for this before answering (cancel also ends the wait). */
  hold?: Promise<void>;
  error?: TurnError;
}

export interface FinalRecord {
  inbound: Inbound;
  result: TurnResult;
}

export interface MqttAgentOptions {
  /** Turns running or waiting, across sessions, before `busy`. */
  maxPending?: number;
  store?: Store;
  script?: (inbound: Inbound) => TurnScript;
  /** Keep `submitted` and `finals` (default true; the benchmark turns it off to measure memory). */
  record?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class MqttTestAgent implements AgentControl {
  readonly submitted: Inbound[] = [];
  readonly finals: FinalRecord[] = [];
  readonly resets: string[] = [];
  script: (inbound: Inbound) => TurnScript;
  readonly #o: MqttAgentOptions;
  readonly #lanes = new Map<string, Promise<void>>();
  readonly #running = new Map<string, AbortController>();
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly #finalWaiters: Array<{ pred: (f: FinalRecord) => boolean; resolve: (f: FinalRecord) => void }> = [];
  #pending = 0;
  #stats = { turns: 0, errors: 0, tokens_in: 0, tokens_out: 0 };

  constructor(opts: MqttAgentOptions = {}) {
    this.#o = opts;
    this.script = opts.script ?? (() => ({}));
  }

  sessionKey(inbound: Pick<Inbound, 'dialog' | 'chat' | 'agent'>): string {
    return `agent:${inbound.agent ?? 'main'}:${inbound.dialog}:${inbound.chat}`;
  }

  submit = (inbound: Inbound, sink: ReplySink): void => {
    const record = this.#o.record !== false;
    if (record) this.submitted.push(inbound);
    const session = this.sessionKey(inbound);
    const finish = (result: TurnResult) => {
      const rec = { inbound, result };
      if (record) this.finals.push(rec);
      sink.final(result);
      for (let i = this.#finalWaiters.length - 1; i >= 0; i--) {
        const w = this.#finalWaiters[i]!;
        if (w.pred(rec)) {
          this.#finalWaiters.splice(i, 1);
          w.resolve(rec);
        }
      }
    };
    if (this.#pending >= (this.#o.maxPending ?? 16)) {
      finish({ text: '', session, error: { code: 'busy', message: 'aeon is busy; try again in a moment.' } });
      return;
    }
    this.#pending++;
    let dropped = false;
    const drop = () => {
      dropped = true;
    };
    const waiting = this.#waiting.get(session) ?? [];
    waiting.push(drop);
    this.#waiting.set(session, waiting);
    const prev = this.#lanes.get(session) ?? Promise.resolve();
    const next = prev.then(async () => {
      const w = this.#waiting.get(session) ?? [];
      const i = w.indexOf(drop);
      if (i >= 0) w.splice(i, 1);
      try {
        if (dropped) finish({ text: '', session, error: { code: 'cancelled', message: 'Cancelled before it started.' } });
        else await this.#turn(inbound, session, sink, finish);
      } finally {
        this.#pending--;
      }
    });
    this.#lanes.set(session, next);
  };

  async #turn(inbound: Inbound, session: string, sink: ReplySink, finish: (r: TurnResult) => void): Promise<void> {
    const ac = new AbortController();
    this.#running.set(session, ac);
    try {
      const store = this.#o.store;
      if (store) {
        store.transaction(() => {
          store.ensureSession(session, { agent_id: inbound.agent ?? 'main', dialog: inbound.dialog, chat: inbound.chat });
          store.append(session, { role: 'user', content: inbound.text });
          inbound.onPersisted?.();
        });
      } else {
        inbound.onPersisted?.();
      }
      const s = this.script(inbound);
      sink.phase?.('thinking');
      if (s.hold) {
        await Promise.race([s.hold, new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }))]);
      }
      const chunks = s.chunks ?? ['you said: ', inbound.text.slice(0, 200), '.'];
      let text = '';
      for (const c of chunks) {
        if (ac.signal.aborted) break;
        sink.phase?.('streaming');
        sink.delta(c);
        text += c;
        if (s.gapMs) await sleep(s.gapMs);
      }
      if (ac.signal.aborted) {
        this.#stats.errors++;
        finish({ text, session, error: { code: 'cancelled', message: 'Cancelled.' } });
        return;
      }
      const usage = { input: 10 + inbound.text.length, output: text.length };
      store?.append(session, { role: 'assistant', content: text });
      this.#stats.turns++;
      this.#stats.tokens_in += usage.input;
      this.#stats.tokens_out += usage.output;
      if (s.error) this.#stats.errors++;
      finish({ text, session, usage, ...(s.error ? { error: s.error } : {}) });
    } finally {
      this.#running.delete(session);
    }
  }

  cancel(session: string): boolean {
    const waiting = this.#waiting.get(session) ?? [];
    this.#waiting.delete(session);
    for (const drop of waiting) drop();
    const running = this.#running.get(session);
    running?.abort();
    return waiting.length > 0 || running !== undefined;
  }

  async reset(session: string): Promise<void> {
    this.cancel(session);
    await this.#lanes.get(session);
    this.#o.store?.clearSession(session);
    this.resets.push(session);
  }

  stats(): AgentStats {
    return { running: this.#running.size, queued: Math.max(0, this.#pending - this.#running.size), ...this.#stats, model: 'test/scripted', cost_today_usd: 0 };
  }

  /** Resolves with the first final (past or future) that matches. */
  waitFinal(pred: (f: FinalRecord) => boolean = () => true, timeoutMs = 5000): Promise<FinalRecord> {
    const seen = this.finals.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching final within ${timeoutMs} ms (${this.finals.length} finals so far)`)), timeoutMs);
      this.#finalWaiters.push({ pred, resolve: (f) => (clearTimeout(t), resolve(f)) });
    });
  }

  async idle(): Promise<void> {
    await Promise.all([...this.#lanes.values()]);
  }
}

/** A promise with its resolve, for `hold`. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
