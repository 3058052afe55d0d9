// Sending and editing formatted text. Each piece goes out as Telegram HTML
// rendered from the model's markdown; when Telegram rejects the formatting
// (400 "can't parse entities") the same piece is sent again as plain text.
// Remembers the last write per chat so streaming edits stay near Telegram's
// one-message-per-second-per-chat limit.
import type { Logger } from '../../log.ts';
import { TelegramError, type TelegramClient } from './client.ts';
import { markdownToHtml } from './markdown.ts';
import { splitMarkdown } from './split.ts';

export interface Target {
  chatId: number;
  /** Forum topic (message_thread_id). */
  threadId?: number;
  /** Message to answer (groups: makes clear whom the bot answers). */
  replyTo?: number;
}

export interface Piece {
  id: number;
  /** The markdown last written into the message. */
  src: string;
  plain: boolean;
}

export interface WriteOptions {
  signal?: AbortSignal;
  /** Write unformatted. */
  plain?: boolean;
  /** Longest 429 wait to sit through (0: give up at once, for edits that a later one supersedes). */
  maxRetryAfterMs?: number;
}

const PARSE_ERROR = /can't parse|unsupported start tag|can't find end/i;
const NOT_MODIFIED = /message is not modified/i;
const GONE = /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i;

export class Sender {
  readonly #client: TelegramClient;
  readonly #log: Logger;
  readonly #count: (name: string, labels?: Record<string, string>, n?: number) => void;
  readonly #lastWrite = new Map<string, number>();

  constructor(client: TelegramClient, log: Logger, count: (name: string, labels?: Record<string, string>, n?: number) => void) {
    this.#client = client;
    this.#log = log;
    this.#count = count;
  }

  /** Earliest time the next optional write (a streaming edit) to this chat should happen. */
  nextWriteAt(chatId: number, intervalMs: number): number {
    const last = this.#lastWrite.get(String(chatId)) ?? 0;
    return Math.max(last + intervalMs, Date.now() + this.#client.pausedFor(String(chatId)));
  }

  async send(t: Target, src: string, o: WriteOptions = {}): Promise<Piece> {
    const chat = String(t.chatId);
    const base = {
      chat_id: t.chatId,
      ...(t.threadId !== undefined ? { message_thread_id: t.threadId } : {}),
      ...(t.replyTo !== undefined ? { reply_parameters: { message_id: t.replyTo, allow_sending_without_reply: true } } : {}),
      link_preview_options: { is_disabled: true },
    };
    const attempt = (plain: boolean) =>
      this.#client.call(
        'sendMessage',
        (signal) => this.#client.api.sendMessage({ ...base, ...(plain ? { text: src } : { text: markdownToHtml(src), parse_mode: 'HTML' }) }, signal),
        this.#callOpts(chat, o),
      );
    const { result, plain } = await this.#withFallback(attempt, o.plain ?? false, t.chatId);
    this.#wrote(chat);
    this.#count('telegram_messages_sent_total');
    const id = (result as { message_id?: unknown } | null)?.message_id;
    if (typeof id !== 'number') throw new TelegramError('sendMessage', 0, 'answer has no message_id');
    return { id, src, plain };
  }

  /** Replaces a piece's text; sends a new message when the old one is gone. */
  async edit(t: Target, piece: Piece, src: string, o: WriteOptions = {}): Promise<Piece> {
    if (piece.src === src && piece.plain === (o.plain ?? piece.plain)) return piece;
    const chat = String(t.chatId);
    const attempt = (plain: boolean) =>
      this.#client.call(
        'editMessageText',
        (signal) =>
          this.#client.api.editMessageText(
            { chat_id: t.chatId, message_id: piece.id, link_preview_options: { is_disabled: true }, ...(plain ? { text: src } : { text: markdownToHtml(src), parse_mode: 'HTML' }) },
            signal,
          ),
        this.#callOpts(chat, o),
      );
    try {
      const { plain } = await this.#withFallback(attempt, o.plain ?? false, t.chatId);
      this.#wrote(chat);
      this.#count('telegram_edits_total');
      return { id: piece.id, src, plain };
    } catch (err) {
      if (err instanceof TelegramError && err.code === 400 && NOT_MODIFIED.test(err.description)) return { ...piece, src };
      if (err instanceof TelegramError && err.code === 400 && GONE.test(err.description)) {
        this.#log.debug({ chat, message_id: piece.id }, 'message to edit is gone; sending a new one');
        return this.send({ chatId: t.chatId, ...(t.threadId !== undefined ? { threadId: t.threadId } : {}) }, src, o);
      }
      throw err;
    }
  }

  /** Sends a whole markdown text, split as needed. Returns how many messages went out. */
  async sendText(t: Target, markdown: string, o: WriteOptions = {}): Promise<number> {
    let n = 0;
    let plain = o.plain ?? false;
    for (const piece of splitMarkdown(markdown)) {
      const sent = await this.send(n === 0 ? t : { ...t, replyTo: undefined } as Target, piece, { ...o, plain });
      plain = sent.plain;
      n++;
    }
    return n;
  }

  async remove(t: Target, id: number, signal?: AbortSignal): Promise<void> {
    await this.#client.call('deleteMessage', (s) => this.#client.api.deleteMessage({ chat_id: t.chatId, message_id: id }, s), { chat: String(t.chatId), ...(signal ? { signal } : {}) });
  }

  /** "typing…" for a few seconds. Never throws, never waits out a 429. */
  async typing(t: Target, signal?: AbortSignal): Promise<void> {
    try {
      await this.#client.call(
        'sendChatAction',
        (s) => this.#client.api.sendChatAction({ chat_id: t.chatId, action: 'typing', ...(t.threadId !== undefined ? { message_thread_id: t.threadId } : {}) }, s),
        { chat: String(t.chatId), maxRetryAfterMs: 0, ...(signal ? { signal } : {}) },
      );
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'sendChatAction failed');
    }
  }

  async #withFallback<T>(attempt: (plain: boolean) => Promise<T>, plain: boolean, chatId: number): Promise<{ result: T; plain: boolean }> {
    if (plain) return { result: await attempt(true), plain: true };
    try {
      return { result: await attempt(false), plain: false };
    } catch (err) {
      if (!(err instanceof TelegramError) || err.code !== 400 || !PARSE_ERROR.test(err.description) || NOT_MODIFIED.test(err.description)) throw err;
      this.#count('telegram_format_fallbacks_total');
      this.#log.warn({ chat: chatId, reason: err.description }, 'Telegram rejected the formatting; sending plain text');
      return { result: await attempt(true), plain: true };
    }
  }

  #callOpts(chat: string, o: WriteOptions) {
    return { chat, ...(o.signal ? { signal: o.signal } : {}), ...(o.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: o.maxRetryAfterMs } : {}) };
  }

  #wrote(chat: string): void {
    this.#lastWrite.delete(chat);
    this.#lastWrite.set(chat, Date.now());
    if (this.#lastWrite.size > 1000) this.#lastWrite.delete(this.#lastWrite.keys().next().value!);
  }
}
