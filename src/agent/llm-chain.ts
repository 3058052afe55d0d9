// An agent's model chain from its config: the primary model and its fallbacks,
// each a provider for its wire protocol, behind one router (retries, fallback).
import type { AgentConfig, BoardBudget } from '../config/types.ts';
import { createLlm } from '../llm/index.ts';
import type { Logger } from '../log.ts';
import type { LlmChain } from './turn.ts';

export function createLlmChain(agent: AgentConfig, budget: BoardBudget, log: Logger): LlmChain {
  const p = createLlm(agent, budget, { log });
  return { label: p.id, model: agent.model, stream: (req, signal) => p.stream(req, signal) };
}
