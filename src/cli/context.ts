// What every command gets from src/main.ts.
import type { Loaded } from '../config/index.ts';

/** sysexits.h codes, which systemd and scripts understand. */
export const EXIT = {
  OK: 0,
  FAIL: 1,
  USAGE: 64,
  CANT_CREATE: 73,
  CONFIG: 78,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CommandContext {
  /** Positional arguments after the command name. */
  args: string[];
  configPath?: string;
  session?: string;
  usage: string;
  /** Loads (once) and returns the config; throws ConfigError. */
  config(): Loaded;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}
