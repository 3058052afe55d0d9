// An LlmChain that plays scripted streams, for agent tests without a network.
// Each call to stream() takes the next script; a script is a list of events or
// a function of the request (to assert on what the agent sent).
import type { LlmChain } from '../../src/agent/turn.ts';
import type { LlmRequest, StreamEvent } from '../../src/llm/types.ts';

export type Script = StreamEvent[] | ((req: LlmRequest, signal: AbortSignal) => AsyncIterable<StreamEvent> | StreamEvent[]);

/** Answers compaction requests (recognised by their system prompt) instead of taking a script. */
export type Summariser = (req: LlmRequest) => StreamEvent[];

export const isSummaryRequest = (req: LlmRequest) => req.system.startsWith('You maintain the memory');

export class ScriptedLlm implements LlmChain {
  readonly label = 'test/scripted';
  readonly model = 'scripted';
  readonly requests: LlmRequest[] = [];
  readonly #scripts: Script[];
  summariser: Summariser | undefined;

  constructor(scripts: Script[], summariser?: Summariser) {
    this.#scripts = [...scripts];
    this.summariser = summariser;
  }

  push(...s: Script[]): void {
    this.#scripts.push(...s);
  }

  async *stream(req: LlmRequest, signal: AbortSignal): AsyncIterable<StreamEvent> {
    this.requests.push(structuredClone(req));
    const script = this.summariser && isSummaryRequest(req) ? this.summariser(req) : this.#scripts.shift();
    if (!script) {
      yield { type: 'error', error: { kind: 'server', retryable: false, message: 'no script left' } };
      return;
    }
    const events = typeof script === 'function' ? script(req, signal) : script;
    for await (const ev of events as AsyncIterable<StreamEvent>) {
      if (signal.aborted) {
        yield { type: 'error', error: { kind: 'aborted', retryable: false, message: 'The request was cancelled.' } };
        return;
      }
      yield ev;
    }
  }
}

export const text = (s: string, usage = { input: 10, output: 5 }): StreamEvent[] => [
  ...s.split(/(?<= )/).map((delta) => ({ type: 'text', delta }) as StreamEvent),
  { type: 'usage', ...usage, model: 'test/scripted', cost_usd: 0.001 },
  { type: 'done', stop: 'end' },
];

export const toolCall = (id: string, name: string, args: object): StreamEvent[] => [
  { type: 'tool_call', call: { id, name, arguments: JSON.stringify(args) } },
  { type: 'usage', input: 10, output: 5, model: 'test/scripted', cost_usd: 0.001 },
  { type: 'done', stop: 'tool_use' },
];

/** A stream that yields some text, then waits until aborted. */
export function hang(prefix: string): Script {
  return async function* (_req, signal) {
    yield { type: 'text', delta: prefix } as StreamEvent;
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    yield { type: 'error', error: { kind: 'aborted', retryable: false, message: 'The request was cancelled.' } } as StreamEvent;
  };
}
