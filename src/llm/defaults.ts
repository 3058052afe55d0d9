// Plain data shared by the LLM layer and `aeon doctor` (which must not load the providers).
import type { ProviderKind } from './types.ts';

/**
 * Where each provider listens when the config names none. `openai-compatible`
 * defaults to llama.cpp's server on this machine, the most common one on a board.
 */
export const DEFAULT_BASE_URL: Readonly<Record<ProviderKind, string>> = {
  openai: 'https://api.openai.com/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  ollama: 'http://127.0.0.1:11434/v1',
  lmstudio: 'http://127.0.0.1:1234/v1',
  'openai-compatible': 'http://127.0.0.1:8080/v1',
  anthropic: 'https://api.anthropic.com',
};
