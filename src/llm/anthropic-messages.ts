// Anthropic's Messages API, streaming. The stream is a sequence of named
// events: message_start (input token count), per content block a
// content_block_start / content_block_delta* / content_block_stop (text arrives
// as text_delta, tool input as input_json_delta slices), message_delta (stop
// reason, output token count), message_stop; plus `ping` at any time and an
// `error` event when the API fails mid-answer.
import type { LlmProvider, LlmRequest, ModelConfig, StopReason, StreamEvent } from './types.ts';
import { anthropicBody } from './anthropic-request.ts';
import { contextFor, err, notJsonError, streamedError, type ErrorContext } from './http-errors.ts';
import { pricedUsage } from './prices.ts';
import { postSse } from './sse.ts';

const API_VERSION = '2023-06-01';

interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

/** The fields of the events we read; unknown event types are skipped (the API adds new ones). */
interface WireEvent {
  type?: string;
  index?: number;
  message?: { usage?: Usage };
  content_block?: { type?: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: Usage;
  error?: unknown;
}

export function anthropicMessages(model: ModelConfig): LlmProvider {
  const ctx = contextFor(model);
  // The config holds the origin; accept one that already ends in /v1.
  const base = model.base_url.replace(/\/+$/, '').replace(/\/v1$/, '');
  const url = `${base}/v1/messages`;
  const headers: Record<string, string> = { 'anthropic-version': API_VERSION, ...model.headers };
  if (model.api_key) headers['x-api-key'] = model.api_key;
  return {
    id: `${model.provider}/${model.model}`,
    model,
    stream: (request, signal) => streamMessages(model, ctx, url, headers, request, signal),
  };
}

async function* streamMessages(
  model: ModelConfig,
  ctx: ErrorContext,
  url: string,
  headers: Record<string, string>,
  request: LlmRequest,
  signal: AbortSignal,
): AsyncGenerator<StreamEvent, void, undefined> {
  const toolBlocks = new Map<number, { id: string; name: string; json: string }>();
  let input = 0;
  let output = 0;
  let stop: StopReason | undefined;
  let stopped = false;
  let toolCalls = 0;

  for await (const item of postSse({ url, headers, body: anthropicBody(model, request), limits: model.limits, errors: ctx }, signal)) {
    if (item.type === 'error') {
      // After message_delta the answer is complete; a drop before message_stop loses nothing.
      if (stop !== undefined && (item.error.kind === 'network' || item.error.kind === 'timeout')) break;
      yield item;
      return;
    }
    let ev: WireEvent;
    try {
      ev = JSON.parse(item.data) as WireEvent;
    } catch {
      yield { type: 'error', error: notJsonError(item.data, ctx) };
      return;
    }
    switch (ev?.type) {
      case 'message_start': {
        const u = ev.message?.usage;
        if (u && typeof u === 'object') {
          input = inputTokens(u) ?? input;
          output = tokens(u.output_tokens) ?? output;
        }
        break;
      }
      case 'content_block_start': {
        const b = ev.content_block;
        if (b?.type === 'tool_use' && typeof ev.index === 'number') {
          toolBlocks.set(ev.index, { id: typeof b.id === 'string' && b.id ? b.id : `call_${ev.index}`, name: typeof b.name === 'string' ? b.name : '', json: '' });
        } else if (b?.type === 'text' && typeof b.text === 'string' && b.text) {
          yield { type: 'text', delta: b.text };
        }
        break;
      }
      case 'content_block_delta': {
        const d = ev.delta;
        if (d?.type === 'text_delta') {
          if (typeof d.text === 'string' && d.text) yield { type: 'text', delta: d.text };
        } else if (d?.type === 'input_json_delta' && typeof d.partial_json === 'string') {
          const block = toolBlocks.get(ev.index ?? -1);
          if (block) block.json += d.partial_json;
        }
        // thinking_delta and signature_delta are not shown to users.
        break;
      }
      case 'content_block_stop': {
        const block = toolBlocks.get(ev.index ?? -1);
        if (block) {
          toolBlocks.delete(ev.index ?? -1);
          toolCalls++;
          yield { type: 'tool_call', call: { id: block.id, name: block.name, arguments: block.json === '' ? '{}' : block.json } };
        }
        break;
      }
      case 'message_delta': {
        if (typeof ev.delta?.stop_reason === 'string' && ev.delta.stop_reason) stop = stopReason(ev.delta.stop_reason);
        // Counts here are cumulative totals, not increments.
        if (ev.usage && typeof ev.usage === 'object') {
          output = tokens(ev.usage.output_tokens) ?? output;
          input = inputTokens(ev.usage) ?? input;
        }
        break;
      }
      case 'message_stop':
        stopped = true;
        break;
      case 'error':
        yield { type: 'error', error: streamedError(ev.error, ctx) };
        return;
      default:
        break; // ping, and event types added after this was written
    }
    if (stopped) break;
  }
  if (!stopped && stop === undefined) {
    yield { type: 'error', error: err('network', true, `The stream from ${ctx.host} ended before the model finished.`) };
    return;
  }
  yield pricedUsage(model, input, output);
  yield { type: 'done', stop: toolCalls > 0 ? 'tool_use' : (stop ?? 'end') };
}

// Cached prompt tokens are reported apart from the rest; all of them were read.
function inputTokens(u: Usage): number | undefined {
  const parts = [tokens(u.input_tokens), tokens(u.cache_creation_input_tokens), tokens(u.cache_read_input_tokens)];
  if (parts.every((n) => n === undefined)) return undefined;
  return parts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

/** A token count as sent, or undefined when it is not a count (events are outside input). */
function tokens(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function stopReason(reason: string): StopReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'end';
    case 'tool_use':
      return 'tool_use';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other'; // pause_turn and future reasons
  }
}
