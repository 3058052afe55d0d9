// Turns what went wrong on the wire (an HTTP status with its error body, a
// socket error) into one LlmError with a sentence a person can act on. Every
// message passes through `scrub`, so an API key a provider echoes back (or one
// in a URL) never reaches a log or a chat.
import type { LlmError, LlmErrorKind, ModelConfig } from './types.ts';
import { retryAfterMs } from './retry-after.ts';
import { Secrets } from '../util/secrets.ts';

/** What the error text may name: never the URL (it can carry a key), only its host. */
export interface ErrorContext {
  /** Provider kind, e.g. "openai", for the message. */
  label: string;
  host: string;
  model: string;
  /** Whether an API key was sent (a 401 without one needs a different hint). */
  has_key: boolean;
  scrub: (text: string) => string;
}

const MAX_DETAIL_CHARS = 300;

/** The error context for one model: its key and header values are scrubbed from every message. */
export function contextFor(model: ModelConfig): ErrorContext {
  const secrets = new Secrets();
  secrets.add(model.api_key);
  for (const v of Object.values(model.headers ?? {})) secrets.add(v);
  let host: string;
  try {
    host = new URL(model.base_url).host;
  } catch {
    host = 'the LLM server';
  }
  return {
    label: model.provider,
    host,
    model: model.model,
    has_key: !!model.api_key,
    scrub: (text) => secrets.scrub(text),
  };
}

