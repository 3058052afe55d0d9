// The OpenAI chat-completions wire protocol, streaming: OpenAI, OpenRouter,
// Ollama, LM Studio and any OpenAI-compatible server (llama.cpp, vLLM).
import type { LlmProvider, LlmRequest, ModelConfig, StopReason, StreamEvent } from './types.ts';
import { contextFor, err, notJsonError, streamedError, type ErrorContext } from './http-errors.ts';
import { openAiBody } from './openai-request.ts';
import { pricedUsage } from './prices.ts';
import { postSse } from './sse.ts';
import { ToolCallAssembler } from './tool-calls.ts';

/** The parts of a `chat.completion.chunk` we read; everything else is ignored. */
interface Chunk {
  choices?: Array<{ delta?: { content?: unknown; tool_calls?: unknown }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  /** OpenRouter and OpenAI report failures mid-stream as a chunk with `error`. */
  error?: unknown;
  /** vLLM's error shape: `{"object": "error", "message": ...}`. */
  object?: string;
}

export function openAiCompletions(model: ModelConfig): LlmProvider {
  const ctx = contextFor(model);
  const url = `${model.base_url.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { ...model.headers };
  // Empty key means none: Ollama and LM Studio take no Authorization header.
  if (model.api_key) headers.authorization = `Bearer ${model.api_key}`;
  return {
    id: `${model.provider}/${model.model}`,
    model,
    stream: (request, signal) => streamChat(model, ctx, url, headers, request, signal),
  };
}

async function* streamChat(
  model: ModelConfig,
  ctx: ErrorContext,
  url: string,
  headers: Record<string, string>,
  request: LlmRequest,
  signal: AbortSignal,
): AsyncGenerator<StreamEvent, void, undefined> {
  const calls = new ToolCallAssembler();
  let finish: StopReason | undefined;
  let usage: { input: number; output: number } | undefined;
  let sawDone = false;
  let toolCalls = 0;

  const events = postSse({ url, headers, body: openAiBody(model, request), limits: model.limits, errors: ctx }, signal);
  for await (const item of events) {
    if (item.type === 'error') {
      // Once the model has said it finished, a connection dropped while we wait
      // for the usage chunk or [DONE] does not spoil a complete answer.
      if (finish !== undefined && (item.error.kind === 'network' || item.error.kind === 'timeout')) break;
      yield item;
      return;
    }
    const data = item.data;
    if (data === '[DONE]') {
      sawDone = true;
      break;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      yield { type: 'error', error: notJsonError(data, ctx) };
      return;
    }
    if (!chunk || typeof chunk !== 'object') {
      yield { type: 'error', error: notJsonError(data, ctx) };
      return;
    }
    if (chunk.error !== undefined || chunk.object === 'error') {
      yield { type: 'error', error: streamedError(chunk.error ?? chunk, ctx) };
      return;
    }
    const u = chunk.usage;
    if (u && typeof u === 'object') usage = { input: count(u.prompt_tokens), output: count(u.completion_tokens) };

    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = choice.delta;
    if (delta) {
      const text = delta.content;
      if (typeof text === 'string' && text !== '') yield { type: 'text', delta: text };
      if (delta.tool_calls !== undefined) calls.add(delta.tool_calls);
    }
    const reason = choice.finish_reason;
    if (reason) {
      if (reason === 'error') {
        // OpenRouter: the upstream provider failed; the error object may be missing.
        yield { type: 'error', error: err('server', true, `${ctx.label} reported that the model failed mid-answer.`) };
        return;
      }
      finish = stopReason(reason);
      // Calls are complete once the choice finishes; hand them over before the usage chunk.
      for (const call of calls.drain()) {
        toolCalls++;
        yield { type: 'tool_call', call };
      }
    }
  }
  if (finish === undefined && !sawDone) {
    yield { type: 'error', error: err('network', true, `The stream from ${ctx.host} ended before the model finished.`) };
    return;
  }
  for (const call of calls.drain()) {
    // Servers that end with [DONE] but never send a finish_reason.
    toolCalls++;
    yield { type: 'tool_call', call };
  }
  if (usage) yield pricedUsage(model, usage.input, usage.output);
  // Some servers (older Ollama) say "stop" after a tool call; the calls decide.
  yield { type: 'done', stop: toolCalls > 0 ? 'tool_use' : (finish ?? 'end') };
}

function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0;
}

function stopReason(reason: string): StopReason {
  switch (reason) {
    case 'stop':
      return 'end';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}
