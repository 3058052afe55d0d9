// `aeon chat` (interactive) and `aeon ask` (one turn, for scripts).
import { CliDialog } from '../dialogs/cli.ts';
import type { TurnResult } from '../dialogs/types.ts';
import { boot } from './boot.ts';
import { EXIT, UsageError, type CommandContext } from './context.ts';

const SESSION = /^[A-Za-z0-9._-]{1,64}$/;

function sessionName(ctx: CommandContext): string {
  const s = ctx.session ?? 'default';
  if (!SESSION.test(s)) throw new UsageError(`--session must be 1 to 64 letters, digits, ".", "_" or "-" (got "${s}")`);
  return s;
}

export async function chat(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument: ${ctx.args[0]}`);
  const session = sessionName(ctx);
  const rt = await boot(ctx, { level: 'warn', toStderr: true, dialogs: [], server: false });
  return new Promise<number>((resolve) => {
    const cli = new CliDialog({
      agent: rt.agent,
      store: rt.store,
      session,
      input: process.stdin,
      output: process.stdout,
      onExit: () => {
        void cli.stop().then(() => rt.stop()).then(() => resolve(EXIT.OK));
      },
    });
    void cli.start(rt.agent.submit);
  });
}

export async function ask(ctx: CommandContext): Promise<number> {
  const session = sessionName(ctx);
  let text = ctx.args.join(' ');
  if (!text && !process.stdin.isTTY) text = (await readAll(process.stdin)).trim();
  if (!text.trim()) throw new UsageError('nothing to ask: give the text as arguments or on stdin');
  const rt = await boot(ctx, { level: 'error', toStderr: true, dialogs: [], server: false });
  const onSignal = () => rt.agent.cancel(rt.agent.sessionKey({ dialog: 'cli', chat: session }));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await new Promise<TurnResult>((resolve) => {
      let wrote = false;
      rt.agent.submit(
        { dialog: 'cli', chat: session, text, user: 'cli' },
        {
          delta: (d) => {
            wrote = true;
            process.stdout.write(d);
          },
          final: (r) => {
            if (wrote) process.stdout.write('\n');
            resolve(r);
          },
        },
      );
    });
    if (result.error) {
      process.stderr.write(`aeon: ${result.error.message}\n`);
      return EXIT.FAIL;
    }
    return EXIT.OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rt.stop();
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
