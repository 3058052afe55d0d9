// The Telegram dialog: turns updates into agent messages and answers.
// Per update: read it safely → is the bot addressed (private chat, mention,
// reply, command, group_mode "all")? → allowed? → rate limit → command, file or
// text → hand to the agent with a streaming reply. Updates of one chat are
// handled one after another (in order); chats are independent. Every update is
// settled exactly once in the cursor: when its message is persisted, or when it
// has been handled without becoming one.
import type { DialogDeps } from '../deps.ts';
import type { Dialog, DialogHealth, Inbound, OnMessage } from '../types.ts';
import { mentioned, quoteOf, repliedToMe, stripMention, type Me } from './addressing.ts';
import { isAllowed, RateLimiter, Recent, refusalText, type AccessLists } from './access.ts';
import { sleep, type TelegramClient } from './client.ts';
import { COMMANDS, parseCommand, runCommand } from './commands.ts';
import type { UpdateCursor } from './cursor.ts';
import { FileRefused, fileNote, pickFile, saveFile } from './files.ts';
import { Poller, type PollerOptions } from './poller.ts';
import { TelegramReply } from './reply.ts';
import type { Sender, Target } from './sender.ts';
import { readUpdate, senderName, unsupportedKind, updateId } from './update.ts';

export interface TelegramOptions {
  /** Minimum gap between streaming edits in one chat. */
  editIntervalMs?: number;
  typingEveryMs?: number;
  /** A refused person hears the refusal at most once per this period. */
  refusalPeriodMs?: number;
  /** How long `stop` waits for answers still being written. */
  stopWaitMs?: number;
  poll?: Partial<Omit<PollerOptions, 'timeoutS' | 'apiHost'>>;
  now?: () => number;
}

export interface TelegramParts {
  client: TelegramClient;
  cursor: UpdateCursor;
  sender: Sender;
}

export class TelegramDialog implements Dialog {
  readonly name = 'telegram';
  readonly #d: DialogDeps;
  readonly #p: TelegramParts;
  readonly #o: TelegramOptions;
  readonly #lists: AccessLists;
  readonly #refused: Recent;
  readonly #slowed: Recent;
  readonly #rate: RateLimiter;
  readonly #chains = new Map<string, Promise<void>>();
  readonly #active = new Set<TelegramReply>();
  #poller: Poller | undefined;
  #onMessage: OnMessage | undefined;
  #life: AbortController | undefined;
  #me: Me = {};
  #stopped = false;

  constructor(deps: DialogDeps, parts: TelegramParts, opts: TelegramOptions = {}) {
    const c = deps.config.dialogs.telegram;
    this.#d = deps;
    this.#p = parts;
    this.#o = opts;
    this.#lists = { users: new Set(c.allowed_users), chats: new Set(c.allowed_chats) };
    this.#refused = new Recent();
    this.#slowed = new Recent();
    this.#rate = new RateLimiter(c.rate_limit_per_minute);
    const botId = Number(c.bot_token?.split(':')[0]);
    if (Number.isSafeInteger(botId) && botId > 0) this.#me.id = botId;
  }

  /** The stop signal of the running dialog (for the message_send tool). */
  get signal(): AbortSignal | undefined {
    return this.#life?.signal;
  }

