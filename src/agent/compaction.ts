// Session compaction: when a session's prompt nears the model's window (or the
// stored window is full), the oldest turns are summarised by the model into the
// session's summary, and those rows are marked or deleted. If summarising fails
// the rows are trimmed instead: a turn never fails because of compaction.
import type { ChatMessage, LlmRequest, StreamEvent } from '../llm/types.ts';
import type { Logger } from '../log.ts';
import type { Store, StoredMessage } from '../store/store.ts';
import { estimateTokens, messageTokens } from './prompt.ts';

export interface CompactionSettings {
  enabled: boolean;
  /** Fraction of the context window at which to compact. */
  threshold: number;
  keep_recent: number;
  mode: 'mark' | 'delete';
  context_tokens: number;
  /** Tokens reserved for the answer. */
  reserve_tokens: number;
  /** The stored window size: a full window is compacted too. */
  window_messages: number;
}

export type Summarise = (req: LlmRequest, signal: AbortSignal) => AsyncIterable<StreamEvent>;

export interface CompactionResult {
  compacted: number;
  /** `summary` when the model summarised, `trim` when it failed and rows were dropped. */
  how: 'summary' | 'trim' | 'none';
}

/** True when the prompt built from these parts would pass the threshold. */
export function needsCompaction(s: CompactionSettings, systemTokens: number, summary: string | null, window: StoredMessage[]): boolean {
  if (!s.enabled) return false;
  if (window.length >= s.window_messages) return true;
  const total = systemTokens + (summary ? estimateTokens(summary) : 0) + window.reduce((n, m) => n + messageTokens(m), 0);
  return total > s.threshold * s.context_tokens - s.reserve_tokens;
}

/**
 * Picks the oldest messages to fold: all but the newest `keep_recent`, cut so the
 * kept part starts at a user message (a tool call is never separated from its result).
 */
export function pickFoldable(window: StoredMessage[], keepRecent: number): StoredMessage[] {
  let cut = Math.max(0, window.length - keepRecent);
  while (cut > 0 && window[cut] && window[cut]!.role !== 'user') cut--;
  return window.slice(0, cut);
}

const SUMMARY_INSTRUCTIONS = `You maintain the memory of a conversation between a person and their home assistant device.
Write a concise summary of the conversation below, merged with the previous summary if there is one.
Keep every fact that may matter later: names, preferences, numbers, dates, decisions, devices and their states, open tasks.
Write plain sentences or short bullet points, no preamble.`;

export async function compact(opts: {
  store: Store;
  session: string;
  summary: string | null;
  fold: StoredMessage[];
  settings: CompactionSettings;
  model: string;
  summarise: Summarise;
  signal: AbortSignal;
  log: Logger;
}): Promise<CompactionResult> {
  const { fold, store, session, settings, log } = opts;
  if (fold.length === 0) return { compacted: 0, how: 'none' };
  const through = fold[fold.length - 1]!.id;
  const transcript = fold
    .map((m) => `${m.role === 'tool' ? `tool ${m.name ?? ''} result` : m.role}: ${clip(m.content, 2000)}${m.tool_calls?.length ? ` [called ${m.tool_calls.map((c) => c.name).join(', ')}]` : ''}`)
    .join('\n');
  const messages: ChatMessage[] = [
    { role: 'user', content: `${opts.summary ? `Previous summary:\n${opts.summary}\n\n` : ''}Conversation to fold in:\n${transcript}` },
  ];
  let text = '';
  let failure: string | undefined;
  try {
    for await (const ev of opts.summarise({ model: opts.model, system: SUMMARY_INSTRUCTIONS, messages, max_tokens: 512 }, opts.signal)) {
      if (ev.type === 'text') text += ev.delta;
      else if (ev.type === 'error') failure = ev.error.message;
      if (text.length > 16_000) break; // a summary is short; do not let a runaway answer grow
    }
  } catch (err) {
    failure = (err as Error).message;
  }
  if (!failure && text.trim()) {
    store.setSummary(session, text.trim(), through, settings.mode);
    log.info({ session, folded: fold.length, through }, 'session compacted into summary');
    return { compacted: fold.length, how: 'summary' };
  }
  store.trimThrough(session, through);
  log.warn({ session, dropped: fold.length, reason: failure ?? 'empty summary' }, 'summarising failed; trimmed the oldest messages instead');
  return { compacted: fold.length, how: 'trim' };
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
