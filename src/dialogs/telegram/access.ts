// Who may talk to the bot, and how often. All state is in memory and bounded:
// a refusal or a "slow down" is answered at most once per period per person,
// so a stranger (or a flood) costs one reply, never a conversation.

/** Remembers when something last happened per key; forgets the oldest past `max` keys. */
export class Recent {
  readonly #max: number;
  readonly #at = new Map<string, number>();

  constructor(max = 1000) {
    this.#max = max;
  }

  /** True (and records `now`) when `key` did not happen within `periodMs`. */
  due(key: string, periodMs: number, now: number): boolean {
    const last = this.#at.get(key);
    if (last !== undefined && now - last < periodMs) return false;
    this.#at.delete(key);
    this.#at.set(key, now);
    if (this.#at.size > this.#max) this.#at.delete(this.#at.keys().next().value!);
    return true;
  }
}

/** Sliding one-minute window of message times per user. */
export class RateLimiter {
  readonly #perMinute: number;
  readonly #max: number;
  readonly #times = new Map<string, number[]>();

  constructor(perMinute: number, maxUsers = 1000) {
    this.#perMinute = perMinute;
    this.#max = maxUsers;
  }

  /** Counts a message; returns 0 when allowed, else the seconds until the next one is. */
  hit(user: string, now: number): number {
    let t = this.#times.get(user);
    if (!t) {
      t = [];
      if (this.#times.size >= this.#max) this.#times.delete(this.#times.keys().next().value!);
      this.#times.set(user, t);
    }
    while (t.length && now - t[0]! >= 60_000) t.shift();
    if (t.length >= this.#perMinute) return Math.max(1, Math.ceil((60_000 - (now - t[0]!)) / 1000));
    t.push(now);
    return 0;
  }
}

export interface AccessLists {
  users: ReadonlySet<number>;
  chats: ReadonlySet<number>;
}

/**
 * Private chats: the sender must be in `allowed_users` (or the chat in
 * `allowed_chats`). Groups: the group must be in `allowed_chats`; then anyone in
 * it may address the bot.
 */
export function isAllowed(lists: AccessLists, chatId: number, userId: number, group: boolean): boolean {
  if (group) return lists.chats.has(chatId);
  return lists.users.has(userId) || lists.chats.has(chatId);
}

export function refusalText(chatId: number, userId: number, group: boolean): string {
  if (group) {
    return [
      'Sorry, I only answer in groups I have been allowed into.',
      `This group's id is ${chatId}. To allow it, add it to \`dialogs.telegram.allowed_chats\` in aeon.json, for example \`"allowed_chats": [${chatId}]\`, and restart aeon.`,
    ].join('\n\n');
  }
  return [
    "Sorry, I can't talk with you yet: this is a private assistant.",
    `Your Telegram user id is ${userId}. If this is your device, add it to \`dialogs.telegram.allowed_users\` in aeon.json, for example \`"allowed_users": [${userId}]\`, and restart aeon.`,
  ].join('\n\n');
}
