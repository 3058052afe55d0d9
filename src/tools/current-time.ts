// current_time: models do not know what time it is; this tells them, in the
// device's zone or any IANA zone, with the offset spelled out.
import { closest } from '../util/validate.ts';
import { currentTimeArgs } from './schemas.ts';
import type { Tool } from './types.ts';

export interface CurrentTimeArgs {
  timezone?: string;
}

export function currentTimeTool(opts: { now?: () => Date; timezone?: string } = {}): Tool<CurrentTimeArgs> {
  const now = opts.now ?? (() => new Date());
  return {
    name: 'current_time',
    description: "The current date and time: ISO 8601 (UTC and local with offset), weekday, and unix seconds. Defaults to the device's time zone.",
    parameters: currentTimeArgs,
    async execute({ timezone }) {
      const zone = timezone ?? opts.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (!validZone(zone)) {
        const near = closest(zone, Intl.supportedValuesOf('timeZone'));
        throw new Error(`Unknown time zone "${zone}"${near ? ` (did you mean "${near}"?)` : ''}. Use an IANA name such as "Europe/Berlin", "America/New_York" or "UTC".`);
      }
      const d = now();
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: zone, dateStyle: 'full', timeStyle: 'long' }).format(d);
      return [`utc: ${d.toISOString()}`, `local: ${localIso(d, zone)} (${local}, ${zone})`, `unix: ${Math.floor(d.getTime() / 1000)}`].join('\n');
    },
  };
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `2025-01-01T21:00:00+09:00`: the wall-clock time in `zone` with its offset. */
export function localIso(d: Date, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  // longOffset is "GMT+09:00", or plain "GMT" for UTC itself.
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : String(parts.timeZoneName).replace('GMT', '');
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}
