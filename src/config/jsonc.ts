// JSON with // and /* */ comments (the starter config explains itself). Comments
// become spaces so JSON.parse positions still match the file.

export type JsoncResult = { ok: true; value: unknown } | { ok: false; error: string };

export function parseJsonc(text: string): JsoncResult {
  const stripped = stripComments(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  try {
    return { ok: true, value: JSON.parse(stripped) };
  } catch (err) {
    return { ok: false, error: withLineColumn((err as Error).message, stripped) };
  }
}

function stripComments(s: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < s.length) {
    const ch = s[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += s[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (ch === '"') inString = false;
      i++;
    } else if (ch === '"') {
      inString = true;
      out += ch;
      i++;
    } else if (ch === '/' && s[i + 1] === '/') {
      while (i < s.length && s[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (ch === '/' && s[i + 1] === '*') {
      const end = s.indexOf('*/', i + 2);
      const stop = end < 0 ? s.length : end + 2;
      out += s.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function withLineColumn(message: string, text: string): string {
  if (/line \d+/.test(message)) return message;
  const m = /position (\d+)/.exec(message);
  if (!m) return message;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${message} (line ${line} column ${col})`;
}
