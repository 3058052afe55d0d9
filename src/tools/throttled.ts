// Raspberry Pi firmware throttling flags (`vcgencmd get_throttled`): the one
// sign of a weak power supply or an overheating board, both common causes of
// SD-card corruption and random crashes on an unattended Pi.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';

/** Where the firmware driver exposes the flags (hex, no 0x) on Raspberry Pi OS kernels. */
export const THROTTLED_SYSFS = '/sys/devices/platform/soc/soc:firmware/get_throttled';

const NOW: Array<[number, string]> = [
  [0, 'under-voltage'],
  [1, 'frequency capped'],
  [2, 'throttled'],
  [3, 'soft temperature limit'],
];
// The same conditions, latched since boot, sit 16 bits higher.
const SINCE_BOOT = NOW.map(([bit, word]): [number, string] => [bit + 16, word]);

/** Words for the flags, e.g. `under-voltage now; has occurred since boot: under-voltage, throttled`. */
export function decodeThrottled(flags: number): string {
  const now = NOW.filter(([b]) => flags & (1 << b)).map(([, w]) => w);
  const past = SINCE_BOOT.filter(([b]) => flags & (1 << b)).map(([, w]) => w);
  if (!now.length && !past.length) return 'none (power and temperature fine since boot)';
  const parts = [];
  if (now.length) parts.push(`${now.join(', ')} now`);
  parts.push(past.length ? `has occurred since boot: ${past.join(', ')}` : 'nothing earlier since boot');
  return `${parts.join('; ')} (0x${flags.toString(16)})`;
}

/** Parses `50005`, `0x50005` or `throttled=0x50005`. */
export function parseThrottled(text: string): number | undefined {
  const m = /(?:throttled=)?(?:0x)?([0-9a-f]+)/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number.parseInt(m[1]!, 16);
  return Number.isFinite(n) ? n : undefined;
}

/** The flags from sysfs, else from vcgencmd when installed; undefined when neither exists (not a Pi). */
export async function readThrottled(opts: { path?: string; vcgencmd?: boolean; signal?: AbortSignal } = {}): Promise<number | undefined> {
  const fromFile = await fs.readFile(opts.path ?? THROTTLED_SYSFS, 'utf8').then(parseThrottled, () => undefined);
  if (fromFile !== undefined || opts.vcgencmd === false) return fromFile;
  return new Promise((resolve) => {
    execFile('vcgencmd', ['get_throttled'], { timeout: 3000, signal: opts.signal }, (err, stdout) => {
      resolve(err ? undefined : parseThrottled(stdout));
    });
  });
}
