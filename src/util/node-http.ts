// node:http and node:https without their ESM namespace. `import ... from
// 'node:http'` builds the namespace, which evaluates the lazy WebSocket/fetch
// exports and so loads Node's bundled undici: 60.9 MB RSS against 46.8 MB for
// process.getBuiltinModule (bare node: 43.4 MB), Node 24.21 x64.
import type * as Http from 'node:http';
import type * as Https from 'node:https';

export const http = process.getBuiltinModule('node:http') as typeof Http;
export const STATUS_CODES = http.STATUS_CODES;

/** Loaded on first use: only `aeon doctor` speaks https through node:https. */
export function https(): typeof Https {
  return process.getBuiltinModule('node:https') as typeof Https;
}
