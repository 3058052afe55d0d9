// Test bench for the Telegram dialog: the telegram-test-api emulator on a free
// loopback port, the fault/extension proxy in front of it (the dialog's
// api_root), people who write to the bot, and a config built by the real
// loader.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import emulatorModule from 'telegram-test-api';
import type { TelegramServer as Emulator } from 'telegram-test-api/lib/telegramServer.js';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import type { Logger } from '../../src/log.ts';
import { Secrets } from '../../src/util/secrets.ts';
import { TelegramProxy } from './telegram-proxy.ts';

export const TOKEN = '123456789:AAH-test_token_for_the_emulator_0123456';

// The package is CommonJS whose module.exports is the class itself.
const TelegramServer = emulatorModule as unknown as typeof Emulator;

export interface Person {
  userId: number;
  chatId: number;
  /** Sends a text message (or any message fields) as this person. */
  say(text: string, extra?: Record<string, unknown>): Promise<void>;
}

export interface BotMessage {
  message_id: number;
  chat_id: number;
  text: string;
  parse_mode?: string;
  message_thread_id?: number;
  time: number;
}

export class TelegramBench {
  readonly dir: string;
  readonly emulator: Emulator;
  readonly proxy: TelegramProxy;
  readonly logLines: string[] = [];
  readonly secrets = new Secrets();

  private constructor(dir: string, emulator: Emulator, proxy: TelegramProxy) {
    this.dir = dir;
    this.emulator = emulator;
    this.proxy = proxy;
    this.secrets.add(TOKEN);
  }

  static async start(): Promise<TelegramBench> {
    let emulator: Emulator | undefined;
    for (let attempt = 0; !emulator; attempt++) {
      // The emulator takes a fixed port: pick a free one; retry if another test took it meanwhile.
      const candidate = new TelegramServer({ port: await freePort(), host: '127.0.0.1', storeTimeout: 3600 });
      try {
        await candidate.start();
        emulator = candidate;
      } catch (err) {
        if (attempt >= 4) throw err;
      }
    }
    const proxy = new TelegramProxy(emulator.config.apiURL, TOKEN);
    await proxy.start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-tg-'));
    return new TelegramBench(dir, emulator, proxy);
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await this.emulator.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  get apiRoot(): string {
    return this.proxy.url;
  }

  /** A person in a private chat (chat id = user id), or in a group when `chatId`/`type` are given. */
  person(userId: number, opts: { chatId?: number; type?: 'private' | 'group' | 'supergroup'; firstName?: string; userName?: string } = {}): Person {
    const chatId = opts.chatId ?? userId;
    const client = this.emulator.getClient(TOKEN, {
      userId,
      chatId,
      type: opts.type ?? (chatId === userId ? 'private' : 'group'),
      firstName: opts.firstName ?? `User${userId}`,
      userName: opts.userName ?? `user${userId}`,
    });
    return {
      userId,
      chatId,
      say: async (text, extra = {}) => {
        await client.sendMessage(client.makeMessage(text, extra as never));
      },
    };
  }

  /** What the bot has sent to a chat, oldest first, with edits applied. */
  messages(chatId: number): BotMessage[] {
    return this.emulator.storage.botMessages
      .filter((m) => String((m.message as { chat_id?: unknown }).chat_id) === String(chatId))
      .map((m) => {
        const msg = m.message as Record<string, unknown>;
        return {
          message_id: m.messageId,
          chat_id: Number(msg.chat_id),
          text: String(msg.text ?? ''),
          ...(msg.parse_mode ? { parse_mode: String(msg.parse_mode) } : {}),
          ...(msg.message_thread_id !== undefined ? { message_thread_id: Number(msg.message_thread_id) } : {}),
          time: m.time,
        };
      });
  }

  /** A logger whose lines (after secret scrubbing, as in production) land in `logLines`. */
  logger(level: 'debug' | 'info' = 'debug'): Logger {
    const lines = this.logLines;
    const secrets = this.secrets;
    const dest = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    return pino({ level, base: undefined, hooks: { streamWrite: (s) => secrets.scrub(s) } }, dest);
  }

  /** A full config through the real loader: the bot points at the proxy. */
  config(telegram: Record<string, unknown> = {}, extra: { budget?: Record<string, unknown>; tools?: Record<string, unknown>; agents?: Record<string, unknown> } = {}): Config {
    const raw = {
      device: { id: 'test', name: 'testbox', board: 'x64', data_dir: this.dir },
      log: { level: 'silent' },
      server: { enabled: false },
      agents: extra.agents ?? { main: { provider: 'openai-compatible', model: 'test-model', base_url: 'http://127.0.0.1:9/v1' } },
      dialogs: {
        cli: { enabled: false },
        telegram: { enabled: true, bot_token: TOKEN, api_root: this.apiRoot, allowed_users: [111], poll_timeout_s: 2, ...telegram },
        mqtt: { enabled: false },
      },
      storage: { sessions_db: 'aeon.db' },
      tools: { workspace: 'workspace', ...extra.tools },
      ...(extra.budget ? { budget: extra.budget } : {}),
    };
    return parseConfig(JSON.stringify(raw), path.join(this.dir, 'aeon.json'), { env: {} }).config;
  }
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | null, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
