// Markdown as models write it, rendered as the small HTML subset Telegram
// accepts (b, i, s, code, pre, a, blockquote). Everything else is escaped text.
// The output is always well nested: an emphasis marker that does not close on
// the same line stays literal, so a half-streamed answer renders as well as a
// finished one, and an unclosed code fence runs to the end of the text.

const FENCE = /^ {0,3}(`{3,8}|~{3,8})(?![`~])\s*([^\s`]*)/;
const HEADING = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
const BULLET = /^(\s*)[-*+]\s+(.*)$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const TABLE = /^\s*\|.*\|\s*$/;
const LINK = /^\[([^\]\n]+)\]\(\s*<?((?:https?|tg|mailto):[^\s<>()]+(?:\([^\s<>()]*\)[^\s<>()]*)*)>?(?:\s+"[^"\n]*")?\s*\)/;
const ESCAPABLE = /[\\`*_~[\]()#>|!.+-]/;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function escapeAttr(s: string): string {
  return escapeHtml(s).replace(/"/g, '&quot;');
}

/** A fence opener on this line: its marker (``` or ~~~, any length) and language. */
export function fenceOf(line: string): { marker: string; lang: string } | undefined {
  const m = FENCE.exec(line);
  return m ? { marker: m[1]!, lang: m[2]!.replace(/[^\w+#.-]/g, '').slice(0, 32) } : undefined;
}

/** True when `line` closes a block opened with `marker`. */
export function closesFence(line: string, marker: string): boolean {
  const t = line.trim();
  return t.length >= marker.length && t[0] === marker[0] && /^(`+|~+)$/.test(t);
}

export function markdownToHtml(md: string): string {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = fenceOf(line);
    if (fence) {
      const body: string[] = [];
      for (i++; i < lines.length && !closesFence(lines[i]!, fence.marker); i++) body.push(lines[i]!);
      i++; // the closing fence (or past the end when the block is still open)
      const code = escapeHtml(body.join('\n'));
      out.push(fence.lang ? `<pre><code class="language-${fence.lang}">${code}</code></pre>` : `<pre>${code}</pre>`);
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted: string[] = [];
      for (; i < lines.length && QUOTE.test(lines[i]!); i++) quoted.push(inline(lines[i]!.replace(QUOTE, '')));
      out.push(`<blockquote>${quoted.join('\n')}</blockquote>`);
      continue;
    }
    if (TABLE.test(line) && i + 1 < lines.length && TABLE.test(lines[i + 1]!)) {
      // Tables read best in monospace; Telegram has no table markup.
      const rows: string[] = [];
      for (; i < lines.length && TABLE.test(lines[i]!); i++) rows.push(lines[i]!.trim());
      out.push(`<pre>${escapeHtml(rows.join('\n'))}</pre>`);
      continue;
    }
    i++;
    if (RULE.test(line)) {
      out.push('———');
      continue;
    }
    const h = HEADING.exec(line);
    if (h) {
      out.push(`<b>${inline(h[1]!).replace(/<\/?b>/g, '')}</b>`); // bold inside bold adds nothing
      continue;
    }
    const b = BULLET.exec(line);
    if (b) {
      out.push(`${b[1]}• ${inline(b[2]!)}`);
      continue;
    }
    out.push(inline(line));
  }
  return out.join('\n');
}

type Marker = '**' | '__' | '~~' | '*' | '_';
const TAG: Record<Marker, string> = { '**': 'b', __: 'b', '~~': 's', '*': 'i', _: 'i' };

const isSpace = (c: string | undefined) => c === undefined || /\s/.test(c);
const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/** One line of inline markdown to HTML: code spans, links, bold, italic, strikethrough. */
export function inline(s: string): string {
  const out: string[] = [];
  const open: { marker: Marker; at: number }[] = [];
  let text = '';
  const flush = () => {
    if (text) out.push(escapeHtml(text));
    text = '';
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length && ESCAPABLE.test(s[i + 1]!)) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      let n = 1;
      while (s[i + n] === '`') n++;
      const ticks = '`'.repeat(n);
      const close = s.indexOf(ticks, i + n);
      if (close > i + n) {
        flush();
        out.push(`<code>${escapeHtml(s.slice(i + n, close))}</code>`);
        i = close + n;
      } else {
        text += ticks;
        i += n;
      }
      continue;
    }
    if (c === '[') {
      const m = LINK.exec(s.slice(i));
      if (m) {
        flush();
        out.push(`<a href="${escapeAttr(m[2]!)}">${escapeHtml(m[1]!.replace(/\*\*|__|~~|`/g, ''))}</a>`); // link text unformatted: tags inside links may not repeat outer ones
        i += m[0].length;
        continue;
      }
    }
    if (c === '*' || c === '_' || (c === '~' && s[i + 1] === '~')) {
      const two = s.slice(i, i + 2);
      let marker: Marker = two === '**' || two === '__' || two === '~~' ? two : (c as Marker);
      // `***x***`: close the inner single marker first.
      const top = open.at(-1);
      if (marker.length === 2 && top?.marker === c && !isSpace(s[i - 1])) marker = c as Marker;
      const before = s[i - 1];
      const after = s[i + marker.length];
      const underscore = c === '_';
      const canClose = !isSpace(before) && !(underscore && isWordChar(after));
      const canOpen = !isSpace(after) && !(underscore && isWordChar(before));
      if (canClose && top?.marker === marker) {
        flush();
        open.pop();
        out[top.at] = `<${TAG[marker]}>`;
        out.push(`</${TAG[marker]}>`);
      } else if (canOpen && !open.some((o) => TAG[o.marker] === TAG[marker])) {
        flush();
        open.push({ marker, at: out.length });
        out.push(marker); // stays literal unless a closer turns it into a tag
      } else {
        text += marker;
      }
      i += marker.length;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return out.join('');
}

/** Visible text of Telegram HTML: tags dropped, the four entities decoded (for length checks and plain fallbacks). */
export function htmlToText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&(lt|gt|quot|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[e]!);
}
