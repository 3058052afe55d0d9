// Documents and photos sent to the bot are saved into the workspace under
// `telegram/<chat>/`, streamed to disk with a size cap, so the model can read
// them with its file tools. Anything over the cap is refused with a sentence.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import type { TelegramClient } from './client.ts';
import type { TgMessage } from './update.ts';

/** Telegram's Bot API serves files up to this size through getFile. */
const BOT_API_DOWNLOAD_LIMIT = 20 << 20;

export interface IncomingFile {
  kind: 'document' | 'photo';
  fileId: string;
  name: string;
  size?: number;
  mime?: string;
}

export interface SavedFile {
  /** Path relative to the workspace, with `/`. */
  rel: string;
  bytes: number;
  name: string;
  mime?: string;
}

/** A refusal whose message is meant for the person. */
export class FileRefused extends Error {
  override name = 'FileRefused';
}

/** The document, or the largest photo size that fits the cap. */
export function pickFile(m: TgMessage, maxBytes: number): IncomingFile | undefined {
  const d = m.document;
  if (d && typeof d.file_id === 'string') {
    return {
      kind: 'document',
      fileId: d.file_id,
      name: typeof d.file_name === 'string' && d.file_name ? d.file_name : 'document',
      ...(typeof d.file_size === 'number' ? { size: d.file_size } : {}),
      ...(typeof d.mime_type === 'string' ? { mime: d.mime_type } : {}),
    };
  }
  if (Array.isArray(m.photo) && m.photo.length) {
    const sizes = m.photo.filter((p) => p && typeof p.file_id === 'string').sort((a, b) => (a.file_size ?? 0) - (b.file_size ?? 0));
    const fitting = sizes.filter((p) => (p.file_size ?? 0) <= maxBytes);
    const best = fitting.at(-1) ?? sizes[0];
    if (!best) return undefined;
    return { kind: 'photo', fileId: best.file_id, name: `photo-${m.message_id}.jpg`, mime: 'image/jpeg', ...(typeof best.file_size === 'number' ? { size: best.file_size } : {}) };
  }
  return undefined;
}

export async function saveFile(client: TelegramClient, file: IncomingFile, workspace: string, chatId: number, messageId: number, maxBytes: number, signal?: AbortSignal): Promise<SavedFile> {
  const cap = Math.min(maxBytes, BOT_API_DOWNLOAD_LIMIT);
  if (maxBytes <= 0) throw new FileRefused('Files are switched off on this device (dialogs.telegram.max_file_bytes is 0).');
  if (file.size !== undefined && file.size > cap) throw tooBig(file.size, cap, maxBytes);
  const info = await client.call('getFile', (s) => client.api.getFile({ file_id: file.fileId }, s), signal ? { signal } : {});
  if (typeof info.file_size === 'number' && info.file_size > cap) throw tooBig(info.file_size, cap, maxBytes);
  if (!info.file_path) throw new FileRefused('Telegram did not hand out that file (it may be too big to download); please send it again or smaller.');

  const rel = path.posix.join('telegram', String(chatId), `${stamp()}-${messageId}-${safeName(file.name)}`);
  const dest = path.join(workspace, ...rel.split('/'));
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
  const tmp = `${dest}.part`;
  const body = await client.download(info.file_path, cap, signal);
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > cap) cb(tooBig(bytes, cap, maxBytes));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.from(body), counter, fs.createWriteStream(tmp, { mode: 0o600 }), signal ? { signal } : {});
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (err instanceof FileRefused) throw err;
    throw client.toError('file download', err);
  }
  return { rel, bytes, name: file.name, ...(file.mime ? { mime: file.mime } : {}) };
}

/** What the model is told about a saved file. */
export function fileNote(f: SavedFile): string {
  return `[The user sent ${f.name === 'document' ? 'a file' : `"${f.name}"`} (${human(f.bytes)}${f.mime ? `, ${f.mime}` : ''}). It is saved in the workspace at ${f.rel}]`;
}

function tooBig(size: number, cap: number, maxBytes: number): FileRefused {
  const why = cap < maxBytes ? "Telegram's limit for bots" : 'the limit set in dialogs.telegram.max_file_bytes';
  return new FileRefused(`That file is ${human(size)}; I can take at most ${human(cap)} (${why}).`);
}

function safeName(name: string): string {
  const base = path.basename(name).normalize('NFKC').replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '').slice(-80);
  return base || 'file';
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}
