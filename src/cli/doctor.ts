import { formatDoctor, runDoctor } from '../device/doctor.ts';
import { UsageError, type CommandContext } from './context.ts';

export async function doctor(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument: ${ctx.args[0]}`);
  const { config, warnings } = ctx.config();
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
  const r = await runDoctor({ config });
  ctx.stdout.write(formatDoctor(r));
  return r.exitCode;
}
