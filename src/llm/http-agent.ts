// The process's one keep-alive HTTP agent for LLM requests, created on first
// use. undici is imported lazily (only its Agent and request, src/util/undici.ts):
// loading it and making one request costs megabytes of RSS (docs/benchmarks.md),
// which a process that never reaches an LLM (aeon check, doctor, a broken
// config) should not pay, and start-up stays short.
import type { Agent, Dispatcher } from 'undici';

type Undici = typeof import('../util/undici.ts');

let undici: Promise<Undici> | undefined;
// One agent per connect timeout (undici sets it per agent, not per request); in
// practice every model of a device shares one value, so this holds one agent.
const agents = new Map<number, Agent>();

export function loadUndici(): Promise<Undici> {
  undici ??= import('../util/undici.ts');
  return undici;
}

/** The shared agent for this connect timeout. Keeps sockets alive between turns. */
export async function sharedAgent(connectTimeoutMs: number): Promise<Dispatcher> {
  const existing = agents.get(connectTimeoutMs);
  if (existing) return existing;
  const { Agent } = await loadUndici();
  const again = agents.get(connectTimeoutMs); // another caller may have won the await
  if (again) return again;
  const agent = new Agent({
    connectTimeout: connectTimeoutMs,
    // Providers close idle sockets after ~60 s; 30 s keeps a conversation's
    // follow-up turns on a warm TLS connection without holding sockets forever.
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    // Our own timers (sse.ts) enforce first byte and idle bounds precisely;
    // these only stop undici's 300 s defaults from cutting long answers short.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  agents.set(connectTimeoutMs, agent);
  return agent;
}

/** Closes every shared socket (at shutdown, and in tests so the process can exit). */
export async function closeSharedAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.destroy().catch(() => {})));
}
