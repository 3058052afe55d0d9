// `aeon run`: the long-running service. Starts the runtime and the device
// layer, then waits for SIGTERM/SIGINT and stops everything in reverse order.
import { CliDialog } from '../dialogs/cli.ts';
import { boot } from './boot.ts';
import { EXIT, UsageError, type CommandContext } from './context.ts';
import { applyBudgetFlags, startDevice } from './device.ts';
import { makeLogger } from './boot.ts';

export async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument: ${ctx.args[0]}`);
  // The board budget's V8 flags (heap limit...) need a fresh process when absent.
  await applyBudgetFlags(ctx.config().config, makeLogger(ctx, {}));
  const rt = await boot(ctx, {});
  const log = rt.log;
  const device = await startDevice(rt, ctx.config().config);

  let cli: CliDialog | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'stopping');
    device.stopping();
    // Whatever happens, exit well within systemd's TimeoutStopSec.
    const hard = setTimeout(() => {
      log.error('stop took too long; exiting anyway');
      process.exit(EXIT.FAIL);
    }, 15_000);
    hard.unref();
    await cli?.stop();
    await rt.stop();
    await device.stop();
    log.info('stopped');
    resolveDone(EXIT.OK);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGHUP', () => void stop('SIGHUP'));

  const config = rt.config;
  if (config.dialogs.cli.enabled && process.stdin.isTTY) {
    cli = new CliDialog({ agent: rt.agent, store: rt.store, session: 'default', input: process.stdin, output: process.stdout, onExit: () => void stop('cli exit') });
    await cli.start(rt.agent.submit);
  }
  const a = config.agents[rt.agent.defaultAgent]!;
  log.info(
    { board: config.device.board, data_dir: config.device.data_dir, dialogs: rt.dialogs.map((d) => d.name), model: `${a.provider}/${a.model}`, health: device.url },
    `aeon is up${device.url ? `; health on ${device.url}/healthz` : ''}`,
  );
  device.ready();
  return done;
}
