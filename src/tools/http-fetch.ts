// http_fetch: GET or POST a URL on the public internet. Addresses are checked
// where the connection is made (undici's connect.lookup hook), so what was
// checked is what gets connected to — no second DNS answer in between — and
// every redirect hop is checked again. Bodies are read up to max_bytes and
// then dropped; HTML comes back as readable text.
import { STATUS_CODES } from '../util/node-http.ts';
import net from 'node:net';
import type { Dispatcher } from 'undici';
import { loadUndici } from '../llm/http-agent.ts';
import type { Config } from '../config/types.ts';
import { wholeCharsEnd } from './cap-output.ts';
import { htmlToText } from './html-text.ts';
import { BlockedAddressError, blockedReason, guardedLookup, refusal, type AddressPolicy } from './net-guard.ts';
import { httpFetchArgs } from './schemas.ts';
import type { Tool } from './types.ts';

export interface HttpFetchArgs {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export type HttpFetchConfig = Config['tools']['http_fetch'];

export interface HttpFetchDeps {
  /** Which addresses are refused (default: net-guard's blockedReason). Ignored under allow_private. */
  policy?: AddressPolicy;
  user_agent?: string;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Headers undici or the connection owns; a model setting them would only break the request.
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);
// Credentials meant for one origin are not carried to another by a redirect.
const ORIGIN_BOUND = ['authorization', 'cookie', 'proxy-authorization'];

export function httpFetchTool(cfg: HttpFetchConfig, deps: HttpFetchDeps = {}): Tool<HttpFetchArgs> {
  const policy: AddressPolicy = cfg.allow_private ? () => null : (deps.policy ?? blockedReason);
  const timeout_ms = cfg.timeout_s * 1000;
  const ua = deps.user_agent ?? 'aeon-http-fetch/0.1';
  return {
    name: 'http_fetch',
    description: `Fetch a web page or API over http(s) with GET or POST. Answers with the status, content type and the body (HTML as plain text; at most ${cfg.max_bytes} bytes are read). Redirects are followed (up to ${MAX_REDIRECTS}).${cfg.allow_private ? '' : ' Only public internet addresses can be reached.'}`,
    parameters: httpFetchArgs,
    timeout_ms: timeout_ms + 2000,
    async execute(a, { signal }) {
      if (a.body !== undefined && a.method !== 'POST') throw new Error('A body is sent only with method "POST".');
      const headers: Record<string, string> = { 'user-agent': ua, accept: 'text/html, application/json;q=0.9, text/plain;q=0.8, */*;q=0.5', 'accept-encoding': 'identity' };
      for (const [k, v] of Object.entries(a.headers ?? {})) {
        const name = k.toLowerCase();
        if (RESERVED.has(name)) throw new Error(`The "${k}" header is set by http_fetch itself; leave it out.`);
        headers[name] = v;
      }
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeout_ms)]);
      // undici loads on the first fetch, not at start-up (~65 ms and its memory when the tool is never used).
      const { Agent, request } = await loadUndici();
      const agent = new Agent({
        connect: { lookup: guardedLookup(policy), timeout: timeout_ms },
        headersTimeout: timeout_ms,
        bodyTimeout: timeout_ms,
        connections: 2,
      });
      let url = parseUrl(a.url);
      let method: string = a.method;
      let body = a.body;
      try {
        for (let hop = 0; ; hop++) {
          checkTarget(url, policy);
          const res = await request(url, { method, headers, body, dispatcher: agent, signal: deadline });
          const location = res.headers.location;
          if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') {
            return await render(res, url, cfg.max_bytes);
          }
          await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
          if (hop === MAX_REDIRECTS) throw new Error(`Stopped after ${MAX_REDIRECTS} redirects (last: ${url.href} -> ${location}).`);
          const next = parseUrl(location, url);
          // Browsers turn a redirected POST into a GET for 301/302/303; servers expect it.
          if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
            delete headers['content-type'];
          }
          if (next.origin !== url.origin) for (const h of ORIGIN_BOUND) delete headers[h];
          url = next;
        }
      } catch (e) {
        throw explain(e, url, signal, cfg.timeout_s);
      } finally {
        agent.destroy().catch(() => {});
      }
    },
  };
}

function parseUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new Error(`"${text}" is not a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`Only http:// and https:// URLs can be fetched (got ${url.protocol}).`);
  if (url.username || url.password) throw new Error('URLs with a user name or password are refused; send credentials in an "authorization" header.');
  return url;
}

/** A literal IP in the URL never goes through DNS, so it is judged here. */
function checkTarget(url: URL, policy: AddressPolicy): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!net.isIP(host)) return;
  const why = policy(host);
  if (why) throw refusal(host, host, why);
}

async function render(res: Dispatcher.ResponseData, url: URL, max: number): Promise<string> {
  const type = String(res.headers['content-type'] ?? '');
  const chunks: Buffer[] = [];
  let got = 0;
  let cut = false;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (got + chunk.length > max) {
      chunks.push(chunk.subarray(0, max - got));
      got = max;
      cut = true;
      break; // leaving the loop destroys the body: the rest is never downloaded
    }
    chunks.push(chunk);
    got += chunk.length;
  }
  const bytes = Buffer.concat(chunks);
  const status = `HTTP ${res.statusCode}${STATUS_CODES[res.statusCode] ? ` ${STATUS_CODES[res.statusCode]}` : ''}`;
  const head = [status, type || 'no content type', `${bytes.length.toLocaleString('en-US')} bytes${cut ? ` (cut at max_bytes ${max.toLocaleString('en-US')}; the rest was not read)` : ''}`, url.href].join(' · ');
  if (!isText(type, bytes)) return `${head}\n[binary content, not shown]`;
  // A cut can split the last UTF-8 character; drop its first bytes rather than show garbage.
  const text = decode(cut ? bytes.subarray(0, wholeCharsEnd(bytes) || bytes.length) : bytes, type);
  if (/html|xhtml/i.test(type) || (!type && /^\s*<(!doctype html|html)/i.test(text))) {
    const page = htmlToText(text);
    return `${head}\n${page.title ? `title: ${page.title}\n\n` : '\n'}${page.text}`;
  }
  return `${head}\n\n${text}`;
}

function isText(type: string, bytes: Buffer): boolean {
  const t = type.split(';')[0]!.trim().toLowerCase();
  if (!t) return !bytes.subarray(0, 4096).includes(0);
  return t.startsWith('text/') || /[/+](json|xml|javascript|ecmascript|yaml|csv|x-www-form-urlencoded)$/.test(t) || t === 'application/x-ndjson';
}

function decode(bytes: Buffer, type: string): string {
  const charset = /charset\s*=\s*"?([\w.:-]+)/i.exec(type)?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes); // an unknown charset label
  }
}

function explain(e: unknown, url: URL, signal: AbortSignal, timeout_s: number): Error {
  const blocked = findBlocked(e, 0);
  if (blocked) return blocked;
  const err = e as NodeJS.ErrnoException & { cause?: unknown };
  const root = (err?.cause as NodeJS.ErrnoException | undefined) ?? err;
  if (signal.aborted) return new Error('Cancelled.');
  const code = root?.code ?? err?.code;
  switch (code) {
    case 'ABORT_ERR':
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return new Error(`${url.host} did not answer within ${timeout_s} s.`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new Error(`Host ${url.hostname} was not found (DNS).`);
    case 'ECONNREFUSED':
      return new Error(`${url.host} refused the connection.`);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return new Error(`${url.host} closed the connection unexpectedly.`);
  }
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return new Error(`${url.host} did not answer within ${timeout_s} s.`);
  return new Error(`Fetching ${url.href} failed: ${root?.message ?? String(e)}`);
}

// undici may wrap the connect error (cause) and happy-eyeballs may group several (AggregateError).
function findBlocked(e: unknown, depth: number): BlockedAddressError | undefined {
  if (e instanceof BlockedAddressError) return e;
  if (depth > 4 || !e || typeof e !== 'object') return undefined;
  const { cause, errors } = e as { cause?: unknown; errors?: unknown };
  return findBlocked(cause, depth + 1) ?? (Array.isArray(errors) ? errors.map((x) => findBlocked(x, depth + 1)).find(Boolean) : undefined);
}
