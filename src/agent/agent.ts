// The agent as dialogs see it: takes messages, persists each one first, queues
// its turn (bounded, one at a time per session), and controls sessions.
import fs from 'node:fs';
import type { Config } from '../config/types.ts';
import type { Inbound, ReplySink } from '../dialogs/types.ts';
import type { Logger } from '../log.ts';
import { sessionKey } from '../store/index.ts';
import type { Store } from '../store/store.ts';
import { Scheduler } from './scheduler.ts';
import { runTurn, type LlmChain, type ToolRunner, type TurnTelemetry } from './turn.ts';
import type { AgentControl, AgentStats } from './types.ts';
import { estimateTokens } from './prompt.ts';
import { compact, needsCompaction, pickFoldable, type CompactionResult } from './compaction.ts';

export interface AgentDeps {
  config: Config;
  store: Store;
  tools: ToolRunner;
  /** The model chain for an agent id. */
  llm: (agentId: string) => LlmChain;
  log: Logger;
  now?: () => number;
  /** Told about every finished turn (metrics). Must not throw. */
  observe?: (t: TurnTelemetry) => void;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

const DEFAULT_PROMPT = 'You are aeon, a helpful assistant running on a small Linux board at home. Answer briefly and plainly.';

export class Agent implements AgentControl {
  readonly #d: AgentDeps;
  readonly #scheduler: Scheduler;
  readonly #running = new Map<string, Running>();
  readonly #prompts = new Map<string, string>();
  readonly #now: () => number;
  #stats = { turns: 0, errors: 0, tokens_in: 0, tokens_out: 0 };
  #lastError: AgentStats['last_error'];
  #stopping = false;

  constructor(deps: AgentDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    const b = deps.config.budget;
    this.#scheduler = new Scheduler({ max_concurrent: b.max_concurrent_turns, per_session: b.queue_per_session, total: b.queue_total });
  }

