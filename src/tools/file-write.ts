// file_write: replace or append to a file in the workspace, atomically. The new
// content goes to a temporary file in the same folder, is flushed, then renamed
// over the target, so a crash or power cut (the norm on a Pi) leaves either
// the old file or the new one, never half of each.
import { constants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileWriteArgs } from './schemas.ts';
import type { Tool } from './types.ts';
import { explainFsError, type Workspace } from './workspace.ts';

export interface FileWriteArgs {
  path: string;
  content: string;
  append: boolean;
}

const NEW_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW;

export function fileWriteTool(ws: Workspace, max_bytes: number): Tool<FileWriteArgs> {
  return {
    name: 'file_write',
    description: `Write a text file in the workspace folder (replacing it, or appending with append: true). Folders are created as needed. Files may be at most ${max_bytes} bytes.`,
    parameters: fileWriteArgs,
    async execute({ path: p, content, append }) {
      const real = await ws.resolve(p);
      const shown = await ws.display(real);
      if (real === (await ws.root())) throw new Error('The workspace folder itself cannot be written; give a file name.');
      const bytes = Buffer.byteLength(content);
      if (bytes > max_bytes) throw new Error(`The content is ${bytes} bytes; files may be at most ${max_bytes} bytes. Write less, or split it over several files.`);
      const existing = await fs.lstat(real).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null;
        throw explainFsError(e, shown);
      });
      if (existing?.isDirectory()) throw new Error(`"${shown}" is a folder; give a file name inside it.`);
      if (existing && !existing.isFile()) throw new Error(`"${shown}" is not a regular file; it cannot be written.`);
      const keep = append && existing ? existing.size : 0;
      if (keep + bytes > max_bytes) {
        throw new Error(`Appending ${bytes} bytes would make "${shown}" ${keep + bytes} bytes; files may be at most ${max_bytes} bytes.`);
      }
      try {
        await fs.mkdir(path.dirname(real), { recursive: true, mode: 0o700 });
        await replace(real, content, append ? existing : null, existing?.mode);
      } catch (e) {
        throw explainFsError(e, shown);
      }
      return append && existing ? `Appended ${bytes} bytes to "${shown}" (now ${keep + bytes} bytes).` : `Wrote ${bytes} bytes to "${shown}".`;
    },
  };
}

async function replace(target: string, content: string, appendTo: Stats | null, mode: number | undefined): Promise<void> {
  // Dot-prefixed and random, in the target's folder so rename stays on one file system.
  // node:crypto loads on the first write, not at start-up (~2 MB of RSS, docs/benchmarks.md).
  const random = process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex');
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${random}.tmp`);
  try {
    if (appendTo) await fs.copyFile(target, tmp, constants.COPYFILE_EXCL);
    const fh = await fs.open(tmp, appendTo ? APPEND_FLAGS : NEW_FLAGS, 0o666);
    try {
      await fh.writeFile(content);
      // One flush per write: needed for the crash guarantee, cheap next to the rename's own journal commit.
      await fh.datasync();
      if (mode !== undefined) await fh.chmod(mode & 0o7777);
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}
