// Bounding text that goes back to the model: keep the head and the tail (where
// commands print their errors and summaries) and elide the middle, counting in
// UTF-8 bytes (what the wire and the context window pay for) and never cutting a
// character in two.

/** The note left where the middle was cut. */
export function elisionNote(bytes: number): string {
  // Thousands separators without toLocaleString: ICU would load for it, and this
  // module's first call ran at start-up (27 ms and ~6 MB of RSS; scripts/bench/idle.ts).
  return `\n[... ${String(Math.trunc(bytes)).replace(/\B(?=(\d{3})+$)/g, ',')} bytes elided ...]\n`;
}

// Room for the note with the largest count we can meet (16 digits and separators).
const NOTE_RESERVE = Buffer.byteLength(elisionNote(Number.MAX_SAFE_INTEGER));

/**
 * Returns `text` unchanged when it fits in `maxBytes` UTF-8 bytes; otherwise its
 * head and tail with `[... N bytes elided ...]` in between, the whole at most
 * `maxBytes` bytes. Below the size of the note itself only the head is kept.
 */
export function capOutput(text: string, maxBytes: number): string {
  // Cheap exits first: most outputs are short, and a char is at most 3 UTF-8 bytes per UTF-16 unit.
  if (text.length * 3 <= maxBytes) return text;
  const total = Buffer.byteLength(text);
  if (total <= maxBytes) return text;
  if (maxBytes < NOTE_RESERVE + 2) return headBytes(text, maxBytes);
  const budget = maxBytes - NOTE_RESERVE;
  const headWant = Math.ceil(budget / 2);
  const tailWant = budget - headWant;
  // Encode only the ends (each UTF-16 unit is at least one byte), never the whole text.
  const head = Buffer.from(text.slice(0, headWant));
  const tail = Buffer.from(text.slice(Math.max(0, text.length - tailWant)));
  const h = headCut(head, headWant);
  const t = tailCut(tail, tailWant);
  const kept = h + (tail.length - t);
  return head.toString('utf8', 0, h) + elisionNote(total - kept) + tail.toString('utf8', t);
}

/** The longest prefix of `text` that fits in `maxBytes` bytes. */
export function headBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text.slice(0, maxBytes));
  return buf.toString('utf8', 0, headCut(buf, maxBytes));
}

/** Largest cut ≤ `want` that does not split a UTF-8 sequence of `buf`. */
export function headCut(buf: Uint8Array, want: number): number {
  let i = Math.min(want, buf.length);
  while (i > 0 && i < buf.length && isContinuation(buf[i]!)) i--;
  return i;
}

/** Smallest start ≥ `buf.length - want` that begins a character of `buf`. */
export function tailCut(buf: Uint8Array, want: number): number {
  let i = Math.max(0, buf.length - want);
  while (i < buf.length && isContinuation(buf[i]!)) i++;
  return i;
}

/** Length of the prefix of `buf` made of whole characters (drops a truncated last one). */
export function wholeCharsEnd(buf: Uint8Array): number {
  let lead = buf.length - 1;
  while (lead > 0 && buf.length - lead < 4 && isContinuation(buf[lead]!)) lead--;
  if (lead < 0) return 0;
  const b = buf[lead]!;
  const need = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return lead + need > buf.length ? lead : buf.length;
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/**
 * A bounded sink for streamed output (exec's stdout and stderr): keeps the first
 * and last bytes, counts the rest, and renders like `capOutput`. Memory stays at
 * about `maxBytes` whatever the producer writes.
 */
export class HeadTailBuffer {
  readonly #headMax: number;
  readonly #tailMax: number;
  #head: Buffer[] = [];
  #headLen = 0;
  #tail: Buffer[] = [];
  #tailLen = 0;
  #total = 0;

  constructor(maxBytes: number) {
    const budget = Math.max(0, maxBytes - NOTE_RESERVE);
    this.#headMax = maxBytes < NOTE_RESERVE + 2 ? maxBytes : Math.ceil(budget / 2);
    this.#tailMax = maxBytes < NOTE_RESERVE + 2 ? 0 : budget - this.#headMax;
  }

  /** Bytes written so far, kept or not. */
  get total(): number {
    return this.#total;
  }

  write(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#headLen < this.#headMax) {
      const take = Math.min(chunk.length, this.#headMax - this.#headLen);
      this.#head.push(chunk.subarray(0, take));
      this.#headLen += take;
      chunk = chunk.subarray(take);
    }
    if (!chunk.length || !this.#tailMax) return;
    this.#tail.push(chunk);
    this.#tailLen += chunk.length;
    // Drop whole chunks from the front, then trim the first one.
    while (this.#tailLen - this.#tail[0]!.length >= this.#tailMax) this.#tailLen -= this.#tail.shift()!.length;
    if (this.#tailLen > this.#tailMax) {
      this.#tail[0] = this.#tail[0]!.subarray(this.#tailLen - this.#tailMax);
      this.#tailLen = this.#tailMax;
    }
  }

  toString(): string {
    const head = Buffer.concat(this.#head);
    const tail = Buffer.concat(this.#tail);
    const elided = this.#total - head.length - tail.length;
    if (!elided) return Buffer.concat([head, tail]).toString('utf8');
    // Cut on character boundaries; the partial characters count as elided.
    const h = wholeCharsEnd(head);
    const t = tailCut(tail, tail.length);
    if (!this.#tailMax) return head.toString('utf8', 0, h);
    return head.toString('utf8', 0, h) + elisionNote(elided + (head.length - h) + t) + tail.toString('utf8', t);
  }
}
