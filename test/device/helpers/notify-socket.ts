// A real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET (see
// notify-listener.py), plus a check that the binaries the tests need exist:
// a missing one fails the test with the Debian package to install.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface NotifyMessage {
  /** Receive time, ms since the epoch. */
  t: number;
  pid: number | null;
  fields: string[];
  fds: number;
}

/** Throws a clear error when `bin` cannot run: the test fails, telling what to install. */
export function requireBinary(bin: string, args: string[], debianPackage: string): void {
  const r = spawnSync(bin, args, { stdio: 'ignore' });
  if (r.error || r.status === null) {
    throw new Error(`${bin} is needed by this test but cannot run (${r.error?.message ?? `signal ${r.signal}`}): install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`);
  }
}

export class NotifySocket {
  readonly dir: string;
  readonly path: string;
  readonly messages: NotifyMessage[] = [];
  #proc: ChildProcess | undefined;
  #waiters: Array<() => void> = [];

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-notify-'));
    this.path = path.join(this.dir, 'notify.sock');
  }

  async start(): Promise<void> {
    requireBinary('python3', ['-c', 'import socket; socket.SCM_CREDENTIALS'], 'python3');
    const script = path.join(import.meta.dirname, 'notify-listener.py');
    const proc = spawn('python3', [script, this.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#proc = proc;
    const lines = createInterface({ input: proc.stdout! });
    await new Promise<void>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`notify listener exited early (${code})`)));
      lines.on('line', (line) => {
        const m = JSON.parse(line) as NotifyMessage & { listening?: string };
        if (m.listening) return resolve();
        this.messages.push(m);
        for (const w of this.#waiters.splice(0)) w();
      });
    });
  }

  /** Messages carrying `field` (e.g. `WATCHDOG=1`), BARRIER messages excluded. */
  with(field: string): NotifyMessage[] {
    return this.messages.filter((m) => m.fields.includes(field));
  }

  /** Waits until `pred` holds over the received messages. */
  async waitFor(pred: (msgs: NotifyMessage[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for notify messages; got ${JSON.stringify(this.messages.map((m) => m.fields))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.#proc?.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
