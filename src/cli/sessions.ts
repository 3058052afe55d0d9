// `aeon sessions list|show|export|clear|compact`: the store, from the shell.
import { Store } from '../store/store.ts';
import { usageText } from '../dialogs/cli.ts';
import { boot } from './boot.ts';
import { EXIT, UsageError, type CommandContext } from './context.ts';

function openStore(ctx: CommandContext): Store {
  const { config } = ctx.config();
  return Store.open({ path: config.storage.sessions_db, cache_kb: config.budget.sqlite_cache_kb });
}

export async function sessions(ctx: CommandContext): Promise<number> {
  const [sub, key, ...extra] = ctx.args;
  if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`);
  if (sub === 'compact') return compactCmd(ctx, key);
  const store = openStore(ctx);
  try {
    switch (sub) {
      case 'list':
      case undefined: {
        const rows = store.listSessions(1000);
        if (!rows.length) ctx.stdout.write('no sessions\n');
        for (const r of rows) {
          ctx.stdout.write(`${r.session_key}\t${r.messages} messages\tupdated ${new Date(r.updated_at).toISOString()}${r.summary ? '\tsummarised' : ''}\n`);
        }
        return EXIT.OK;
      }
      case 'show': {
        const s = need(store, key);
        ctx.stdout.write(`${s.session_key} (agent ${s.agent_id}, ${s.dialog} ${s.chat}), ${s.messages} messages, created ${new Date(s.created_at).toISOString()}\n`);
        if (s.summary) ctx.stdout.write(`summary: ${s.summary}\n`);
        for (const m of store.messages(s.session_key)) {
          const calls = m.tool_calls?.length ? ` [calls ${m.tool_calls.map((c) => `${c.name}(${c.arguments})`).join(', ')}]` : '';
          const who = m.role === 'tool' ? `tool ${m.name}${m.is_error ? ' (error)' : ''}` : m.role;
          ctx.stdout.write(`${new Date(m.created_at).toISOString()} ${who}${m.compacted ? ' (summarised)' : ''}: ${m.content}${calls}\n`);
        }
        return EXIT.OK;
      }
      case 'export': {
        const keys = key ? [need(store, key).session_key] : store.listSessions(1_000_000).map((r) => r.session_key);
        for (const k of keys) {
          const s = store.getSession(k)!;
          ctx.stdout.write(`${JSON.stringify({ type: 'session', ...s })}\n`);
          for (const m of store.messages(k)) ctx.stdout.write(`${JSON.stringify({ type: 'message', ...m })}\n`);
        }
        return EXIT.OK;
      }
      case 'clear': {
        const s = need(store, key);
        const n = store.clearSession(s.session_key);
        ctx.stdout.write(`cleared ${s.session_key} (${n} messages)\n`);
        return EXIT.OK;
      }
      default:
        throw new UsageError(`unknown sessions command "${sub}"`);
    }
  } finally {
    store.close();
  }
}

function need(store: Store, key: string | undefined) {
  if (!key) throw new UsageError('which session? give its key (see `aeon sessions list`)');
  const s = store.getSession(key) ?? store.listSessions(1_000_000).find((r) => r.session_key.endsWith(`:${key}`));
  if (!s) throw new Error(`no session "${key}" (see \`aeon sessions list\`)`);
  return s;
}

async function compactCmd(ctx: CommandContext, key: string | undefined): Promise<number> {
  const rt = await boot(ctx, { level: 'warn', toStderr: true, dialogs: [], server: false });
  try {
    const keys = key ? [need(rt.store, key).session_key] : rt.store.listSessions(1_000_000).map((r) => r.session_key);
    for (const k of keys) {
      const r = await rt.agent.compactSession(k, true);
      ctx.stdout.write(`${k}: ${r.how === 'none' ? 'nothing to compact' : `${r.compacted} messages ${r.how === 'summary' ? 'summarised' : 'trimmed (summarising failed)'}`}\n`);
    }
    return EXIT.OK;
  } finally {
    await rt.stop();
  }
}

export { usageText };
