// One turn: load the window (compacting first when needed), stream from the
// model, run the tools it asks for, feed results back, repeat up to a bound,
// persist everything said, and finish the reply. Never throws: every failure
// ends as one plain sentence on the sink, and what was said so far is stored.
import type { AgentConfig, Config } from '../config/types.ts';
import type { ReplySink, TurnError } from '../dialogs/types.ts';
import type { LlmError, LlmRequest, StreamEvent, ToolCall, ToolSpec } from '../llm/types.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { ToolContext, ToolResult } from '../tools/types.ts';
import { compact, needsCompaction, pickFoldable } from './compaction.ts';
import { estimateTokens, systemPrompt, toChatMessages, type DeviceContext } from './prompt.ts';

/**
 * The model chain of one agent (primary plus fallbacks, with retries). Its
 * usage events name the model that answered and carry its cost.
 */
export interface LlmChain {
  /** `<provider>/<model>` of the primary model. */
  readonly label: string;
  readonly model: string;
  stream(req: LlmRequest, signal: AbortSignal): AsyncIterable<StreamEvent>;
}

export interface ToolRunner {
  specs(names: string[]): ToolSpec[];
  run(call: ToolCall, ctx: ToolContext): Promise<ToolResult>;
}

export interface TurnTelemetry {
  session: string;
  agent: string;
  ok: boolean;
  error_code?: string;
  duration_ms: number;
  /** From request to the first text or tool call, for the first LLM round. */
  ttft_ms?: number;
  input: number;
  output: number;
  cost_usd: number;
  tool_calls: number;
}

export interface TurnInput {
  config: Config;
  agentId: string;
  agent: AgentConfig;
  basePrompt: string;
  session: string;
  user?: string;
  promptId?: string;
  store: Store;
  llm: LlmChain;
  tools: ToolRunner;
  sink: ReplySink;
  signal: AbortSignal;
  log: Logger;
  device: DeviceContext;
  now: () => number;
}

export async function runTurn(t: TurnInput): Promise<TurnTelemetry> {
  const started = t.now();
  const tel: TurnTelemetry = { session: t.session, agent: t.agentId, ok: false, duration_ms: 0, input: 0, output: 0, cost_usd: 0, tool_calls: 0 };
  const finish = (text: string, error?: TurnError) => {
    tel.ok = !error;
    tel.error_code = error?.code;
    tel.duration_ms = t.now() - started;
    safe(() => t.sink.final({ text, session: t.session, error, usage: { input: tel.input, output: tel.output, cost_usd: tel.cost_usd } }), t.log);
    return tel;
  };

  try {
    const toolSpecs = t.tools.specs(t.agent.tools);
    const settings = {
      ...t.config.storage.compaction,
      context_tokens: t.agent.context_tokens,
      reserve_tokens: t.agent.max_tokens,
      window_messages: t.config.storage.max_history_messages,
    };
    let win = t.store.history(t.session, settings.window_messages);
    const sysTokens = estimateTokens(t.basePrompt) + estimateTokens(JSON.stringify(toolSpecs)) + 40;
    if (needsCompaction(settings, sysTokens, win.summary, win.messages)) {
      safe(() => t.sink.phase?.('thinking', 'compacting'), t.log);
      await compact({
        store: t.store, session: t.session, summary: win.summary, fold: pickFoldable(win.messages, settings.keep_recent),
        settings, model: t.llm.model, summarise: (req, signal) => t.llm.stream(req, signal), signal: t.signal, log: t.log,
      });
      win = t.store.history(t.session, settings.window_messages);
    }

    let answer = '';
    for (let round = 0; ; round++) {
      if (budgetExceeded(t)) return finish(answer, budgetError(t));
      const req: LlmRequest = {
        model: t.llm.model,
        system: systemPrompt(t.basePrompt, t.device, win.summary),
        messages: toChatMessages(win.messages),
        tools: toolSpecs.length && round < t.agent.max_tool_iterations ? toolSpecs : undefined,
        max_tokens: t.agent.max_tokens,
        temperature: t.agent.temperature,
      };
      safe(() => t.sink.phase?.('thinking'), t.log);
      const r = await streamOnce(t, req, tel, round === 0 ? started : undefined);
      answer += r.text;
      if (r.error) {
        if (r.text || r.calls.length) t.store.append(t.session, { role: 'assistant', content: r.text, meta: { partial: true, error: r.error.kind } });
        const error = r.error.kind === 'aborted' ? cancelledError(t.signal) : r.cut ? { code: 'llm_bad_response', message: r.error.message } : llmError(r.error, t.agentId);
        return finish(answer, error);
      }
      if (r.calls.length === 0 || round >= t.agent.max_tool_iterations) {
        let note = '';
        if (r.calls.length) note = `${answer ? '\n\n' : ''}(I stopped after ${t.agent.max_tool_iterations} rounds of tool use.)`;
        t.store.append(t.session, { role: 'assistant', content: r.text + note, tokens: estimateTokens(r.text) });
        if (note) safe(() => t.sink.delta(note), t.log);
        return finish(answer + note);
      }
      t.store.append(t.session, { role: 'assistant', content: r.text, tool_calls: r.calls });
      for (const call of r.calls) {
        if (t.signal.aborted) break;
        safe(() => t.sink.phase?.('tool', call.name), t.log);
        tel.tool_calls++;
        const res = await t.tools.run(call, { signal: t.signal, session: t.session, prompt_id: t.promptId, log: t.log });
        t.store.append(t.session, { role: 'tool', content: res.content, tool_call_id: call.id, name: call.name, is_error: res.is_error });
      }
      if (t.signal.aborted) return finish(answer, cancelledError(t.signal));
      win = t.store.history(t.session, settings.window_messages + 2 * r.calls.length + 1);
    }
  } catch (err) {
    t.log.error({ err, session: t.session }, 'turn failed');
    return finish('', { code: 'internal', message: 'Something went wrong inside aeon while answering; the error is in its log. Your message was kept.' });
  }
}

