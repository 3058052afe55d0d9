// The request body of Anthropic's Messages API. Differences from the OpenAI
// shape that matter here: the system prompt is a top-level field, tool calls
// are `tool_use` content blocks of the assistant, and tool results are
// `tool_result` blocks inside a *user* message (all results of one round in one
// message, before any text the user adds).
import type { ChatMessage, LlmRequest, ModelConfig } from './types.ts';

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };

interface WireMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

// The API requires max_tokens; used when the caller sets none.
const DEFAULT_MAX_TOKENS = 1024;

export function anthropicBody(model: ModelConfig, req: LlmRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: model.model,
    max_tokens: req.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages: toWire(req.messages),
    stream: true,
  };
  if (req.system) body.system = req.system;
  if (req.tools?.length) body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
  if (req.temperature !== undefined) body.temperature = req.temperature;
  return body;
}

function toWire(messages: ChatMessage[]): WireMessage[] {
  const out: WireMessage[] = [];
  for (const m of messages) {
    const last = out[out.length - 1];
    if (m.role === 'tool') {
      const block: Block = { type: 'tool_result', tool_use_id: m.tool_call_id, content: m.content };
      if (m.is_error) block.is_error = true;
      // Consecutive results of one round travel in one user message.
      if (last?.role === 'user' && last.content.every((b) => b.type === 'tool_result')) last.content.push(block);
      else out.push({ role: 'user', content: [block] });
    } else if (m.role === 'user') {
      if (!m.content) continue; // the API rejects empty text blocks
      const block: Block = { type: 'text', text: m.content };
      // Text right after tool results joins their message: the API wants roles to alternate.
      if (last?.role === 'user') last.content.push(block);
      else out.push({ role: 'user', content: [block] });
    } else {
      const content: Block[] = [];
      if (m.content) content.push({ type: 'text', text: m.content });
      for (const c of m.tool_calls ?? []) content.push({ type: 'tool_use', id: c.id, name: c.name, input: parseInput(c.arguments) });
      if (content.length) out.push({ role: 'assistant', content });
    }
  }
  return out;
}

// `input` must be a JSON object. Arguments a model once sent as broken JSON
// were already answered with an error result; an empty object keeps the
// history valid for the API.
function parseInput(args: string): unknown {
  try {
    const v: unknown = JSON.parse(args);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
