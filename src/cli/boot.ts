// Shared start-up for commands that run the agent: logger from config (with
// the config's secrets scrubbed), then the runtime.
import { createLogger, type Logger, type LogLevel } from '../log.ts';
import { Runtime, type RuntimeOptions } from '../runtime.ts';
import type { CommandContext } from './context.ts';

export interface BootOptions {
  /** Log level floor for interactive commands (their terminal belongs to the person). */
  level?: LogLevel;
  /** Logs go to stderr instead of stdout (chat, ask: stdout carries the answer). */
  toStderr?: boolean;
  dialogs?: string[];
  server?: boolean;
  llm?: RuntimeOptions['llm'];
}

export function makeLogger(ctx: CommandContext, opts: BootOptions): Logger {
  const { config, secrets } = ctx.config();
  const level = (process.env.AEON_LOG_LEVEL as LogLevel | undefined) ?? opts.level ?? config.log.level;
  const stream = opts.toStderr ? process.stderr : process.stdout;
  return createLogger({
    level,
    secrets,
    pretty: stream.isTTY === true,
    destination: opts.toStderr ? { write: (s: string) => void process.stderr.write(s) } : undefined,
  });
}

export async function boot(ctx: CommandContext, opts: BootOptions): Promise<Runtime> {
  const loaded = ctx.config();
  const log = makeLogger(ctx, opts);
  for (const w of loaded.warnings) log.warn(w);
  const rt = new Runtime({ config: loaded.config, secrets: loaded.secrets, log, dialogs: opts.dialogs, server: opts.server, llm: opts.llm });
  await rt.start();
  return rt;
}