  get defaultAgent(): string {
    return Object.keys(this.#d.config.agents)[0]!;
  }

  sessionKey(inbound: Pick<Inbound, 'dialog' | 'chat' | 'agent'>): string {
    return sessionKey(this.#agentFor(inbound), inbound.dialog, inbound.chat);
  }

  submit = (inbound: Inbound, sink: ReplySink): void => {
    const agentId = this.#agentFor(inbound);
    const session = sessionKey(agentId, inbound.dialog, inbound.chat);
    const refuse = (code: string, message: string) => safeFinal(sink, { text: '', session, error: { code, message } }, this.#d.log);
    if (this.#stopping) return refuse('shutdown', 'aeon is shutting down; send it again in a minute.');
    if (!this.#d.config.agents[agentId]) return refuse('unknown_agent', `There is no agent "${agentId}" on this device.`);
    const text = inbound.text;
    if (!text.trim()) return refuse('empty', 'The message was empty.');
    const max = this.#d.config.budget.max_message_bytes;
    if (Buffer.byteLength(text) > max) return refuse('too_large', `The message is longer than this device accepts (${max} bytes); send a shorter one.`);

    // Bounds first, so a refused message is never stored.
    const accepted = this.#scheduler.submit(session, {
      run: () => this.#turn(agentId, session, inbound, sink),
      drop: (why) => refuse(why, why === 'shutdown' ? 'aeon is shutting down; send it again in a minute.' : 'Cancelled before it started.'),
    });
    if (!accepted) refuse('busy', 'aeon is busy with other messages right now; try again in a moment.');
  };

  cancel(session: string): boolean {
    const dropped = this.#scheduler.dropWaiting(session);
    const r = this.#running.get(session);
    if (r) r.controller.abort('cancelled');
    return dropped > 0 || r !== undefined;
  }

  async reset(session: string): Promise<void> {
    this.cancel(session);
    await this.#running.get(session)?.done;
    this.#d.store.clearSession(session);
  }

  stats(): AgentStats {
    const a = this.#d.config.agents[this.defaultAgent]!;
    let cost = 0;
    try {
      cost = this.#d.store.spentToday();
    } catch {
      // store closed during shutdown
    }
    return {
      running: this.#scheduler.running,
      queued: this.#scheduler.queued,
      ...this.#stats,
      model: `${a.provider}/${a.model}`,
      cost_today_usd: cost,
      last_error: this.#lastError,
    };
  }

  /** Compacts a session now (`aeon sessions compact`); `force` folds even under the threshold. */
  async compactSession(session: string, force = false): Promise<CompactionResult> {
    const row = this.#d.store.getSession(session);
    if (!row) return { compacted: 0, how: 'none' };
    const agent = this.#d.config.agents[row.agent_id] ?? this.#d.config.agents[this.defaultAgent]!;
    const settings = {
      ...this.#d.config.storage.compaction,
      context_tokens: agent.context_tokens,
      reserve_tokens: agent.max_tokens,
      window_messages: this.#d.config.storage.max_history_messages,
    };
    const win = this.#d.store.history(session, settings.window_messages);
    if (!force && !needsCompaction(settings, estimateTokens(this.#prompt(row.agent_id)), win.summary, win.messages)) return { compacted: 0, how: 'none' };
    const chain = this.#d.llm(row.agent_id);
    return compact({
      // By hand, everything but the last exchange is folded.
      store: this.#d.store, session, summary: win.summary, fold: pickFoldable(win.messages, force ? 2 : settings.keep_recent), settings,
      model: chain.model, summarise: (req, signal) => chain.stream(req, signal), signal: AbortSignal.timeout(agent.turn_timeout_s * 1000), log: this.#d.log,
    });
  }

  /** Stops taking messages, aborts running turns (they persist what was said) and waits for them. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#stopping = true;
    this.#scheduler.close();
    for (const r of this.#running.values()) r.controller.abort('shutdown');
    const all = Promise.all([...this.#running.values()].map((r) => r.done));
    await Promise.race([all, new Promise((res) => setTimeout(res, timeoutMs).unref())]);
  }

  #agentFor(inbound: Pick<Inbound, 'dialog' | 'agent'>): string {
    if (inbound.agent) return inbound.agent;
    const d = (this.#d.config.dialogs as Record<string, { agent?: string }>)[inbound.dialog];
    return d?.agent ?? this.defaultAgent;
  }

  async #turn(agentId: string, session: string, inbound: Inbound, sink: ReplySink): Promise<void> {
    const { config, store, log } = this.#d;
    const agent = config.agents[agentId]!;
    const controller = new AbortController();
    // A timer cleared when the turn ends. AbortSignal.timeout() would keep every
    // turn's signals alive for turn_timeout_s after it, ~1.3 KB a turn for 5
    // minutes: +3.9 MB of heap per 5,000 turns under load (scripts/bench/load.ts).
    const timer = setTimeout(() => controller.abort('timeout'), agent.turn_timeout_s * 1000);
    const signal = controller.signal;
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    this.#running.set(session, { controller, done });
    try {
      // The user's message is safe on disk before anything else happens.
      try {
        store.transaction(() => {
          store.ensureSession(session, { agent_id: agentId, dialog: inbound.dialog, chat: inbound.chat });
          store.append(session, { role: 'user', content: inbound.text, tokens: estimateTokens(inbound.text), meta: inbound.meta });
          inbound.onPersisted?.();
        });
      } catch (err) {
        log.error({ err, session }, 'could not store the message');
        safeFinal(sink, { text: '', session, error: { code: 'storage', message: 'aeon could not store your message (is the disk full?); nothing was sent to the model.' } }, log);
        return;
      }
      const tel = await runTurn({
        config, agentId, agent, basePrompt: this.#prompt(agentId), session, user: inbound.user, promptId: inbound.id,
        store, llm: this.#d.llm(agentId), tools: this.#d.tools, sink, signal, log,
        device: { name: config.device.name, board: config.device.board, now: new Date(this.#now()) }, now: this.#now,
      });
      this.#stats.turns++;
      this.#stats.tokens_in += tel.input;
      this.#stats.tokens_out += tel.output;
      if (!tel.ok && tel.error_code !== 'cancelled') {
        this.#stats.errors++;
        this.#lastError = { code: tel.error_code ?? 'internal', message: tel.error_code ?? '', at: this.#now() };
      }
      try {
        this.#d.observe?.(tel);
      } catch {
        // metrics must not break turns
      }
    } finally {
      clearTimeout(timer);
      this.#running.delete(session);
      release();
    }
  }

  #prompt(agentId: string): string {
    let p = this.#prompts.get(agentId);
    if (p === undefined) {
      const a = this.#d.config.agents[agentId]!;
      p = a.system_prompt ?? DEFAULT_PROMPT;
      if (a.system_prompt_file) {
        try {
          p = fs.readFileSync(a.system_prompt_file, 'utf8');
        } catch (err) {
          this.#d.log.warn({ err, file: a.system_prompt_file }, 'cannot read system_prompt_file; using system_prompt');
        }
      }
      this.#prompts.set(agentId, p);
    }
    return p;
  }
}

function safeFinal(sink: ReplySink, result: Parameters<ReplySink['final']>[0], log: Logger): void {
  try {
    sink.final(result);
  } catch (err) {
    log.warn({ err }, 'reply sink threw; ignored');
  }
}
