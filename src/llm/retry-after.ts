// How long a server asked us to wait, from its response headers. OpenAI sends
// `retry-after-ms` next to the standard `Retry-After` (RFC 9110: delay-seconds
// or an HTTP-date); the finer one wins when both are present.

type HeaderValue = string | string[] | undefined;

/**
 * Milliseconds to wait before retrying, or undefined when the headers say
 * nothing usable. An HTTP-date in the past means "now" (0). `now` is injectable
 * so tests do not depend on the wall clock.
 */
export function retryAfterMs(headers: Record<string, HeaderValue>, now: number = Date.now()): number | undefined {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = first(headers['retry-after'])?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  // An HTTP-date always names a weekday and month; Date.parse alone would take "-3" as a year.
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
