// The request body of the OpenAI chat-completions wire protocol, as OpenAI,
// OpenRouter, Ollama, LM Studio and llama.cpp accept it.
import type { ChatMessage, LlmRequest, ModelConfig } from './types.ts';

type WireMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> }
  | { role: 'tool'; tool_call_id: string; content: string };

export function openAiBody(model: ModelConfig, req: LlmRequest): Record<string, unknown> {
  const messages: WireMessage[] = [];
  if (req.system) messages.push({ role: 'system', content: req.system });
  for (const m of req.messages) messages.push(toWire(m));

  const body: Record<string, unknown> = {
    model: model.model,
    messages,
    stream: true,
    // Without this, OpenAI sends no token counts in a stream; with it, one
    // last chunk with empty `choices` carries them. Servers that do not know
    // the option ignore it.
    stream_options: { include_usage: true },
  };
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
  }
  if (req.max_tokens !== undefined) {
    // OpenAI deprecated max_tokens and its reasoning models reject it; the
    // compatible servers (Ollama, LM Studio, OpenRouter) know only max_tokens.
    body[model.provider === 'openai' ? 'max_completion_tokens' : 'max_tokens'] = req.max_tokens;
  }
  if (req.temperature !== undefined) body.temperature = req.temperature;
  return body;
}

function toWire(m: ChatMessage): WireMessage {
  switch (m.role) {
    case 'user':
      return { role: 'user', content: m.content };
    case 'assistant': {
      // "" rather than null next to tool calls: OpenAI accepts both, some
      // compatible servers reject null.
      const out: WireMessage = { role: 'assistant', content: m.content };
      if (m.tool_calls?.length) {
        out.tool_calls = m.tool_calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
      }
      return out;
    }
    case 'tool':
      // The wire has no error flag for tool results; say it in the text so the
      // model does not take an error message for data.
      return { role: 'tool', tool_call_id: m.tool_call_id, content: m.is_error ? `Error: ${m.content}` : m.content };
  }
}
