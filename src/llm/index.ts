// The LLM layer's front door: models as plain data from an agent's config, a
// provider per wire protocol, and the fallback/retry router over them.
import type { AgentConfig, BoardBudget, ModelRef } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { LlmProvider, ModelConfig, ProviderKind, TransportLimits, WireProtocol } from './types.ts';
import { anthropicMessages } from './anthropic-messages.ts';
import { openAiCompletions } from './openai-completions.ts';
import { createRouter, type RouterOptions } from './router.ts';

export type * from './types.ts';
export { createRouter, type RouterOptions } from './router.ts';
export { costOf, priceOf, type Price } from './prices.ts';
export { closeSharedAgents } from './http-agent.ts';

export { DEFAULT_BASE_URL } from './defaults.ts';
import { DEFAULT_BASE_URL } from './defaults.ts';

export function wireProtocol(provider: ProviderKind): WireProtocol {
  return provider === 'anthropic' ? 'anthropic-messages' : 'openai-completions';
}

/** A provider for one model, chosen by its wire protocol. */
export function createProvider(model: ModelConfig): LlmProvider {
  return wireProtocol(model.provider) === 'anthropic-messages' ? anthropicMessages(model) : openAiCompletions(model);
}

/**
 * The agent's model chain as data: the agent's own model, then its fallbacks.
 * A fallback takes missing fields from the agent, except that the agent's
 * base_url, api_key and headers are inherited only by a fallback of the same
 * provider: a fallback to the LAN Ollama must not receive the OpenAI key. Price
 * is never inherited (it belongs to a model). Limits come from
 * `agent.timeouts` (seconds become milliseconds) and the board's SSE buffer.
 */
export function modelsFor(agent: AgentConfig, budget: Pick<BoardBudget, 'sse_buffer_bytes'>): ModelConfig[] {
  const t = agent.timeouts;
  const limits: TransportLimits = {
    connect_timeout_ms: t.connect_s * 1000,
    first_byte_timeout_ms: t.first_byte_s * 1000,
    idle_timeout_ms: t.idle_s * 1000,
    max_response_bytes: t.max_response_bytes,
    max_event_bytes: budget.sse_buffer_bytes,
  };
  const chain: ModelRef[] = [agent, ...agent.fallbacks];
  return chain.map((ref, i) => {
    const provider = ref.provider ?? agent.provider;
    const inherit = i > 0 && provider === agent.provider;
    const api_key = ref.api_key ?? (inherit ? agent.api_key : undefined);
    const headers = ref.headers ?? (inherit ? agent.headers : undefined);
    const m: ModelConfig = {
      provider,
      model: ref.model,
      base_url: ref.base_url ?? (inherit ? agent.base_url : undefined) ?? DEFAULT_BASE_URL[provider],
      limits: { ...limits },
    };
    if (api_key) m.api_key = api_key;
    if (headers) m.headers = { ...headers };
    if (ref.price) m.price = { ...ref.price };
    return m;
  });
}

/** Everything an agent needs to talk to its models: one router over its chain. */
export function createLlm(
  agent: AgentConfig,
  budget: Pick<BoardBudget, 'sse_buffer_bytes'>,
  opts: { log?: Logger } & Pick<RouterOptions, 'sleep' | 'random'> = {},
): LlmProvider {
  const providers = modelsFor(agent, budget).map(createProvider);
  return createRouter(providers, { retries: agent.retries, ...opts });
}
