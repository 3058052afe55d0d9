// A checker for Telegram's HTML parse mode, strict the way the Bot API is:
// only the supported tags, properly nested, attributes where allowed, and `&`
// and `<` only as entities or tags. Returns the error Telegram would give (as
// "can't parse entities: ...") or the visible text (for the 4096 limit).

const TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const ENTITY = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);/;

export type HtmlCheck = { ok: true; text: string } | { ok: false; error: string };

export function checkTelegramHtml(html: string): HtmlCheck {
  const stack: string[] = [];
  let text = '';
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === '&') {
      const m = ENTITY.exec(html.slice(i, i + 12));
      if (!m) return { ok: false, error: `Character '&' is reserved and must be escaped at byte offset ${i}` };
      text += m[1] === 'lt' ? '<' : m[1] === 'gt' ? '>' : m[1] === 'amp' ? '&' : m[1] === 'quot' ? '"' : '?';
      i += m[0].length;
      continue;
    }
    if (c === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) return { ok: false, error: `Unclosed start tag at byte offset ${i}` };
      const raw = html.slice(i + 1, end);
      if (raw.startsWith('/')) {
        const name = raw.slice(1).trim().toLowerCase();
        const open = stack.pop();
        if (open !== name) return { ok: false, error: `Can't find end tag corresponding to start tag "${open ?? ''}" (got </${name}>)` };
      } else {
        const m = /^([a-z-]+)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*$/i.exec(raw);
        if (!m) return { ok: false, error: `Unsupported start tag "${raw}" at byte offset ${i}` };
        const name = m[1]!.toLowerCase();
        if (!TAGS.has(name)) return { ok: false, error: `Unsupported start tag "${name}" at byte offset ${i}` };
        const attrs = m[2]!.trim();
        if (name === 'a' && !/^href="[^"]*"$/.test(attrs)) return { ok: false, error: 'a tag needs exactly an href attribute' };
        if (name === 'code' && attrs && !/^class="language-[\w+#.-]+"$/.test(attrs)) return { ok: false, error: `bad code attribute ${attrs}` };
        if (name === 'code' && attrs && stack.at(-1) !== 'pre') return { ok: false, error: 'code with a language must be inside pre' };
        if (!['a', 'code', 'span', 'tg-emoji', 'blockquote'].includes(name) && attrs) return { ok: false, error: `unexpected attributes on ${name}` };
        if ((stack.includes('pre') || stack.includes('code')) && !(name === 'code' && stack.at(-1) === 'pre')) return { ok: false, error: `${name} inside pre/code` };
        if (stack.includes(name)) return { ok: false, error: `${name} nested in itself` };
        stack.push(name);
      }
      i = end + 1;
      continue;
    }
    if (c === '>') {
      text += c;
      i++;
      continue;
    }
    text += c;
    i++;
  }
  if (stack.length) return { ok: false, error: `Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { ok: true, text };
}
