#!/usr/bin/env node
// aeon's command line. Parses flags, loads config and hands over to the
// command; only this file and src/runtime.ts reach for process-wide things.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Loaded } from './config/index.ts';
import { EXIT, UsageError, type CommandContext } from './cli/context.ts';
import { bakedBoard } from './cli/version.ts';

const COMMANDS: Record<string, { summary: string; usage: string; load: () => Promise<(ctx: CommandContext) => Promise<number>> }> = {
  run: { summary: 'run aeon (default): dialogs, health server, watchdog', usage: 'aeon run [--config PATH]', load: async () => (await import('./cli/run.ts')).run },
  check: { summary: 'validate the config; exit 0 when valid, 78 when not', usage: 'aeon check [--config PATH]', load: async () => (await import('./cli/check.ts')).check },
  init: { summary: 'write a commented starter config (never overwrites)', usage: 'aeon init [--config PATH]', load: async () => (await import('./cli/init.ts')).init },
  chat: { summary: 'chat with the agent in this terminal', usage: 'aeon chat [--config PATH] [--session NAME]', load: async () => (await import('./cli/chat.ts')).chat },
  ask: { summary: 'one turn: answer on stdout, errors on stderr (text as argument or on stdin)', usage: 'aeon ask [--config PATH] [--session NAME] [TEXT...]', load: async () => (await import('./cli/chat.ts')).ask },
  sessions: { summary: 'list, show, export, clear or compact stored sessions', usage: 'aeon sessions list|show KEY|export [KEY]|clear KEY|compact [KEY] [--config PATH]', load: async () => (await import('./cli/sessions.ts')).sessions },
  usage: { summary: 'tokens and cost: today, this month, by model', usage: 'aeon usage [--config PATH]', load: async () => (await import('./cli/usage.ts')).usage },
  doctor: { summary: 'compare the board budget with this machine and check every endpoint', usage: 'aeon doctor [--config PATH]', load: async () => (await import('./cli/doctor.ts')).doctor },
  version: { summary: 'print version, commit, board, Node and SQLite versions', usage: 'aeon version', load: async () => (await import('./cli/version.ts')).version },
};

export function helpText(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'aeon — a personal AI agent for small Linux boards',
    '',
    'Usage: aeon [COMMAND] [OPTIONS]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(w)}  ${d.summary}`),
    '',
    'Options:',
    '  --config PATH   config file (default: ./aeon.json, $XDG_CONFIG_HOME/aeon/aeon.json, /etc/aeon/aeon.json, else the embedded default)',
    '  --session NAME  session name for chat and ask (default: "default")',
    '  -h, --help      show this help',
    '  -v, --version   same as `aeon version`',
    '',
    'Exit codes: 0 ok, 1 failed, 64 bad usage, 73 cannot create, 78 bad config, 71 heap over budget (restarted); a blocked event loop is killed (SIGKILL).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        session: { type: 'string', short: 's' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`aeon: ${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\n\nRun \`aeon --help\` for usage.\n`);
    return EXIT.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${helpText()}\n`);
    return EXIT.OK;
  }
  const name = values.version ? 'version' : (positionals[0] ?? 'run');
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`aeon: unknown command "${name}"\n\n${helpText()}\n`);
    return EXIT.USAGE;
  }
  if (values.session !== undefined && name !== 'chat' && name !== 'ask') {
    process.stderr.write(`aeon: --session only goes with chat and ask\n\nUsage: ${cmd.usage}\n`);
    return EXIT.USAGE;
  }
  let loaded: Loaded | undefined;
  const ctx: CommandContext = {
    args: positionals.slice(values.version ? 0 : 1),
    configPath: values.config,
    session: values.session,
    usage: cmd.usage,
    // The single binary bakes in its board; from source the config (or x64) decides.
    config: () => (loaded ??= loadConfig({ path: values.config, defaultBoard: bakedBoard() })),
    stdout: process.stdout,
    stderr: process.stderr,
  };
  try {
    const fn = await cmd.load();
    return await fn(ctx);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`aeon: invalid config ${err.message}\n`);
      return EXIT.CONFIG;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`aeon: ${err.message}\n\nUsage: ${cmd.usage}\n`);
      return EXIT.USAGE;
    }
    const secrets = loaded?.secrets;
    const msg = (err as Error)?.message ?? String(err);
    process.stderr.write(`aeon: ${secrets ? secrets.scrub(msg) : msg}\n`);
    return EXIT.FAIL;
  }
}

// Run when executed directly, not when imported by tests.
if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`aeon: ${(err as Error).stack ?? err}\n`);
      process.exitCode = EXIT.FAIL;
    },
  );
}
