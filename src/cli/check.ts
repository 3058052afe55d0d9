import type { CommandContext } from './context.ts';
import { EXIT } from './context.ts';

export async function check(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) ctx.stderr.write(`aeon check: ignoring extra arguments: ${ctx.args.join(' ')}\n`);
  const { config, warnings } = ctx.config();
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
  const enabled = Object.entries(config.dialogs).filter(([, d]) => d.enabled).map(([n]) => n);
  ctx.stdout.write(
    `config ok: ${config.source}\n` +
      `  board ${config.device.board} (heap ${config.budget.heap_mb} MB, ${config.budget.max_concurrent_turns} concurrent turns)\n` +
      `  agents: ${Object.entries(config.agents).map(([id, a]) => `${id} (${a.provider}/${a.model})`).join(', ')}\n` +
      `  dialogs: ${enabled.join(', ') || 'none'}\n` +
      `  data: ${config.device.data_dir}\n`,
  );
  return EXIT.OK;
}
