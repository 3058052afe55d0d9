// The set of secret values this process knows (from config and environment), and
// the one function that removes them from text. Used by the logger on every line
// and by anything that shows config or errors to a person.

const MIN_SECRET_LENGTH = 6; // shorter values would scrub ordinary words

export class Secrets {
  #values: string[] = [];
  #pattern: RegExp | null = null;

  add(value: string | undefined | null): void {
    if (!value || value.length < MIN_SECRET_LENGTH || this.#values.includes(value)) return;
    this.#values.push(value);
    // Longest first so a secret that contains another is scrubbed whole.
    this.#values.sort((a, b) => b.length - a.length);
    this.#pattern = new RegExp(this.#values.map(escapeRegExp).join('|'), 'g');
  }

  get size(): number {
    return this.#values.length;
  }

  /** Replaces every known secret (and URL credentials / bot tokens) with `[redacted]`. */
  scrub(text: string): string {
    let out = this.#pattern ? text.replace(this.#pattern, '[redacted]') : text;
    // Generic shapes, for secrets we were never told about.
    if (out.includes('/bot')) out = out.replace(BOT_TOKEN_IN_URL, '/bot[redacted]');
    if (out.includes('@')) out = out.replace(URL_CREDENTIALS, '$1[redacted]@');
    return out;
  }
}

// Telegram bot tokens look like 123456789:AA...; they appear in API URLs.
const BOT_TOKEN_IN_URL = /\/bot\d{3,}:[A-Za-z0-9_-]{20,}/g;
// scheme://user:password@host
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
