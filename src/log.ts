// Logging: pino JSON lines to stdout (journald keeps them), one child logger per
// module (`{mod: "mqtt"}`). No worker-thread transports: each costs megabytes on
// the device. Secrets are scrubbed from the final line, so a token that slips
// into an error message or a URL never reaches the journal.
import { createRequire } from 'node:module';
import pino from 'pino';
import type { Logger as PinoLogger, DestinationStream } from 'pino';
import { Secrets } from './util/secrets.ts';

export type Logger = PinoLogger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogOptions {
  level: LogLevel;
  /** Known secret values (api keys, tokens, passwords) to scrub from every line. */
  secrets: Secrets;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
  /** Human-readable lines (when stdout is a terminal). */
  pretty?: boolean;
}

// Keys whose values are secret wherever they appear in a logged object.
const REDACT_PATHS = [
  'api_key', '*.api_key', '*.*.api_key', 'bot_token', '*.bot_token', '*.*.bot_token',
  'password', '*.password', '*.*.password', 'token', '*.token', '*.*.token',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'headers["x-api-key"]', '*.headers["x-api-key"]',
];

export function createLogger(opts: LogOptions): Logger {
  const dest = opts.destination ?? (opts.pretty ? prettyStream() : pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level: opts.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        // Last line of defence: scrub known secret values from the serialised line.
        streamWrite: (line) => opts.secrets.scrub(line),
      },
      serializers: { err: pino.stdSerializers.err },
    },
    dest,
  );
}

function prettyStream(): DestinationStream {
  // pino-pretty as a plain stream in this thread (no worker transport); loaded
  // only when a person is watching a terminal.
  try {
    const req = createRequire(import.meta.url);
    const pretty = req('pino-pretty') as (o: object) => DestinationStream;
    return pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return pino.destination({ dest: 1, sync: true });
  }
}

/** A logger that drops everything, for tests and tools that need one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
