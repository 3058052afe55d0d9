// Kept apart from src/util/undici.ts, which loads undici: the LLM layer
// imports this at start-up and loads undici only on its first request.
import type { Dispatcher } from 'undici';

/**
 * Drops a response body unread and frees its socket. undici's body emits an
 * AbortError when destroyed before its end; with no listener that would be an
 * uncaught exception.
 */
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}
