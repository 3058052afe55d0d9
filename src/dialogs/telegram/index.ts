// Telegram dialog factory. The runtime imports this module only when
// dialogs.telegram.enabled is true (it loads node-telegram-bot-api and undici).
import type { DialogDeps, DialogParts } from '../deps.ts';
import { TelegramClient } from './client.ts';
import { UpdateCursor } from './cursor.ts';
import { TelegramDialog, type TelegramOptions } from './dialog.ts';
import { messageSendTool } from './message-send.ts';
import { Sender } from './sender.ts';

export type { TelegramOptions } from './dialog.ts';

/**
 * Builds the Telegram dialog and its `message_send` tool. Does no I/O: `start`
 * connects. Throws only for a missing bot token (a start-up error).
 */
export function createTelegramDialog(deps: DialogDeps, opts: TelegramOptions = {}): DialogParts {
  const c = deps.config.dialogs.telegram;
  if (!c.bot_token) throw new Error('dialogs.telegram.bot_token is required to run the Telegram dialog');
  deps.secrets.add(c.bot_token);
  const client = new TelegramClient({
    token: c.bot_token,
    apiRoot: c.api_root,
    secrets: deps.secrets,
    onRateLimited: (method, seconds) => {
      deps.count('telegram_api_rate_limited_total', { method });
      deps.log.info({ method, retry_after_s: seconds }, 'Telegram asked to slow down (429)');
    },
  });
  const cursor = new UpdateCursor(deps.store, deps.log);
  const sender = new Sender(client, deps.log, deps.count);
  const dialog = new TelegramDialog(deps, { client, cursor, sender }, opts);
  const allow = deps.config.tools.message_send.allow_chats ?? [...c.allowed_users, ...c.allowed_chats];
  return { dialog, tools: [messageSendTool(sender, allow, () => dialog.signal)] };
}
