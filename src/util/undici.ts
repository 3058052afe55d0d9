// The two parts of npm undici aeon uses: `Agent` (keep-alive pools, connect
// options) and `request` (the promise API: status, headers, a Readable body).
// Importing the package's index loads all of undici: fetch and WHATWG streams,
// WebSocket, EventSource, the cache and mock agents, proxy agents. That is
// 28.7 MB of RSS over a bare node; these two modules are 15.7 MB, and 10.6 MB
// in the single binary, which leaves node:http2 out too (scripts/build/bundle.mjs;
// docs/benchmarks.md). Every caller passes its own dispatcher, so there is no
// global dispatcher to fall back on.
import Agent from 'undici/lib/dispatcher/agent.js';
import apiRequest from 'undici/lib/api/api-request.js';
import type { Dispatcher } from 'undici';

export { Agent };

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Dispatcher;
  method?: Dispatcher.HttpMethod;
};

/**
 * undici's top-level `request(url, opts)` for a caller that always names its
 * dispatcher: the URL split into origin and path as undici's own wrapper does.
 */
export function request(url: string | URL, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const { dispatcher, method, ...rest } = opts;
  return apiRequest.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: `${u.pathname}${u.search}`,
    method: method ?? (rest.body ? 'PUT' : 'GET'),
  });
}
