// The `message_send` tool: lets an agent send a Telegram message (a reminder,
// an alert raised from MQTT) to a chat it is allowed to write to.
import type { Tool, ToolContext } from '../../tools/types.ts';
import type { Sender } from './sender.ts';

export interface MessageSendArgs {
  chat_id: number;
  text: string;
  thread_id?: number;
}

/** Longest text accepted (it is split into several messages as needed). */
const MAX_TEXT = 16_000;

export function messageSendTool(sender: Sender, allowChats: readonly number[], signal: () => AbortSignal | undefined): Tool<MessageSendArgs> {
  const allowed = new Set(allowChats);
  const list = allowChats.length ? allowChats.join(', ') : 'none';
  return {
    name: 'message_send',
    description: `Send a Telegram message to a chat (a person or a group) this device may write to. Use it for reminders, alerts and answers that must reach someone outside the current conversation. Markdown (bold, italic, code, links) is rendered. Allowed chat ids: ${list}.`,
    parameters: {
      type: 'object',
      additionalProperties: false,
      required: ['chat_id', 'text'],
      properties: {
        chat_id: { type: 'integer', description: `Numeric Telegram chat id; one of: ${list}.` },
        text: { type: 'string', minLength: 1, maxLength: MAX_TEXT, description: 'The message, in markdown.' },
        thread_id: { type: 'integer', description: 'Forum topic id (message_thread_id) inside a group, if any.' },
      },
    },
    timeout_ms: 60_000,
    async execute(args: MessageSendArgs, ctx: ToolContext): Promise<string> {
      if (!allowed.has(args.chat_id)) {
        throw new Error(
          allowChats.length
            ? `chat ${args.chat_id} is not one this device may message; allowed chats: ${list}. To allow it, add it to tools.message_send.allow_chats in aeon.json.`
            : 'no Telegram chat is allowed for message_send: set tools.message_send.allow_chats (or dialogs.telegram.allowed_users) in aeon.json.',
        );
      }
      if (!args.text.trim()) throw new Error('text is empty');
      const stop = signal();
      const both = stop ? AbortSignal.any([ctx.signal, stop]) : ctx.signal;
      try {
        const n = await sender.sendText({ chatId: args.chat_id, ...(args.thread_id !== undefined ? { threadId: args.thread_id } : {}) }, args.text, { signal: both, maxRetryAfterMs: 30_000 });
        ctx.log.info({ chat: args.chat_id, messages: n }, 'message_send delivered');
        return `Sent to Telegram chat ${args.chat_id}${n > 1 ? ` as ${n} messages` : ''}.`;
      } catch (err) {
        const e = err as { code?: number; description?: string; message: string };
        if (e.code === 403) throw new Error(`Telegram refused: the bot cannot write to chat ${args.chat_id} (the person has not started the bot, blocked it, or removed it from the group).`);
        if (e.code === 400 && /chat not found/i.test(e.description ?? '')) throw new Error(`Telegram does not know chat ${args.chat_id} for this bot (the person must send the bot a message first).`);
        throw new Error(`could not send the Telegram message: ${e.message}`);
      }
    },
  };
}
