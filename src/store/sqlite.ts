// Opening better-sqlite3. In the single binary the native addon cannot be
// found by require(); the binary's entry loads it from an embedded asset and
// hands it over once, before any database is opened.
import Database from 'better-sqlite3';
import type { Database as Db, Options } from 'better-sqlite3';

let nativeBinding: object | undefined;

/** Called by the binary's entry with the addon it extracted (process.dlopen). */
export function useNativeBinding(addon: object): void {
  nativeBinding = addon;
}

export function openSqlite(file: string, options: Options = {}): Db {
  return new Database(file, nativeBinding ? { ...options, nativeBinding: nativeBinding as never } : options);
}