  async start(onMessage: OnMessage): Promise<void> {
    if (this.#poller || this.#stopped) return;
    const c = this.#d.config.dialogs.telegram;
    this.#onMessage = onMessage;
    this.#life = new AbortController();
    this.#p.cursor.load();
    const o = this.#o.poll ?? {};
    this.#poller = new Poller(
      { client: this.#p.client, cursor: this.#p.cursor, log: this.#d.log, count: this.#d.count, onUpdates: (u) => this.#onUpdates(u) },
      {
        timeoutS: c.poll_timeout_s,
        graceMs: o.graceMs ?? 10_000,
        backoffMs: o.backoffMs ?? 1000,
        backoffCapMs: o.backoffCapMs ?? 60_000,
        stallMs: o.stallMs ?? 3 * (c.poll_timeout_s * 1000 + 10_000),
        repollMs: o.repollMs ?? 1000,
        maxPending: o.maxPending ?? 100,
        apiHost: hostOf(c.api_root),
      },
    );
    this.#poller.start();
    void this.#setup(this.#life.signal);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#poller?.stop();
    const wait = this.#o.stopWaitMs ?? 3000;
    const deadline = Date.now() + wait;
    await Promise.race([Promise.allSettled([...this.#chains.values()]), sleep(wait)]);
    while (this.#active.size && Date.now() < deadline) await sleep(50);
    for (const r of this.#active) r.abandon();
    this.#active.clear();
    this.#life?.abort();
    await this.#p.client.close();
  }

  health(): DialogHealth {
    if (this.#stopped) return { ready: false, state: 'stopped', detail: 'the Telegram dialog is stopped' };
    if (!this.#poller) return { ready: false, state: 'stopped', detail: 'the Telegram dialog has not started' };
    const state = this.#poller.state;
    return { ready: state === 'connected', state, ...(this.#poller.detail && state !== 'connected' ? { detail: this.#poller.detail } : {}) };
  }

  /** getMe (for mentions), then the command menu. Retries getMe until it works; the menu failing is only logged. */
  async #setup(signal: AbortSignal): Promise<void> {
    const { client } = this.#p;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const me = await client.call('getMe', (s) => client.api.getMe(s), { signal });
        this.#me = { id: me.id, ...(me.username ? { username: me.username } : {}) };
        this.#d.log.info({ bot: me.username, id: me.id }, 'Telegram bot identified');
        break;
      } catch (err) {
        if (signal.aborted) return;
        this.#d.log.debug({ err: (err as Error).message }, 'getMe failed; retrying');
        await sleep(Math.min(300_000, 2000 * 2 ** Math.min(attempt, 8)), signal);
      }
    }
    if (signal.aborted) return;
    try {
      await client.call('setMyCommands', (s) => client.api.setMyCommands({ commands: COMMANDS.map((c) => ({ ...c })) }, s), { signal });
    } catch (err) {
      if (!signal.aborted) this.#d.log.warn({ err: (err as Error).message }, 'could not register the bot commands with setMyCommands (the menu in Telegram stays as it was)');
    }
  }

  /** A fetched batch: new updates are queued per chat; returns how many were new. */
  #onUpdates(updates: unknown[]): number {
    const ids: number[] = [];
    for (const u of updates) {
      const id = updateId(u);
      if (id === undefined) this.#d.log.warn('Telegram sent an update without update_id; ignored');
      else ids.push(id);
    }
    const fresh = this.#p.cursor.accept(ids);
    let n = 0;
    for (const u of updates) {
      const id = updateId(u);
      if (id === undefined || !fresh.has(id)) continue;
      fresh.delete(id); // a batch repeating an id is handled once
      n++;
      this.#d.count('telegram_updates_total');
      const chat = (u as { message?: { chat?: { id?: unknown } } }).message?.chat?.id;
      this.#chain(typeof chat === 'number' ? String(chat) : '-', () => this.#handle(u, id));
    }
    return n;
  }

  #chain(key: string, fn: () => Promise<void>): void {
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next: Promise<void> = prev.then(fn).finally(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    this.#chains.set(key, next);
  }

  /** Handles one update; settles it unless it went to the agent (which settles it on persist or final). */
  async #handle(u: unknown, id: number): Promise<void> {
    let handedOver = false;
    try {
      handedOver = await this.#route(u, id);
    } catch (err) {
      this.#d.log.error({ update_id: id, err: this.#p.client.scrub((err as Error).message ?? String(err)) }, 'handling a Telegram update failed');
    } finally {
      if (!handedOver) this.#p.cursor.settle(id);
    }
  }

  async #route(raw: unknown, id: number): Promise<boolean> {
    const log = this.#d.log;
    const cfg = this.#d.config.dialogs.telegram;
    const u = readUpdate(raw, id);
    if (u.kind === 'invalid') {
      log.warn({ update_id: id, reason: u.reason }, 'malformed Telegram update skipped');
      return false;
    }
    if (u.kind === 'member') {
      if (u.chat && u.chat.type !== 'private') {
        const allowed = this.#lists.chats.has(u.chat.id);
        log.info({ chat: u.chat.id, title: u.chat.title, status: u.status }, allowed ? 'bot membership changed in an allowed group' : `bot membership changed in group ${u.chat.id}, which is not in dialogs.telegram.allowed_chats`);
      }
      return false;
    }
    if (u.kind === 'other') {
      log.debug({ update_id: id, type: u.type }, 'Telegram update type not handled');
      return false;
    }
    const m = u.message;
    const from = m.from;
    const chat = m.chat;
    if (!from) {
      log.debug({ update_id: id }, 'message without sender (channel or anonymous admin) skipped');
      return false;
    }
    if (from.is_bot) return false;
    const group = chat.type === 'group' || chat.type === 'supergroup';
    if (!group && chat.type !== 'private') return false;
    const threadId = group && m.is_topic_message && m.message_thread_id !== undefined ? m.message_thread_id : undefined;
    const target: Target = { chatId: chat.id, ...(threadId !== undefined ? { threadId } : {}), ...(group ? { replyTo: m.message_id } : {}) };
    const sessionChat = threadId !== undefined ? `${chat.id}:${threadId}` : String(chat.id);
    const rawText = m.text ?? m.caption ?? '';
    const cmd = parseCommand(rawText, this.#me.username);
    if (cmd?.forOther) return false;

    // In a group, only our own commands, a mention or a reply address the bot (unless group_mode is "all").
    if (group && !cmd?.known && !mentioned(m, rawText, this.#me) && !repliedToMe(m, this.#me) && cfg.group_mode !== 'all') return false;

    const now = this.#now();
    if (!isAllowed(this.#lists, chat.id, from.id, group)) {
      this.#d.count('telegram_refused_total');
      log.info({ user: from.id, username: from.username, chat: chat.id, chat_type: chat.type }, group ? 'message from a group not in dialogs.telegram.allowed_chats refused' : 'message from a user not in dialogs.telegram.allowed_users refused');
      const key = group ? `c${chat.id}` : `u${from.id}`;
      if (this.#refused.due(key, this.#o.refusalPeriodMs ?? 3_600_000, now)) await this.#say(target, refusalText(chat.id, from.id, group));
      return false;
    }

    const wait = this.#rate.hit(String(from.id), now);
    if (wait) {
      this.#d.count('telegram_rate_limited_users_total');
      log.info({ user: from.id, chat: chat.id }, 'user over dialogs.telegram.rate_limit_per_minute');
      if (this.#slowed.due(String(from.id), 60_000, now)) {
        await this.#say(target, `Slow down, please: I take at most ${cfg.rate_limit_per_minute} messages a minute from one person. Try again in ${wait} s; messages sent before then are ignored.`);
      }
      return false;
    }

    const inbound: Inbound = { dialog: 'telegram', chat: sessionChat, text: '', user: String(from.id), ...(cfg.agent ? { agent: cfg.agent } : {}) };
    const session = this.#d.agent.sessionKey(inbound);

    if (cmd?.known) {
      const d = this.#d;
      await this.#say(target, await runCommand(cmd.name, session, { deviceName: d.config.device.name, agent: d.agent, store: d.store, status: () => d.status(), health: () => this.health() }));
      return false;
    }

    const kind = unsupportedKind(m);
    if (kind) {
      await this.#say(target, `${kind} are not supported yet. Please send text, a document or a photo.`);
      return false;
    }

    let text = stripMention(rawText, this.#me).trim();
    if (Buffer.byteLength(text) > this.#d.config.budget.max_message_bytes) {
      log.warn({ user: from.id, bytes: Buffer.byteLength(text) }, 'Telegram message over budget.max_message_bytes refused');
      await this.#say(target, `That message is too long for me (${Buffer.byteLength(text)} bytes; the limit on this device is ${this.#d.config.budget.max_message_bytes}). Please send it as a document, or in parts.`);
      return false;
    }

    const file = pickFile(m, cfg.max_file_bytes);
    if (file) {
      try {
        const saved = await saveFile(this.#p.client, file, this.#d.config.tools.workspace, chat.id, m.message_id, cfg.max_file_bytes, this.#life?.signal);
        log.info({ chat: chat.id, path: saved.rel, bytes: saved.bytes }, 'Telegram file saved');
        text = `${text ? `${text}\n\n` : ''}${fileNote(saved)}`;
      } catch (err) {
        if (err instanceof FileRefused) {
          log.info({ chat: chat.id, reason: err.message }, 'Telegram file refused');
          await this.#say(target, err.message);
        } else {
          log.warn({ chat: chat.id, err: (err as Error).message }, 'could not save a Telegram file');
          await this.#say(target, 'I could not download that file from Telegram. Please try again.');
        }
        return false;
      }
    }
    if (!text) {
      if (!group) await this.#say(target, 'This kind of message is not supported yet. Please send text, a document or a photo.');
      return false;
    }

    const quote = quoteOf(m, this.#me);
    if (quote) text = `${quote}\n\n${text}`;
    if (group) text = `${senderName(from)}: ${text}`;

    if (this.#p.cursor.maybeReplay(id) && this.#p.cursor.alreadyStored(id, session)) {
      log.info({ update_id: id, chat: chat.id }, 'Telegram update already stored before the restart; not answering it twice');
      return false;
    }

    const cursor = this.#p.cursor;
    const reply: TelegramReply = new TelegramReply(
      this.#p.sender,
      target,
      { stream: cfg.stream, editIntervalMs: this.#o.editIntervalMs ?? 1000, typingEveryMs: this.#o.typingEveryMs ?? 4500, signal: this.#life!.signal },
      log,
      () => {
        cursor.settle(id);
        this.#active.delete(reply);
      },
    );
    this.#active.add(reply);
    reply.start();
    inbound.text = text;
    inbound.meta = { telegram_update_id: id, telegram_message_id: m.message_id, telegram_chat_id: chat.id };
    inbound.onPersisted = () => cursor.settle(id);
    this.#onMessage!(inbound, reply);
    return true;
  }

  /** A short answer from the dialog itself (refusals, commands). Never throws. */
  async #say(target: Target, markdown: string): Promise<void> {
    try {
      await this.#p.sender.sendText(target, markdown, this.#life ? { signal: this.#life.signal } : {});
    } catch (err) {
      this.#d.log.warn({ chat: target.chatId, err: (err as Error).message }, 'could not send a Telegram reply');
    }
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
