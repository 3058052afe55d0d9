// The folder the file tools and exec are confined to. A path from the model is
// accepted only when it stays inside, both as written and after the kernel
// would follow symbolic links: the deepest existing ancestor is resolved with
// realpath, so a link inside the workspace that points out is refused, while a
// link that points elsewhere inside is fine.
import fs from 'node:fs/promises';
import path from 'node:path';

/** Told to the model whenever a path is refused, so it can fix the call. */
export const PATH_RULE =
  'Paths are relative to the workspace folder (an absolute path must lie inside it); ".." and symbolic links that lead outside the workspace are refused.';

export class Workspace {
  /** As configured (absolute). */
  readonly dir: string;
  #real: Promise<string> | undefined;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /** The real path of the workspace, created (mode 0700) on first use. */
  root(): Promise<string> {
    if (!this.#real) {
      const p = fs.mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => fs.realpath(this.dir));
      // A failure (disk not mounted yet) is retried on the next call rather than remembered.
      p.catch(() => {
        if (this.#real === p) this.#real = undefined;
      });
      this.#real = p;
    }
    return this.#real;
  }

  /**
   * The real absolute path for `p`, or a thrown Error stating the path rule.
   * Components that do not exist yet are appended to the resolved ancestor;
   * a broken symbolic link on the way is refused (its target could lie anywhere).
   */
  async resolve(p: string): Promise<string> {
    const root = await this.root();
    if (p.includes('\0')) throw refuse(p, 'it contains a NUL character');
    if (p.split(/[\\/]+/).includes('..')) throw refuse(p, 'it contains ".."');
    const abs = path.isAbsolute(p) ? path.resolve(p) : path.resolve(root, p);
    if (!inside(root, abs) && !inside(this.dir, abs)) throw refuse(p, 'it is outside the workspace');
    const real = await realResolve(abs);
    if (!inside(root, real)) throw refuse(p, 'it leads outside the workspace through a symbolic link');
    return real;
  }

  /** `real` as the model should see it: relative to the workspace, "." for the root. */
  async display(real: string): Promise<string> {
    return path.relative(await this.root(), real) || '.';
  }
}

export function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

async function realResolve(abs: string): Promise<string> {
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return path.join(await fs.realpath(at), ...missing.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const st = await fs.lstat(at).catch(() => null);
      if (st?.isSymbolicLink()) throw refuse(abs, 'it goes through a broken symbolic link');
      const up = path.dirname(at);
      if (up === at) throw e;
      missing.push(path.basename(at));
      at = up;
    }
  }
}

function refuse(p: string, why: string): Error {
  return new Error(`Path "${p}" is refused: ${why}. ${PATH_RULE}`);
}

/** A filesystem error as a sentence the model can act on (`shown` is the workspace-relative path). */
export function explainFsError(e: unknown, shown: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new Error(`"${shown}" does not exist. Use file_list to see what is there.`);
    case 'ENOTDIR':
      return new Error(`A part of "${shown}" is a file, not a folder.`);
    case 'EISDIR':
      return new Error(`"${shown}" is a folder, not a file.`);
    case 'ELOOP':
      return new Error(`"${shown}" is a symbolic link; it is not followed here. ${PATH_RULE}`);
    case 'EACCES':
    case 'EPERM':
      return new Error(`Permission denied for "${shown}".`);
    case 'ENOSPC':
      return new Error(`The disk is full; "${shown}" was not written.`);
    case 'EROFS':
      return new Error(`The file system is read-only; "${shown}" was not written.`);
    default:
      return e instanceof Error ? new Error(`"${shown}": ${e.message}`) : new Error(`"${shown}": ${String(e)}`);
  }
}
