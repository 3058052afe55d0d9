// A scripted OpenAI-compatible LLM for the fault suite: sse-replay's server,
// with the request read back as a conversation so a script can answer by what
// the agent asked (a compaction summary, a tool result to finish on, a user
// prompt naming a fault), and a log of every conversation it saw.
import { openaiTextStream, openaiToolCallStream, startReplayServer, type RecordedRequest, type ReplayServer, type Reply } from './sse-replay.ts';

export interface WireMessage {
  role: string;
  content?: string | null;
  tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface ChatView {
  /** A compaction request (aeon's summary instructions as the system prompt). */
  summary: boolean;
  system: string;
  messages: WireMessage[];
  last: WireMessage | undefined;
  /** Text of the newest user message. */
  lastUser: string;
  /** The tool names offered. */
  tools: string[];
  /** When the request arrived. */
  at: number;
  /** The Authorization header sent. */
  authorization: string | undefined;
}

export function chatView(req: RecordedRequest): ChatView {
  const body = (typeof req.body === 'object' && req.body ? req.body : {}) as { messages?: WireMessage[]; tools?: Array<{ function?: { name?: string } }> };
  const all = Array.isArray(body.messages) ? body.messages : [];
  const system = all[0]?.role === 'system' ? String(all[0].content ?? '') : '';
  const messages = all.filter((m) => m.role !== 'system');
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  return {
    summary: system.startsWith('You maintain the memory'),
    system,
    messages,
    last: messages[messages.length - 1],
    lastUser: String(lastUser?.content ?? ''),
    tools: (body.tools ?? []).map((t) => String(t.function?.name ?? '')),
    at: Date.now(),
    authorization: typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined,
  };
}

export interface ScriptedLlmServer extends ReplayServer {
  views: ChatView[];
}

/** A replay server whose every reply is decided from the conversation. */
export async function startScriptedLlm(decide: (v: ChatView, n: number) => Reply | Promise<Reply>): Promise<ScriptedLlmServer> {
  const views: ChatView[] = [];
  const srv = await startReplayServer({
    script: (req, n) => {
      const v = chatView(req);
      views.push(v);
      return decide(v, n);
    },
  });
  return Object.assign(srv, { views });
}

/** A streamed text answer, `gapMs` between its chunks. */
export function textReply(text: string, opts: { chunkChars?: number; gapMs?: number; seed?: number } = {}): Reply {
  return { body: openaiTextStream(text, { chunkChars: opts.chunkChars ?? 8 }), split: { seed: opts.seed ?? 1, max: 200 }, chunkDelayMs: opts.gapMs ?? 0 };
}

/** One tool call. */
export function toolReply(name: string, args: unknown, id = `call_${name}`): Reply {
  return { body: openaiToolCallStream([{ id, name, arguments: JSON.stringify(args) }]), split: 'none' };
}
