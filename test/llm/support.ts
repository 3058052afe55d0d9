// Shared by the LLM tests: a ModelConfig with test-sized bounds, and a folder
// that drains a provider stream into what a user would notice.
import type { LlmError, ModelConfig, ProviderKind, StopReason, StreamEvent, ToolCall } from '../../src/llm/types.ts';

export const TEST_LIMITS = {
  connect_timeout_ms: 2_000,
  first_byte_timeout_ms: 5_000,
  idle_timeout_ms: 5_000,
  max_response_bytes: 8 << 20,
  max_event_bytes: 256 * 1024,
};

export function testModel(provider: ProviderKind, base_url: string, over: Partial<ModelConfig> = {}): ModelConfig {
  return { provider, model: provider === 'anthropic' ? 'claude-sonnet-4-5' : 'gpt-4o-mini', base_url, ...over, limits: { ...TEST_LIMITS, ...over.limits } };
}

export interface Collected {
  text: string;
  tool_calls: ToolCall[];
  usage: { input: number; output: number } | null;
  stop: StopReason | null;
  error: LlmError | null;
  events: StreamEvent[];
  /** Event types in order, with text deltas folded: ["text", "tool_call", "usage", "done"]. */
  shape: string[];
}

export async function collect(stream: AsyncIterable<StreamEvent>): Promise<Collected> {
  const out: Collected = { text: '', tool_calls: [], usage: null, stop: null, error: null, events: [], shape: [] };
  for await (const ev of stream) {
    out.events.push(ev);
    if (out.error || out.stop) throw new Error(`event after the final one: ${JSON.stringify(ev)}`);
    if (out.shape[out.shape.length - 1] !== ev.type || ev.type !== 'text') out.shape.push(ev.type);
    switch (ev.type) {
      case 'text':
        out.text += ev.delta;
        break;
      case 'tool_call':
        out.tool_calls.push(ev.call);
        break;
      case 'usage':
        if (out.usage) throw new Error('two usage events');
        out.usage = { input: ev.input, output: ev.output };
        break;
      case 'done':
        out.stop = ev.stop;
        break;
      case 'error':
        out.error = ev.error;
        break;
    }
  }
  if (!out.stop && !out.error) throw new Error('stream ended without done or error');
  return out;
}

export const signal = (): AbortSignal => new AbortController().signal;
