// Splits a long markdown answer into pieces Telegram accepts (4096 characters
// of text each, counted after formatting is applied). Cuts are made on the
// source markdown: its rendered text is never longer than the source (markers
// disappear, escapes decode back), so a piece within the limit renders within
// it. Preferred cut: a blank line or the end of a code block, then a line end,
// then a space. A code block cut in two is closed and reopened with its
// language. The split is greedy from the start, so while an answer streams its
// earlier pieces stay put.
import { closesFence, fenceOf } from './markdown.ts';

export const TELEGRAM_TEXT_LIMIT = 4096;
/** Room kept for a closing fence added at a cut. */
const FENCE_RESERVE = 24;

interface Cut {
  at: number;
  /** The fence open at the cut, to close here and reopen in the next piece. */
  fence?: { marker: string; lang: string };
}

export function splitMarkdown(text: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  limit = Math.max(limit, 256); // room for a reopened fence, so every cut makes progress
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const budget = limit - FENCE_RESERVE;
    let cut = findCut(rest, budget);
    // A cut inside code adds a reopening fence to the rest: it must still shrink the rest.
    if (cut.fence && cut.at <= cut.fence.marker.length + cut.fence.lang.length + 8) cut = { at: budget, fence: fenceAt(rest, budget) };
    let head = rest.slice(0, cut.at).replace(/\s+$/, '');
    let tail = rest.slice(cut.at).replace(/^[ \t]*\n+/, '');
    if (cut.fence) {
      head += `\n${cut.fence.marker}`;
      tail = `${cut.fence.marker}${cut.fence.lang}\n${tail}`;
    }
    if (head.trim()) pieces.push(head);
    rest = tail;
  }
  if (rest.trim()) pieces.push(rest);
  return pieces;
}

function findCut(text: string, budget: number): Cut {
  let fence: { marker: string; lang: string } | undefined;
  let para = 0; // best blank-line or block-end cut outside code
  let line: Cut = { at: 0 }; // best line-end cut
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    if (end > budget) break;
    const l = text.slice(pos, end);
    if (fence) {
      if (closesFence(l, fence.marker)) {
        fence = undefined;
        para = end;
      }
    } else {
      const f = fenceOf(l);
      if (f) {
        fence = f;
        if (pos > 0) para = pos; // before the block
      } else if (l.trim() === '' && pos > 0) para = pos;
    }
    if (nl < 0) break;
    line = { at: end, fence: fence ? { ...fence } : undefined };
    pos = nl + 1;
  }
  if (para >= budget * 0.5) return { at: para };
  if (line.at >= budget * 0.3) return line;
  // No usable line end: cut at the last space, or hard at the budget.
  const open = fenceAt(text, budget);
  const space = text.lastIndexOf(' ', budget);
  let at = space >= budget * 0.3 ? space : budget;
  const code = text.charCodeAt(at - 1);
  if (at === budget && code >= 0xd800 && code <= 0xdbff) at--; // keep a surrogate pair whole
  return { at, fence: open };
}

/** The fence open at `pos`, if any. */
function fenceAt(text: string, pos: number): { marker: string; lang: string } | undefined {
  let fence: { marker: string; lang: string } | undefined;
  for (const l of text.slice(0, pos).split('\n')) {
    if (fence) {
      if (closesFence(l, fence.marker)) fence = undefined;
    } else fence = fenceOf(l);
  }
  return fence;
}
