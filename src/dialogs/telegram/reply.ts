// One answer on its way to a chat: the ReplySink the agent writes into.
// Streaming: the first text goes out at once as a new message, then that
// message is edited at most once per `editIntervalMs` per chat (one write per
// step); when the answer outgrows a message, the next piece starts a new one.
// `final` then writes the whole answer, every piece, without throttling (429s
// are waited out). Without streaming only `final` writes. "typing…" shows while
// the agent thinks or runs tools.
import type { Logger } from '../../log.ts';
import type { ReplySink, TurnPhase, TurnResult } from '../types.ts';
import { sleep } from './client.ts';
import type { Piece, Sender, Target } from './sender.ts';
import { splitMarkdown } from './split.ts';

export interface ReplyOptions {
  stream: boolean;
  editIntervalMs: number;
  typingEveryMs: number;
  /** Aborted when the dialog stops. */
  signal: AbortSignal;
}

/** Typing is refreshed at most this long (a turn has its own timeout; this only bounds a lost final). */
const TYPING_MAX_MS = 15 * 60_000;
/**
 * How long a finished answer keeps trying to reach a Telegram that is down or
 * failing. The client's own retries cover seconds; outages last minutes, and
 * the update is already confirmed, so giving up early means silence.
 */
const DELIVER_FOR_MS = 5 * 60_000;

export class TelegramReply implements ReplySink {
  readonly #sender: Sender;
  readonly #target: Target;
  readonly #o: ReplyOptions;
  readonly #log: Logger;
  readonly #onDone: () => void;
  #text = '';
  #pieces: Piece[] = [];
  #plain = false;
  #finished = false;
  #failed = false;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #typing: NodeJS.Timeout | undefined;
  #typingSince = 0;

  constructor(sender: Sender, target: Target, opts: ReplyOptions, log: Logger, onDone: () => void) {
    this.#sender = sender;
    this.#target = target;
    this.#o = opts;
    this.#log = log;
    this.#onDone = onDone;
  }

  /** The message was accepted: show "typing…" until text arrives. */
  start(): void {
    this.#startTyping();
  }

  phase(phase: TurnPhase): void {
    if (this.#finished) return;
    if (phase === 'thinking' || phase === 'tool') this.#startTyping();
    else this.#stopTyping();
  }

  delta(text: string): void {
    if (this.#finished || !text) return;
    this.#text += text;
    if (!this.#o.stream) return;
    this.#stopTyping();
    this.#kick();
  }

  final(result: TurnResult): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopTyping();
    clearTimeout(this.#timer);
    const text = compose(result, this.#text);
    void (async () => {
      try {
        await this.#writing;
        await this.#deliver(text);
      } catch (err) {
        this.#log.error({ chat: this.#target.chatId, err: (err as Error).message }, 'could not deliver the answer to Telegram');
      } finally {
        this.#onDone();
      }
    })();
  }

  /** The dialog is stopping: no more writes. */
  abandon(): void {
    this.#finished = true;
    this.#stopTyping();
    clearTimeout(this.#timer);
  }

  /** Schedules the next streaming step, unless one is pending or running. */
  #kick(): void {
    if (this.#finished || this.#failed || this.#timer || this.#writing) return;
    const pieces = splitMarkdown(this.#text);
    if (!this.#firstDifference(pieces)) return;
    const wait = this.#pieces.length === 0 ? 0 : Math.max(0, this.#sender.nextWriteAt(this.#target.chatId, this.#o.editIntervalMs) - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#finished) return;
      this.#writing = this.#step().finally(() => {
        this.#writing = undefined;
        this.#kick();
      });
    }, wait);
  }

  /** One streaming write: the first piece that differs from what the chat shows. */
  async #step(): Promise<void> {
    const pieces = splitMarkdown(this.#text);
    const diff = this.#firstDifference(pieces);
    if (!diff) return;
    try {
      await this.#write(diff.index, diff.src, 0);
    } catch (err) {
      // A streaming step may fail (429 without waiting, a network blip): `final` writes everything anyway.
      this.#log.debug({ chat: this.#target.chatId, err: (err as Error).message }, 'streaming edit skipped');
      if (!isTransient(err)) this.#failed = true;
    }
  }

  /** `#finish`, again with backoff while Telegram is unreachable (network, 5xx, 429), up to DELIVER_FOR_MS. */
  async #deliver(text: string): Promise<void> {
    const until = Date.now() + DELIVER_FOR_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#finish(text);
      } catch (err) {
        const wait = Math.min(30_000, 2000 * 2 ** attempt);
        if (!isTransient(err) || this.#o.signal.aborted || Date.now() + wait > until) throw err;
        if (attempt === 0) this.#log.warn({ chat: this.#target.chatId, err: (err as Error).message }, 'Telegram is unreachable; the answer is sent once it is back');
        await sleep(wait, this.#o.signal);
      }
    }
  }

  async #finish(text: string): Promise<void> {
    const pieces = text.trim() ? splitMarkdown(text) : [];
    for (let i = 0; i < pieces.length; i++) await this.#write(i, pieces[i]!, undefined);
    // The answer got shorter than what was streamed: drop the leftovers.
    for (const extra of this.#pieces.splice(pieces.length)) {
      await this.#sender.remove(this.#target, extra.id, this.#o.signal).catch(() => {});
    }
  }

  async #write(index: number, src: string, maxRetryAfterMs: number | undefined): Promise<void> {
    const o = { signal: this.#o.signal, plain: this.#plain, ...(maxRetryAfterMs !== undefined ? { maxRetryAfterMs } : {}) };
    const old = this.#pieces[index];
    if (old && old.src === src && old.plain === this.#plain) return;
    const target = index === 0 ? this.#target : dropReply(this.#target);
    const piece = old ? await this.#sender.edit(target, old, src, o) : await this.#sender.send(target, src, o);
    if (piece.plain) this.#plain = true; // formatting was refused once: stay plain for this answer
    this.#pieces[index] = piece;
  }

  #firstDifference(pieces: string[]): { index: number; src: string } | undefined {
    for (let i = 0; i < pieces.length; i++) {
      if (this.#pieces[i]?.src !== pieces[i]) return { index: i, src: pieces[i]! };
    }
    return undefined;
  }

  #startTyping(): void {
    if (this.#typing || this.#finished) return;
    this.#typingSince = Date.now();
    const ping = () => {
      if (this.#finished || Date.now() - this.#typingSince > TYPING_MAX_MS) return this.#stopTyping();
      void this.#sender.typing(this.#target, this.#o.signal);
    };
    ping();
    this.#typing = setInterval(ping, this.#o.typingEveryMs);
    this.#typing.unref();
  }

  #stopTyping(): void {
    clearInterval(this.#typing);
    this.#typing = undefined;
  }
}

/** The text to leave in the chat for a finished turn. */
export function compose(result: TurnResult, streamed: string): string {
  const text = result.text || streamed;
  if (result.error) {
    if (result.error.code === 'cancelled') return text.trim() ? `${text}\n\n_(stopped)_` : '';
    const note = `⚠️ ${result.error.message}`;
    return text.trim() ? `${text}\n\n${note}` : note;
  }
  return text.trim() ? text : '_(empty answer)_';
}

function dropReply(t: Target): Target {
  return { chatId: t.chatId, ...(t.threadId !== undefined ? { threadId: t.threadId } : {}) };
}

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 0 || code === 429 || (typeof code === 'number' && code >= 500);
}
