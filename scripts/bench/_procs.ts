// Child processes driven line by line: the SDK baseline client.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export class LineChild {
  readonly child: ChildProcess;
  readonly #waiting: Array<(l: string) => void> = [];
  readonly #early: string[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      const w = this.#waiting.shift();
      if (w) w(l);
      else this.#early.push(l);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  next(): Promise<string> {
    return this.#early.length ? Promise.resolve(this.#early.shift()!) : new Promise((r) => this.#waiting.push(r));
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  stop(): void {
    this.child.stdin!.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

/** The openai SDK baseline (scripts/bench/_sdk-client.ts), started and ready. */
export async function sdkClient(baseURL: string, mqtt?: { url: string; topic: string }): Promise<LineChild> {
  const c = new LineChild([path.join(import.meta.dirname, '_sdk-client.ts'), baseURL, ...(mqtt ? ['mqtt', mqtt.url, mqtt.topic] : [])]);
  const first = await c.next();
  if (first !== 'ready') throw new Error(`sdk client said ${first}`);
  return c;
}