interface RoundResult {
  text: string;
  calls: ToolCall[];
  error?: LlmError;
  /** The model talked past `max_tokens` and the answer was cut (error says so). */
  cut?: boolean;
}

// A server honours max_tokens; one that does not (a runaway local model, a
// broken proxy) would fill memory and send hundreds of chat messages. No
// tokeniser averages longer tokens than this, so a real answer never hits it.
const MAX_CHARS_PER_TOKEN = 16;

async function streamOnce(t: TurnInput, req: LlmRequest, tel: TurnTelemetry, ttftFrom?: number): Promise<RoundResult> {
  const out: RoundResult = { text: '', calls: [] };
  const limit = (req.max_tokens ?? Infinity) * MAX_CHARS_PER_TOKEN;
  let streaming = false;
  for await (const ev of t.llm.stream(req, t.signal)) {
    switch (ev.type) {
      case 'text': {
        if (!ev.delta) break;
        if (!streaming) {
          streaming = true;
          if (ttftFrom !== undefined) tel.ttft_ms = t.now() - ttftFrom;
          safe(() => t.sink.phase?.('streaming'), t.log);
        }
        const over = out.text.length + ev.delta.length > limit;
        const delta = over ? ev.delta.slice(0, limit - out.text.length) : ev.delta;
        out.text += delta;
        if (delta) safe(() => t.sink.delta(delta), t.log);
        if (over) {
          // Leaving the loop ends the request.
          out.cut = true;
          out.error = { kind: 'bad_response', retryable: false, message: `The language model kept writing past what max_tokens (${req.max_tokens}) allows, so aeon stopped the answer after ${limit} characters.` };
          return out;
        }
        break;
      }
      case 'tool_call':
        if (ttftFrom !== undefined && tel.ttft_ms === undefined) tel.ttft_ms = t.now() - ttftFrom;
        out.calls.push(ev.call);
        break;
      case 'usage': {
        const cost = ev.cost_usd ?? 0;
        tel.input += ev.input;
        tel.output += ev.output;
        tel.cost_usd += cost;
        t.store.addUsage({ session_key: t.session, model: ev.model ?? t.llm.label, user_id: t.user, input: ev.input, output: ev.output, cost_usd: cost });
        break;
      }
      case 'error':
        out.error = ev.error;
        break;
      case 'done':
        break;
    }
  }
  return out;
}

function budgetExceeded(t: TurnInput): boolean {
  const b = t.config.budget;
  if (b.daily_usd !== undefined && t.store.spentToday() >= b.daily_usd) return true;
  if (b.per_user_daily_usd !== undefined && t.user !== undefined && t.store.spentToday(t.user) >= b.per_user_daily_usd) return true;
  return false;
}

function budgetError(t: TurnInput): TurnError {
  const b = t.config.budget;
  const overall = b.daily_usd !== undefined && t.store.spentToday() >= b.daily_usd;
  return {
    code: 'budget',
    message: overall
      ? `Today's LLM budget of $${b.daily_usd!.toFixed(2)} is used up, so no request was sent; aeon answers again after midnight UTC (or raise budget.daily_usd).`
      : `Your daily LLM budget of $${b.per_user_daily_usd!.toFixed(2)} is used up, so no request was sent; try again after midnight UTC.`,
  };
}

function cancelledError(signal: AbortSignal): TurnError {
  const reason = signal.reason;
  if (reason === 'shutdown') return { code: 'shutdown', message: 'aeon is shutting down; what was said so far is kept.' };
  if (reason === 'timeout' || (reason instanceof Error && reason.name === 'TimeoutError')) return { code: 'timeout', message: 'The answer took too long and was stopped.' };
  return { code: 'cancelled', message: 'Cancelled.' };
}

export function llmError(e: LlmError, agentId: string): TurnError {
  const code = `llm_${e.kind}`;
  switch (e.kind) {
    case 'auth':
      return { code, message: `The language model refused aeon's credentials; check agents.${agentId}.api_key.` };
    case 'rate_limit':
      return { code, message: 'The language model is rate-limiting requests; try again in a minute.' };
    case 'timeout':
      return { code, message: 'The language model did not answer in time; try again.' };
    case 'network':
      return { code, message: `aeon could not reach the language model. ${e.message}` };
    case 'server':
      return { code, message: 'The language model service had an error; try again later.' };
    case 'bad_request':
      return { code, message: e.message };
    case 'bad_response':
      return { code, message: 'The language model sent an answer aeon could not read; try again.' };
    case 'budget':
      return { code: 'budget', message: e.message };
    default:
      return { code, message: e.message };
  }
}

function safe(fn: () => void, log: Logger): void {
  try {
    fn();
  } catch (err) {
    log.warn({ err }, 'reply sink threw; ignored');
  }
}
