// Starts the real Guard with tiny limits, then misbehaves as told:
//   busy    — a JS busy loop (blocked event loop)
//   native  — blocked inside a synchronous native call (spawnSync sleep)
//   heap    — keeps allocating until the heap passes its test budget
//   healthy — behaves, and stops the guard after a while (must exit 0)
import { spawnSync } from 'node:child_process';
import { Guard } from '../../../src/device/guard.ts';
import { createLogger } from '../../../src/log.ts';
import { Secrets } from '../../../src/util/secrets.ts';

const mode = process.argv[2];
const log = createLogger({ level: 'info', secrets: new Secrets() });
const guard = new Guard({ log, blockedMs: 400, heapBudgetBytes: 24 * 1024 * 1024, heapGraceMs: 300, heapCheckMs: 50, killAfterMs: 1000 });
guard.start();
process.on('exit', (code) => process.stderr.write(`exit handler ran (${code})\n`));

setTimeout(() => {
  if (mode === 'busy') {
    for (;;) {
      // runaway
    }
  }
  if (mode === 'native') spawnSync('sleep', ['30']);
  if (mode === 'heap') {
    const keep: number[][] = [];
    const grow = () => {
      for (let i = 0; i < 20; i++) keep.push(new Array(10_000).fill(i));
      setTimeout(grow, 10);
    };
    grow();
  }
  if (mode === 'healthy') {
    const timer = setInterval(() => undefined, 50);
    setTimeout(async () => {
      clearInterval(timer);
      await guard.stop();
    }, 1500);
  }
}, 300);
