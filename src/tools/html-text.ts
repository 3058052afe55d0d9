// Readable text from an HTML page, for the model: drops scripts, styles and
// markup, keeps block structure as line breaks, decodes the common entities.
// A single left-to-right pass (indexOf and sticky searches, no backtracking
// regex over the page), so hostile markup like "<<<<..." costs linear time.

// Elements whose content is never text a reader sees.
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object', 'canvas', 'select']);
// Elements that start a new line.
const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'header', 'footer', 'nav', 'aside', 'main', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'ul', 'ol', 'dl', 'dt', 'dd', 'table', 'thead', 'tbody', 'tfoot', 'blockquote', 'pre', 'form', 'fieldset',
  'hr', 'figure', 'figcaption', 'address', 'details', 'summary', 'title', 'body', 'html', 'caption', 'legend',
]);

const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', hellip: '…', copy: '©',
  reg: '®', trade: '™', laquo: '«', raquo: '»', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', bull: '•',
  middot: '·', deg: '°', euro: '€', pound: '£', yen: '¥', cent: '¢', sect: '§', para: '¶', times: '×', divide: '÷',
  plusmn: '±', frac12: '½', frac14: '¼', frac34: '¾', shy: '', zwj: '', zwnj: '', ensp: ' ', emsp: ' ', thinsp: ' ',
  auml: 'ä', ouml: 'ö', uuml: 'ü', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü', szlig: 'ß', eacute: 'é', egrave: 'è', agrave: 'à',
  aacute: 'á', ccedil: 'ç', ntilde: 'ñ', oacute: 'ó', iacute: 'í', uacute: 'ú', larr: '←', rarr: '→', uarr: '↑', darr: '↓',
};

export interface HtmlText {
  title: string | undefined;
  text: string;
}

export function htmlToText(html: string): HtmlText {
  const out: string[] = [];
  let title: string | undefined;
  let firstCell = true;
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)/y;
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out.push(html.slice(i));
      break;
    }
    out.push(html.slice(i, lt));
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    tag.lastIndex = lt;
    const m = tag.exec(html);
    if (!m) {
      const next = html[lt + 1];
      if (next === '!' || next === '?') {
        // <!DOCTYPE ...>, <![CDATA[...]]>, <?xml ...?>
        const gt = html.indexOf('>', lt + 2);
        i = gt < 0 ? html.length : gt + 1;
      } else {
        out.push('<'); // a bare "<" in text
        i = lt + 1;
      }
      continue;
    }
    const gt = html.indexOf('>', tag.lastIndex);
    if (gt < 0) break; // an unterminated tag: the rest is markup
    i = gt + 1;
    const name = m[2]!.toLowerCase();
    const closing = m[1] === '/';
    if (!closing && (name === 'title' || SKIP.has(name))) {
      const close = new RegExp(`</${name}\\s*>`, 'gi');
      close.lastIndex = i;
      const c = close.exec(html);
      const end = c ? c.index : html.length;
      if (name === 'title' && title === undefined) title = clean(decodeEntities(html.slice(i, end)));
      i = c ? close.lastIndex : html.length;
      out.push(name === 'title' ? '' : ' ');
      continue;
    }
    if (name === 'br') out.push('\n');
    else if (name === 'li') out.push(closing ? '' : '\n- ');
    else if (name === 'tr') {
      // One line per row, cells separated by " | ".
      if (!closing) out.push('\n');
      firstCell = true;
    } else if (name === 'td' || name === 'th') {
      if (!closing && !firstCell) out.push(' | ');
      firstCell = false;
    } else if (BLOCK.has(name)) out.push('\n');
    else if (name === 'img' && !closing) {
      const alt = /\balt\s*=\s*"([^"]*)"/i.exec(html.slice(lt, gt));
      if (alt?.[1]) out.push(` [image: ${alt[1]}] `);
    }
  }
  return { title, text: clean(decodeEntities(out.join(''))) };
}

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : '\uFFFD';
    }
    return NAMED[ref] ?? NAMED[ref.toLowerCase()] ?? whole;
  });
}

/** Runs of blanks to one space, lines trimmed, at most one empty line in a row. */
function clean(s: string): string {
  return s
    .replace(/[ \t\f\v\r\u00a0]+/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
