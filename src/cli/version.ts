import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pkg from '../../package.json' with { type: 'json' };
import type { CommandContext } from './context.ts';
import { EXIT } from './context.ts';
import { openSqlite } from '../store/sqlite.ts';

/** Set by build.mjs in the single binary; absent when running from source. */
declare const AEON_BUILD: { commit: string; board: string } | undefined;

export const VERSION: string = pkg.version;

/** The board baked into the single binary, if this is one (cheap: no git call). */
export function bakedBoard(): string | undefined {
  return typeof AEON_BUILD !== 'undefined' ? AEON_BUILD.board : undefined;
}

export function buildInfo(): { version: string; commit: string; board: string | undefined } {
  if (typeof AEON_BUILD !== 'undefined') return { version: pkg.version, commit: AEON_BUILD.commit, board: AEON_BUILD.board };
  let commit = 'unknown';
  try {
    const dir = path.dirname(fileURLToPath(import.meta.url));
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return { version: pkg.version, commit: `${commit} (source)`, board: undefined };
}

export async function version(ctx: CommandContext): Promise<number> {
  const b = buildInfo();
  const db = openSqlite(':memory:');
  const sqlite = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  db.close();
  ctx.stdout.write(
    `aeon ${b.version}\ncommit ${b.commit}\nboard ${b.board ?? 'any (from config)'}\nnode ${process.versions.node} (${process.platform}-${process.arch})\nsqlite ${sqlite}\n`,
  );
  return EXIT.OK;
}
