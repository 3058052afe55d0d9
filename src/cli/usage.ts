import { Store } from '../store/store.ts';
import { usageText } from '../dialogs/cli.ts';
import { EXIT, UsageError, type CommandContext } from './context.ts';

export async function usage(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument: ${ctx.args[0]}`);
  const { config } = ctx.config();
  const store = Store.open({ path: config.storage.sessions_db });
  try {
    ctx.stdout.write(`${usageText(store)}\n`);
    if (config.budget.daily_usd !== undefined) ctx.stdout.write(`daily budget: $${config.budget.daily_usd.toFixed(2)} ($${store.spentToday().toFixed(4)} spent today)\n`);
    return EXIT.OK;
  } finally {
    store.close();
  }
}
