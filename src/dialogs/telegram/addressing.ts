// Is a group message meant for the bot, and what does the model see of it:
// mentions (by @username or a text mention), replies to the bot's messages,
// and the message a person replied to, quoted for context.
import { senderName, type TgMessage, type TgUser } from './update.ts';

export interface Me {
  id?: number;
  username?: string;
}

const QUOTE_MAX = 1000;

export function mentioned(m: TgMessage, text: string, me: Me): boolean {
  for (const e of m.entities ?? m.caption_entities ?? []) {
    if (e?.type === 'text_mention' && e.user?.id === me.id) return true;
  }
  return !!me.username && text.toLowerCase().includes(`@${me.username.toLowerCase()}`);
}

/** In forum topics every message "replies" to the topic's first message; that is not a reply to anyone. */
function topicRoot(m: TgMessage): boolean {
  return !!m.is_topic_message && m.reply_to_message?.message_id === m.message_thread_id;
}

export function repliedToMe(m: TgMessage, me: Me): boolean {
  const from = m.reply_to_message?.from as TgUser | undefined;
  if (!from || topicRoot(m)) return false;
  return (me.id !== undefined && from.id === me.id) || (!!from.is_bot && !!me.username && from.username === me.username);
}

export function stripMention(text: string, me: Me): string {
  if (!me.username) return text;
  return text.replace(new RegExp(`@${me.username.replace(/[^A-Za-z0-9_]/g, '')}\\b`, 'gi'), '').replace(/^[\s,:]+/, '');
}

/** The message the person replied to (not one of ours), as a markdown quote. */
export function quoteOf(m: TgMessage, me: Me): string | undefined {
  const r = m.reply_to_message;
  if (!r || repliedToMe(m, me) || topicRoot(m)) return undefined;
  const t = typeof r.text === 'string' ? r.text : typeof r.caption === 'string' ? r.caption : '';
  if (!t.trim()) return undefined;
  const who = r.from ? senderName(r.from as TgUser) : 'someone';
  const body = t.length > QUOTE_MAX ? `${t.slice(0, QUOTE_MAX)}…` : t;
  return `(In reply to ${who}:)\n${body.split('\n').map((l) => `> ${l}`).join('\n')}`;
}
