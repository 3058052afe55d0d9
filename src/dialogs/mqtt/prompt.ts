// Turning a `<base>/prompt` or `<base>/request/<cmd>` payload into a checked
// object, or into an error the sender can act on. Nothing here throws: any
// input, however broken, ends as `{ok: false, error}`.
import { validate_mqtt_prompt, validate_mqtt_request } from '../../gen/validators.js';
import { check, formatIssues } from '../../util/validate.ts';
import type { Echo, PromptPayload, ReplyError, RequestPayload } from './types.ts';

export type Parsed<T> =
  | { ok: true; value: T; json: boolean }
  | { ok: false; error: ReplyError; id?: Echo; transaction?: Echo };

/** Plain text (anything not starting with `{`), or a JSON object per the contract. */
export function parsePrompt(payload: Buffer, maxBytes: number): Parsed<PromptPayload> {
  if (payload.length > maxBytes) {
    return {
      ok: false,
      error: { code: 'too_large', message: `The prompt is ${payload.length} bytes; the limit is ${maxBytes} bytes (dialogs.mqtt.max_payload_bytes).` },
      ...echoesFromHead(payload),
    };
  }
  const text = stripBom(payload.toString('utf8'));
  const start = firstNonSpace(text);
  if (text[start] !== '{') {
    if (!text.trim()) return { ok: false, error: { code: 'empty', message: 'The prompt is empty.' } };
    return { ok: true, value: { text }, json: false };
  }
  const obj = parseObject(text, payload);
  if (!obj.ok) return obj;
  const echo = echoesOf(obj.value);
  const issues = check(validate_mqtt_prompt, obj.value);
  if (issues.length) {
    return { ok: false, error: { code: 'invalid', message: `The prompt has problems: ${formatIssues(issues).split('\n').join('; ')}` }, ...echo };
  }
  const p = obj.value as unknown as PromptPayload;
  if (!p.text.trim()) return { ok: false, error: { code: 'empty', message: 'The prompt text is empty.' }, ...echo };
  return { ok: true, value: p, json: true };
}

/** An empty payload is `{}`; otherwise a JSON object per the request schema. */
export function parseRequest(payload: Buffer, maxBytes: number): Parsed<RequestPayload> {
  if (payload.length > maxBytes) {
    return { ok: false, error: { code: 'too_large', message: `The request is ${payload.length} bytes; the limit is ${maxBytes} bytes.` }, ...echoesFromHead(payload) };
  }
  const text = stripBom(payload.toString('utf8'));
  if (!text.trim()) return { ok: true, value: {}, json: false };
  if (text[firstNonSpace(text)] !== '{') {
    return { ok: false, error: { code: 'invalid', message: 'A request payload must be empty or a JSON object, e.g. {"transaction": 1}.' } };
  }
  const obj = parseObject(text, payload);
  if (!obj.ok) return obj;
  const issues = check(validate_mqtt_request, obj.value);
  if (issues.length) {
    return { ok: false, error: { code: 'invalid', message: `The request has problems: ${formatIssues(issues).split('\n').join('; ')}` }, ...echoesOf(obj.value) };
  }
  return { ok: true, value: obj.value as RequestPayload, json: true };
}

function parseObject(text: string, payload: Buffer): Parsed<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      error: { code: 'bad_json', message: `The payload starts with "{" but is not valid JSON (${(err as Error).message}). Send plain text, or a JSON object such as {"text": "hello"}.` },
      ...echoesFromHead(payload),
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: { code: 'bad_json', message: 'The payload must be a JSON object.' } };
  }
  return { ok: true, value: value as Record<string, unknown>, json: true };
}

function firstNonSpace(s: string): number {
  let i = 0;
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  return i;
}

// Some editors and Windows tools start UTF-8 with a byte order mark; JSON.parse rejects it.
function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function echoesOf(o: Record<string, unknown>): { id?: Echo; transaction?: Echo } {
  const out: { id?: Echo; transaction?: Echo } = {};
  if (isEcho(o.id)) out.id = o.id;
  if (isEcho(o.transaction)) out.transaction = o.transaction;
  return out;
}

function isEcho(v: unknown): v is Echo {
  return (typeof v === 'string' && v.length <= 128) || (typeof v === 'number' && Number.isSafeInteger(v));
}

// For payloads that cannot be parsed whole (too large, broken JSON): the
// `"id"` and `"transaction"` near the start, when they are plain scalars, so the
// error reply still reaches the right waiter.
const HEAD_BYTES = 512;
const ID_RE = /"id"\s*:\s*("(?:[^"\\]|\\.){0,128}"|-?\d{1,15})\s*[,}]/;
const TX_RE = /"transaction"\s*:\s*("(?:[^"\\]|\\.){0,128}"|-?\d{1,15})\s*[,}]/;

function echoesFromHead(payload: Buffer): { id?: Echo; transaction?: Echo } {
  const head = payload.subarray(0, HEAD_BYTES).toString('utf8');
  const out: { id?: Echo; transaction?: Echo } = {};
  const id = scalar(ID_RE.exec(head)?.[1]);
  const tx = scalar(TX_RE.exec(head)?.[1]);
  if (id !== undefined) out.id = id;
  if (tx !== undefined) out.transaction = tx;
  return out;
}

function scalar(raw: string | undefined): Echo | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    return isEcho(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
