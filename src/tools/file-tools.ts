// file_read, file_write and file_list, sharing one workspace.
import type { Config } from '../config/types.ts';
import { fileListTool } from './file-list.ts';
import { fileReadTool } from './file-read.ts';
import { fileWriteTool } from './file-write.ts';
import type { Tool } from './types.ts';
import { Workspace } from './workspace.ts';

export type FileToolsConfig = Pick<Config['tools'], 'workspace' | 'file'>;

// Room left in a file_read answer for its "[bytes a to b of n ...]" note.
const NOTE_ROOM = 256;

/**
 * `max_output_bytes` (the board's tool-output cap), when given, keeps file_read
 * pages small enough to reach the model whole instead of with the middle elided.
 */
export function fileTools(cfg: FileToolsConfig, opts: { max_output_bytes?: number; workspace?: Workspace } = {}): Tool[] {
  const ws = opts.workspace ?? new Workspace(cfg.workspace);
  const page = Math.max(1, Math.min(cfg.file.max_bytes, opts.max_output_bytes ? opts.max_output_bytes - NOTE_ROOM : Infinity));
  return [fileReadTool(ws, page), fileWriteTool(ws, cfg.file.max_bytes), fileListTool(ws)];
}
