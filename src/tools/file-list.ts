// file_list: what a workspace folder holds, with sizes and types. Bounded by
// max_entries however large the tree is, and it never descends through a
// symbolic link (no escape, no cycles).
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileListArgs } from './schemas.ts';
import type { Tool } from './types.ts';
import { explainFsError, type Workspace } from './workspace.ts';

export interface FileListArgs {
  path: string;
  recursive: boolean;
  max_entries: number;
}

interface Listing {
  lines: string[];
  limit: number;
  truncated: boolean;
}

export function fileListTool(ws: Workspace): Tool<FileListArgs> {
  return {
    name: 'file_list',
    description: 'List a folder of the workspace: names, types and sizes. Folders end in "/". Use recursive: true to include sub-folders.',
    parameters: fileListArgs,
    async execute({ path: p, recursive, max_entries }, { signal }) {
      const real = await ws.resolve(p);
      const shown = await ws.display(real);
      const st = await fs.stat(real).catch((e: unknown) => {
        throw explainFsError(e, shown);
      });
      if (!st.isDirectory()) throw new Error(`"${shown}" is a file (${st.size} bytes), not a folder; use file_read to read it.`);
      const out: Listing = { lines: [], limit: max_entries, truncated: false };
      await list(real, '', recursive, out, signal).catch((e: unknown) => {
        throw explainFsError(e, shown);
      });
      const head = `Folder "${shown}"${recursive ? ' and its sub-folders' : ''}: ${out.lines.length} entr${out.lines.length === 1 ? 'y' : 'ies'}${out.truncated ? ` (stopped at max_entries ${max_entries}; list a sub-folder to see more)` : ''}.`;
      return out.lines.length ? `${head}\n${out.lines.join('\n')}` : `${head} It is empty.`;
    },
  };
}

async function list(dir: string, prefix: string, recursive: boolean, out: Listing, signal: AbortSignal): Promise<void> {
  const entries = await readBounded(dir, out.limit - out.lines.length + 1);
  if (entries.length > out.limit - out.lines.length) out.truncated = true;
  // Folders first, then by name: stable output the model can compare between calls.
  entries.sort((a, b) => Number(b.isDirectory()) - Number(a.isDirectory()) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    signal.throwIfAborted();
    if (out.lines.length >= out.limit) {
      out.truncated = true;
      return;
    }
    const name = prefix + e.name;
    if (e.isDirectory()) {
      out.lines.push(`${name}/`);
      if (recursive) await list(path.join(dir, e.name), `${name}/`, true, out, signal);
    } else if (e.isSymbolicLink()) {
      out.lines.push(`${name}  (symbolic link)`);
    } else if (e.isFile()) {
      const size = await fs.lstat(path.join(dir, e.name)).then((s) => s.size, () => undefined);
      out.lines.push(size === undefined ? name : `${name}  ${size.toLocaleString('en-US')} bytes`);
    } else {
      out.lines.push(`${name}  (special file)`);
    }
  }
}

/** Up to `max` entries of a folder, read incrementally (a folder of 100,000 files is not loaded whole). */
async function readBounded(dir: string, max: number): Promise<Dirent[]> {
  const got: Dirent[] = [];
  const d = await fs.opendir(dir, { bufferSize: 64 });
  try {
    for (let e = await d.read(); e && got.length < max; e = await d.read()) got.push(e);
  } finally {
    await d.close();
  }
  return got;
}
