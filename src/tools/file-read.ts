// file_read: text of a file in the workspace, a page at a time so a long file
// never lands in memory (or in the model's context) whole.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { wholeCharsEnd } from './cap-output.ts';
import { fileReadArgs } from './schemas.ts';
import type { Tool } from './types.ts';
import { explainFsError, type Workspace } from './workspace.ts';

export interface FileReadArgs {
  path: string;
  offset: number;
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
// O_NOFOLLOW: the path is already resolved; a link appearing since is not followed.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** `page_bytes`: most bytes returned per call (the smaller of the file cap and the tool-output cap). */
export function fileReadTool(ws: Workspace, page_bytes: number): Tool<FileReadArgs> {
  return {
    name: 'file_read',
    description: `Read a text file from the workspace folder. Long files come in pages of up to ${page_bytes} bytes; the answer says which offset to ask for next.`,
    parameters: fileReadArgs,
    async execute({ path: p, offset }) {
      const real = await ws.resolve(p);
      const shown = await ws.display(real);
      const fh = await fs.open(real, READ_FLAGS).catch((e: unknown) => {
        throw explainFsError(e, shown);
      });
      try {
        const st = await fh.stat();
        if (st.isDirectory()) throw new Error(`"${shown}" is a folder; use file_list to see what it holds.`);
        if (!st.isFile()) throw new Error(`"${shown}" is not a regular file.`);
        if (st.size === 0) return `"${shown}" is empty (0 bytes).`;
        if (offset >= st.size) throw new Error(`Offset ${offset} is at or past the end of "${shown}" (${st.size} bytes).`);
        const want = Math.min(page_bytes, st.size - offset);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, offset);
        const chunk = buf.subarray(0, bytesRead);
        if (chunk.includes(0)) throw new Error(`"${shown}" looks like a binary file (${st.size} bytes); file_read shows text only.`);
        // Stop before a character cut in two; the next page starts with it.
        const end = offset + bytesRead < st.size ? wholeCharsEnd(chunk) || bytesRead : bytesRead;
        const next = offset + end;
        const text = chunk.toString('utf8', 0, end);
        if (offset === 0 && next >= st.size) return text;
        const more = next < st.size ? `; call file_read again with offset ${next} for more` : '; end of file';
        return `${text}\n[file_read: bytes ${offset} to ${next} of ${st.size} in "${shown}"${more}]`;
      } finally {
        await fh.close();
      }
    },
  };
}
