// Bot commands: parsing and the texts they answer with (markdown, rendered by
// the sender like any answer).
import type { AgentControl, AgentStats } from '../../agent/types.ts';
import type { Store, UsageRow } from '../../store/store.ts';
import type { DialogHealth } from '../types.ts';

export const COMMANDS = [
  { command: 'start', description: 'Say hello' },
  { command: 'help', description: 'What I can do' },
  { command: 'reset', description: 'Start a new conversation' },
  { command: 'cancel', description: 'Stop the current answer' },
  { command: 'status', description: 'Device and model status' },
  { command: 'usage', description: 'Tokens and cost, today and this month' },
] as const;

export type CommandName = (typeof COMMANDS)[number]['command'];
const NAMES = new Set<string>(COMMANDS.map((c) => c.command));

export interface ParsedCommand {
  name: string;
  args: string;
  /** Addressed as /cmd@otherbot. */
  forOther: boolean;
  known: boolean;
}

const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)\s*([\s\S]*)$/;

export function parseCommand(text: string, botUsername: string | undefined): ParsedCommand | undefined {
  const m = COMMAND.exec(text.trim());
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  const forOther = m[2] !== undefined && botUsername !== undefined && m[2].toLowerCase() !== botUsername.toLowerCase();
  return { name, args: m[3] ?? '', forOther, known: NAMES.has(name) };
}

export interface CommandContext {
  deviceName: string;
  agent: AgentControl;
  store: Store;
  status(): Record<string, unknown>;
  health(): DialogHealth;
}

/** Runs one of our commands for a session; returns the answer (markdown). */
export async function runCommand(name: string, session: string, c: CommandContext): Promise<string> {
  switch (name) {
    case 'start':
      return `Hello! ${helpText(c.deviceName)}`;
    case 'reset':
      await c.agent.reset(session);
      return 'Done: I forgot our conversation. What next?';
    case 'cancel':
      return c.agent.cancel(session) ? 'Stopped.' : 'Nothing to stop: I am not working on anything for this chat.';
    case 'status':
      return statusText({ deviceName: c.deviceName, status: safe(() => c.status(), {}), stats: c.agent.stats(), today: safe(() => c.store.usageSince(c.store.day()), []), telegram: c.health() });
    case 'usage': {
      const today = c.store.day();
      const month = `${today.slice(0, 7)}-01`;
      const monthName = new Date(`${month}T00:00:00Z`).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
      return usageText(safe(() => c.store.usageSince(today), []), safe(() => c.store.usageSince(month), []), monthName);
    }
    default:
      return helpText(c.deviceName);
  }
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

export function helpText(deviceName: string): string {
  return [
    `I am **${deviceName}**, an assistant running on a small computer at home. Write to me in plain words; I can answer, and act through the tools I have been given.`,
    '',
    'Commands:',
    ...COMMANDS.filter((c) => c.command !== 'start').map((c) => `/${c.command} — ${c.description.toLowerCase()}`),
    '',
    'You can also send a document or a photo: I save it and can work with it.',
  ].join('\n');
}

export interface StatusInput {
  deviceName: string;
  status: Record<string, unknown>;
  stats: AgentStats;
  today: UsageRow[];
  telegram: DialogHealth;
}

export function statusText(s: StatusInput): string {
  const st = s.status;
  const lines: string[] = [`**${s.deviceName}** · up ${duration(num(st.uptime_s))}`];
  lines.push(`Model: \`${s.stats.model || String(st.model ?? 'unknown')}\``);
  const t = totals(s.today);
  lines.push(`Today: ${fmtInt(t.input + t.output)} tokens (${fmtInt(t.input)} in, ${fmtInt(t.output)} out) · ${usd(Math.max(t.cost, s.stats.cost_today_usd))} · ${t.requests} requests`);
  lines.push(`Agent: ${s.stats.running} running, ${s.stats.queued} queued · ${s.stats.turns} turns, ${s.stats.errors} errors`);
  const device: string[] = [];
  const temp = num(st.cpu_temp_c);
  if (temp !== undefined) device.push(`CPU ${temp.toFixed(1)} °C`);
  const rss = num(st.rss_bytes);
  if (rss !== undefined) device.push(`memory ${mb(rss)} RSS`);
  const heap = num(st.heap_used_bytes);
  const limit = num(st.heap_limit_bytes);
  if (heap !== undefined) device.push(`heap ${mb(heap)}${limit ? ` of ${mb(limit)}` : ''}`);
  const load = Array.isArray(st.load) ? num(st.load[0]) : undefined;
  if (load !== undefined) device.push(`load ${load.toFixed(2)}`);
  const disk = num(st.disk_free_bytes);
  if (disk !== undefined) device.push(`disk ${mb(disk)} free`);
  lines.push(`Device: ${device.length ? device.join(' · ') : 'no readings'}`);
  lines.push(`Telegram: ${s.telegram.state}${s.telegram.detail && !s.telegram.ready ? ` (${s.telegram.detail})` : ''}`);
  if (s.stats.last_error) lines.push(`Last error: ${s.stats.last_error.message}`);
  return lines.join('\n');
}

export function usageText(today: UsageRow[], month: UsageRow[], monthName: string): string {
  const block = (title: string, rows: UsageRow[]) => {
    const t = totals(rows);
    const out = [`**${title}**: ${fmtInt(t.input)} in · ${fmtInt(t.output)} out · ${usd(t.cost)} · ${t.requests} requests`];
    for (const r of rows.slice(0, 8)) out.push(`• \`${r.model}\`: ${fmtInt(r.input_tokens)} in · ${fmtInt(r.output_tokens)} out · ${usd(r.cost_usd)}`);
    return out.join('\n');
  };
  return `${block('Today', today)}\n\n${block(monthName, month)}`;
}

function totals(rows: UsageRow[]) {
  let input = 0;
  let output = 0;
  let cost = 0;
  let requests = 0;
  for (const r of rows) {
    input += r.input_tokens;
    output += r.output_tokens;
    cost += r.cost_usd;
    requests += r.requests;
  }
  return { input, output, cost, requests };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function usd(n: number): string {
  return `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
}

function mb(bytes: number): string {
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GB` : `${(bytes / (1 << 20)).toFixed(1)} MB`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return 'unknown';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}
