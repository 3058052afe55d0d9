// From stored history to a provider request: the system prompt with a short
// device context and the running summary, then the window of messages, repaired
// so every wire protocol accepts it (each tool call answered, no orphans, the
// first message from the user), with old tool results shortened.
import type { ChatMessage, ToolCall } from '../llm/types.ts';
import type { StoredMessage } from '../store/store.ts';

export interface DeviceContext {
  name: string;
  board: string;
  /** For the current time line; injectable for tests. */
  now: Date;
  timeZone?: string;
}

/** Rough token estimate: about 4 characters a token, plus per-message overhead. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

export function messageTokens(m: StoredMessage): number {
  return m.tokens || estimateTokens(m.content) + (m.tool_calls ? estimateTokens(JSON.stringify(m.tool_calls)) : 0);
}

export function systemPrompt(base: string, device: DeviceContext, summary: string | null): string {
  const when = device.now.toLocaleString('en-GB', { timeZone: device.timeZone, dateStyle: 'full', timeStyle: 'short' });
  const parts = [
    base.trim(),
    `You run on "${device.name}", a ${device.board} board. It is ${when} (${device.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone}).`,
  ];
  if (summary) parts.push(`Summary of the earlier conversation (facts from it still hold):\n${summary.trim()}`);
  return parts.filter(Boolean).join('\n\n');
}

/** How many of the newest user turns keep their tool results whole. */
const FULL_TOOL_TURNS = 2;
const SHORT_TOOL_CHARS = 300;

export function toChatMessages(stored: StoredMessage[]): ChatMessage[] {
  // Shorten tool results before the last FULL_TOOL_TURNS user messages.
  let userSeen = 0;
  let shortenBefore = -1;
  for (let i = stored.length - 1; i >= 0; i--) {
    if (stored[i]!.role === 'user' && ++userSeen === FULL_TOOL_TURNS) {
      shortenBefore = i;
      break;
    }
  }

  const out: ChatMessage[] = [];
  let pending: ToolCall[] = [];
  const answered = new Set<string>();
  const flushMissing = () => {
    for (const c of pending) {
      if (!answered.has(c.id)) out.push({ role: 'tool', tool_call_id: c.id, name: c.name, content: '(no result: the call was interrupted)', is_error: true });
    }
    pending = [];
    answered.clear();
  };

  stored.forEach((m, i) => {
    if (m.role === 'tool') {
      const call = pending.find((c) => c.id === m.tool_call_id);
      if (!call || answered.has(call.id)) return; // orphan: its call was compacted away
      answered.add(call.id);
      const content = i < shortenBefore && m.content.length > SHORT_TOOL_CHARS
        ? `${m.content.slice(0, SHORT_TOOL_CHARS)} [... shortened: ${m.content.length} characters in all]`
        : m.content;
      out.push({ role: 'tool', tool_call_id: call.id, name: call.name, content, is_error: m.is_error });
      return;
    }
    flushMissing();
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    else {
      out.push(m.tool_calls?.length ? { role: 'assistant', content: m.content, tool_calls: m.tool_calls } : { role: 'assistant', content: m.content });
      pending = m.tool_calls ?? [];
    }
  });
  flushMissing();

  // Providers want the conversation to open with the user.
  const first = out.findIndex((m) => m.role === 'user');
  return first <= 0 ? (first < 0 ? [] : out) : out.slice(first);
}