// Phrases servers use when the model cannot call tools: Ollama ("... does not
// support tools"), OpenRouter ("No endpoints found that support tool use"),
// llama.cpp and vLLM variants.
const TOOLS_UNSUPPORTED = /(does not|doesn't|do not) support (tools|tool use|tool calling|function calling)|support tool use|tools? (is|are) not supported|tool_choice.*not supported/i;

export function statusError(status: number, headers: Record<string, string | string[] | undefined>, body: string, ctx: ErrorContext): LlmError {
  // Scrub the whole body before parseErrorBody cuts it: a key the cut splits would not be found.
  const parsed = parseErrorBody(ctx.scrub(body));
  const detail = parsed.message ?? '';
  const said = detail ? `: ${detail}` : '';
  const http = `HTTP ${status}`;

  if (status >= 400 && status < 500 && TOOLS_UNSUPPORTED.test(detail)) {
    return err('bad_request', false, `The model "${ctx.model}" does not support tools (function calling); choose a model that does or give this agent no tools (${ctx.label} said${said}).`, status);
  }
  if (status === 401 || status === 403) {
    const hint = ctx.has_key ? 'rejected the API key' : 'needs an API key and none is configured';
    return err('auth', false, `${ctx.label} ${hint} (${http})${said}`, status);
  }
  if (status === 402 || parsed.code === 'insufficient_quota') {
    return err('budget', false, `${ctx.label} says the account is out of credits or quota (${http})${said}`, status);
  }
  if (status === 429) {
    const e = err('rate_limit', true, `${ctx.label} is rate limiting requests (${http})${said}`, status);
    const wait = retryAfterMs(headers);
    if (wait !== undefined) e.retry_after_ms = wait;
    return e;
  }
  if (status === 408) return err('timeout', true, `${ctx.label} timed out the request (${http})${said}`, status);
  if (status >= 500) {
    const e = err('server', status !== 501, `${ctx.label} had a server error (${http})${said}`, status);
    const wait = retryAfterMs(headers);
    if (wait !== undefined) e.retry_after_ms = wait;
    return e;
  }
  if (status === 404) return err('bad_request', false, `${ctx.label} does not know the model "${ctx.model}" or the endpoint (${http})${said}`, status);
  if (status >= 400) return err('bad_request', false, `${ctx.label} refused the request (${http})${said}`, status);
  return err('bad_response', false, `${ctx.label} answered with unexpected ${http}${said}`, status);
}

/** A provider error delivered inside a 200 stream (OpenRouter, vLLM, Anthropic `error` events). */
export function streamedError(error: unknown, ctx: ErrorContext): LlmError {
  const { message, code } = errorFields(error);
  // Scrubbed before it is cut, so a key the cut would split is still found whole.
  const detail = clip(ctx.scrub(message ?? 'no details'));
  const numeric = typeof code === 'number' ? code : /^\d{3}$/.test(String(code)) ? Number(code) : undefined;
  if (numeric !== undefined && numeric >= 400 && numeric < 500 && numeric !== 408 && numeric !== 429) {
    return statusError(numeric, {}, JSON.stringify({ error: { message: detail } }), ctx);
  }
  const kind = streamedKind(String(code ?? ''));
  return err(kind, kind === 'rate_limit' || kind === 'server', `${ctx.label} reported an error mid-stream: ${detail}`, numeric);
}

function streamedKind(code: string): LlmErrorKind {
  if (/rate_limit/.test(code) || code === '429') return 'rate_limit';
  if (/authentication|permission/.test(code)) return 'auth';
  if (/invalid_request|not_found|request_too_large/.test(code)) return 'bad_request';
  return 'server'; // overloaded_error, api_error, server_error, provider disconnects
}

/** Socket-level failures. `phase` tells a refused connection from one cut mid-answer. */
export function networkError(e: unknown, ctx: ErrorContext, phase: 'request' | 'stream'): LlmError {
  const code = codeOf(e);
  switch (code) {
    case 'ECONNREFUSED':
      return err('network', true, `Could not connect to ${ctx.host}: connection refused (is the ${ctx.label} server running?).`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return err('network', true, `Could not resolve ${ctx.host} (DNS ${code}).`);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return err('timeout', true, `Could not connect to ${ctx.host} in time.`);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return err('timeout', true, `${ctx.host} did not start answering in time.`);
    case 'UND_ERR_BODY_TIMEOUT':
      return err('timeout', true, `${ctx.host} went silent mid-answer.`);
    default: {
      const where = phase === 'stream' ? 'mid-stream' : 'before answering';
      return err('network', true, `The connection to ${ctx.host} failed ${where} (${code ?? 'unknown error'}).`);
    }
  }
}

function codeOf(e: unknown): string | undefined {
  let cur: unknown = e;
  // undici wraps the socket error; the useful code may sit one level down.
  for (let i = 0; i < 3 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c) return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** An event whose data should be JSON and is not: a broken or foreign stream, never swallowed. */
export function notJsonError(data: string, ctx: ErrorContext): LlmError {
  const head = data.length > 80 ? `${data.slice(0, 80)}…` : data;
  return err('bad_response', false, `${ctx.label} sent an event that is not valid JSON: ${ctx.scrub(JSON.stringify(head))}`);
}

export function err(kind: LlmErrorKind, retryable: boolean, message: string, status?: number): LlmError {
  const e: LlmError = { kind, retryable, message };
  if (status !== undefined) e.status = status;
  return e;
}

/** The provider's own words from an error body: OpenAI, Anthropic, OpenRouter, Ollama and vLLM shapes. */
export function parseErrorBody(body: string): { message?: string; code?: string } {
  const text = body.trim();
  if (!text) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { message: clip(text) };
  }
  const { message, code } = errorFields(json);
  const out: { message?: string; code?: string } = {};
  if (message) out.message = clip(message);
  if (code !== undefined) out.code = String(code);
  return out;
}

function errorFields(json: unknown): { message?: string; code?: string | number } {
  if (typeof json === 'string') return { message: json };
  if (!json || typeof json !== 'object') return {};
  const o = json as Record<string, unknown>;
  const inner = o.error;
  if (typeof inner === 'string') return { message: inner };
  if (inner && typeof inner === 'object') {
    const e = inner as Record<string, unknown>;
    const meta = e.metadata as { raw?: unknown } | undefined;
    const raw = typeof meta?.raw === 'string' ? ` (${meta.raw})` : '';
    const message = typeof e.message === 'string' ? e.message + raw : undefined;
    const code = (typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined) ?? (typeof e.type === 'string' ? e.type : undefined);
    return { ...(message !== undefined && { message }), ...(code !== undefined && { code }) };
  }
  // vLLM and FastAPI servers: the fields sit at the top level.
  const message = typeof o.message === 'string' ? o.message : typeof o.detail === 'string' ? o.detail : undefined;
  const code = typeof o.code === 'string' || typeof o.code === 'number' ? o.code : undefined;
  return { ...(message !== undefined && { message }), ...(code !== undefined && { code }) };
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_DETAIL_CHARS ? `${one.slice(0, MAX_DETAIL_CHARS)}…` : one;
}
