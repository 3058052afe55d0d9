// Shared by the tool tests: a context, temporary folders, process liveness.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import type { ToolContext } from '../../src/tools/types.ts';

export function ctx(signal: AbortSignal = new AbortController().signal): ToolContext {
  return { signal, session: 'agent:main:test:1', log: silentLogger() };
}

/** A fresh folder, removed when the test file ends. */
export function tmpDir(prefix = 'aeon-tools-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** True while `pid` runs (a zombie waiting to be reaped counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}
