// The parts of a Telegram update aeon reads. Updates are outside input: every
// field is checked before use, and `readUpdate` never throws.

export interface TgUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  username?: string;
}

export interface TgChat {
  id: number;
  type: string;
  title?: string;
  is_forum?: boolean;
}

export interface TgEntity {
  type: string;
  offset: number;
  length: number;
  user?: TgUser;
}

export interface TgMessage {
  message_id: number;
  chat: TgChat;
  from?: TgUser;
  text?: string;
  caption?: string;
  entities?: TgEntity[];
  caption_entities?: TgEntity[];
  message_thread_id?: number;
  is_topic_message?: boolean;
  reply_to_message?: TgMessage;
  document?: { file_id: string; file_name?: string; file_size?: number; mime_type?: string };
  photo?: { file_id: string; file_size?: number; width?: number; height?: number }[];
  [other: string]: unknown;
}

export type ReadUpdate =
  | { kind: 'message'; id: number; message: TgMessage }
  | { kind: 'member'; id: number; chat?: TgChat; status?: string }
  | { kind: 'other'; id: number; type: string }
  | { kind: 'invalid'; id: number; reason: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function updateId(u: unknown): number | undefined {
  return isObj(u) && Number.isSafeInteger(u.update_id) ? (u.update_id as number) : undefined;
}

export function readUpdate(u: unknown, id: number): ReadUpdate {
  if (!isObj(u)) return { kind: 'invalid', id, reason: 'not an object' };
  if ('message' in u) {
    const m = u.message;
    if (!isObj(m)) return { kind: 'invalid', id, reason: 'message is not an object' };
    if (!Number.isSafeInteger(m.message_id)) return { kind: 'invalid', id, reason: 'message has no message_id' };
    if (!isChat(m.chat)) return { kind: 'invalid', id, reason: 'message has no chat' };
    if (m.from !== undefined && !isUser(m.from)) return { kind: 'invalid', id, reason: 'message sender is malformed' };
    for (const k of ['text', 'caption'] as const) if (m[k] !== undefined && typeof m[k] !== 'string') return { kind: 'invalid', id, reason: `${k} is not a string` };
    const msg = m as unknown as TgMessage;
    if (msg.reply_to_message !== undefined && (!isObj(msg.reply_to_message) || !isChat(msg.reply_to_message.chat))) delete msg.reply_to_message;
    if (msg.entities !== undefined && !Array.isArray(msg.entities)) delete msg.entities;
    if (msg.caption_entities !== undefined && !Array.isArray(msg.caption_entities)) delete msg.caption_entities;
    if (msg.message_thread_id !== undefined && !Number.isSafeInteger(msg.message_thread_id)) delete msg.message_thread_id;
    if (msg.document !== undefined && (!isObj(msg.document) || typeof msg.document.file_id !== 'string')) delete msg.document;
    if (msg.photo !== undefined && !Array.isArray(msg.photo)) delete msg.photo;
    return { kind: 'message', id, message: msg };
  }
  if (isObj(u.my_chat_member)) {
    const c = u.my_chat_member.chat;
    const status = isObj(u.my_chat_member.new_chat_member) ? u.my_chat_member.new_chat_member.status : undefined;
    return { kind: 'member', id, ...(isChat(c) ? { chat: c } : {}), ...(typeof status === 'string' ? { status } : {}) };
  }
  const type = Object.keys(u).find((k) => k !== 'update_id') ?? 'empty';
  return { kind: 'other', id, type };
}

function isChat(v: unknown): v is TgChat {
  return isObj(v) && Number.isSafeInteger(v.id) && typeof v.type === 'string';
}

function isUser(v: unknown): v is TgUser {
  return isObj(v) && Number.isSafeInteger(v.id);
}

/** Message kinds we know but cannot take yet, by the field that marks them. */
export const UNSUPPORTED: Record<string, string> = {
  voice: 'Voice messages',
  audio: 'Audio files',
  video: 'Videos',
  video_note: 'Video messages',
  animation: 'GIFs',
  sticker: 'Stickers',
  location: 'Locations',
  venue: 'Venues',
  contact: 'Contacts',
  poll: 'Polls',
  dice: 'Dice',
  game: 'Games',
  story: 'Stories',
  paid_media: 'Paid media',
  checklist: 'Checklists',
};

export function unsupportedKind(m: TgMessage): string | undefined {
  for (const k of Object.keys(UNSUPPORTED)) if (m[k] !== undefined && m[k] !== null) return UNSUPPORTED[k];
  return undefined;
}

/** Display name for group context: `Ann (@ann)`. */
export function senderName(u: TgUser): string {
  const first = typeof u.first_name === 'string' && u.first_name ? u.first_name : `user ${u.id}`;
  return typeof u.username === 'string' && u.username ? `${first} (@${u.username})` : first;
}
