// `<base>/request/<cmd>` → `<base>/response/<cmd>`: small synchronous controls
// (Zigbee2MQTT's bridge request pattern). A command returns its `data`, or
// throws CommandError with a sentence for the `error` field.
import type { AgentControl } from '../../agent/types.ts';
import type { Config } from '../../config/types.ts';
import type { Store } from '../../store/store.ts';
import type { Secrets } from '../../util/secrets.ts';
import type { DialogHealth } from '../types.ts';
import type { Command, RequestPayload } from './types.ts';

export class CommandError extends Error {
  override name = 'CommandError';
}

export const COMMANDS: readonly Command[] = ['ping', 'health', 'session/reset', 'session/list', 'cancel', 'config'];

export interface CommandEnv {
  agent: AgentControl;
  store: Store;
  config: Config;
  secrets: Secrets;
  /** The agent answering MQTT (dialogs.mqtt.agent), undefined for the default. */
  agentId: string | undefined;
  health(): DialogHealth;
  status(): Record<string, unknown>;
  /** Session name of a running prompt, by its id. */
  sessionOfPrompt(id: string): string | undefined;
}

export function isCommand(cmd: string): cmd is Command {
  return (COMMANDS as readonly string[]).includes(cmd);
}

export async function runCommand(cmd: Command, req: RequestPayload, env: CommandEnv): Promise<Record<string, unknown>> {
  switch (cmd) {
    case 'ping':
      return {};
    case 'health':
      return { mqtt: env.health(), agent: env.agent.stats(), device: env.status() };
    case 'session/reset': {
      const session = req.session ?? 'default';
      const key = sessionKey(env, session);
      await env.agent.reset(key);
      return { session, key };
    }
    case 'session/list': {
      const sessions = env.store
        .listSessions(500)
        .filter((s) => s.dialog === 'mqtt')
        .map((s) => ({ session: s.chat, key: s.session_key, agent: s.agent_id, messages: s.messages, updated_at: s.updated_at }));
      return { sessions };
    }
    case 'cancel': {
      let session = req.session;
      if (req.id !== undefined) {
        session = env.sessionOfPrompt(String(req.id));
        if (session === undefined) throw new CommandError(`No running prompt has id ${JSON.stringify(req.id)}.`);
      }
      session ??= 'default';
      const key = sessionKey(env, session);
      return { session, cancelled: env.agent.cancel(key) };
    }
    case 'config':
      return redactConfig(env.config, env.secrets);
  }
}

function sessionKey(env: CommandEnv, chat: string): string {
  return env.agent.sessionKey(env.agentId === undefined ? { dialog: 'mqtt', chat } : { dialog: 'mqtt', chat, agent: env.agentId });
}

// Keys whose values are secrets wherever they appear; dropped, not masked, so
// not even their length leaks.
const SECRET_KEYS = new Set(['api_key', 'bot_token', 'password', 'token', 'headers', 'authorization']);

/** The resolved config without secrets: known secret keys dropped, any known secret value scrubbed. */
export function redactConfig(config: Config, secrets: Secrets): Record<string, unknown> {
  const json = JSON.stringify(config, (key, value) => (SECRET_KEYS.has(key.toLowerCase()) ? undefined : value));
  return JSON.parse(secrets.scrub(json)) as Record<string, unknown>;
}
