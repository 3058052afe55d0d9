import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemPrompt, toChatMessages } from '../../src/agent/prompt.ts';
import type { StoredMessage } from '../../src/store/store.ts';

let id = 0;
const m = (role: StoredMessage['role'], content: string, extra: Partial<StoredMessage> = {}): StoredMessage => ({
  id: ++id, session_key: 'k', role, content, created_at: 0, tokens: 0, compacted: false, ...extra,
});

describe('prompt building', () => {
  it('shortens tool results older than the last two user turns', () => {
    const big = 'x'.repeat(2000);
    const msgs = toChatMessages([
      m('user', 'one'),
      m('assistant', '', { tool_calls: [{ id: 'a', name: 'file_read', arguments: '{}' }] }),
      m('tool', big, { tool_call_id: 'a', name: 'file_read' }),
      m('assistant', 'done'),
      m('user', 'two'),
      m('assistant', '', { tool_calls: [{ id: 'b', name: 'file_read', arguments: '{}' }] }),
      m('tool', big, { tool_call_id: 'b', name: 'file_read' }),
      m('assistant', 'done'),
      m('user', 'three'),
    ]);
    const tools = msgs.filter((x) => x.role === 'tool') as Array<{ content: string }>;
    assert.ok(tools[0]!.content.length < 400 && tools[0]!.content.includes('shortened: 2000 characters'));
    assert.equal(tools[1]!.content, big, 'recent tool results stay whole');
  });

  it('drops orphan tool results and a leading non-user message after a cut', () => {
    const msgs = toChatMessages([
      m('tool', 'orphan', { tool_call_id: 'gone', name: 'x' }),
      m('assistant', 'half of an old answer'),
      m('user', 'hello'),
    ]);
    assert.deepEqual(msgs, [{ role: 'user', content: 'hello' }]);
  });

  it('answers every tool call, in order, even when results are missing', () => {
    const msgs = toChatMessages([
      m('user', 'go'),
      m('assistant', '', { tool_calls: [{ id: 'a', name: 't', arguments: '{}' }, { id: 'b', name: 't', arguments: '{}' }] }),
      m('tool', 'A', { tool_call_id: 'a', name: 't' }),
      m('user', 'again'),
    ]);
    assert.deepEqual(msgs.map((x) => (x.role === 'tool' ? `tool:${x.tool_call_id}` : x.role)), ['user', 'assistant', 'tool:a', 'tool:b', 'user']);
  });

  it('puts device context and the summary in the system prompt', () => {
    const s = systemPrompt('Be brief.', { name: 'kitchen-pi', board: 'pi-zero-2w', now: new Date('2026-11-21T07:30:00Z'), timeZone: 'Europe/Berlin' }, 'They have a cat called Miso.');
    assert.match(s, /^Be brief\./);
    assert.match(s, /"kitchen-pi", a pi-zero-2w board/);
    assert.match(s, /08:30/);
    assert.match(s, /cat called Miso/);
  });
});
