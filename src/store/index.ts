export { Store, StoreError, SCHEMA_VERSION } from './store.ts';
export type { HistoryWindow, NewMessage, Role, SessionParts, SessionRow, StoredMessage, StoreOptions, UsageRow } from './store.ts';

/** The session key: `agent:<agent>:<dialog>:<chat>`. */
export function sessionKey(agent: string, dialog: string, chat: string): string {
  return `agent:${agent}:${dialog}:${chat}`;
}
