import fs from 'node:fs';
import path from 'node:path';
import type { CommandContext } from './context.ts';
import { EXIT, UsageError } from './context.ts';

export const STARTER = `// aeon configuration. Comments like this one are allowed.
// Every string may use \${VAR} or \${VAR:-default} to take values from the
// environment: keep secrets in the environment (under systemd: /etc/aeon/env),
// not in this file. Check it with: aeon check --config <this file>
{
  "device": {
    // Lowercase id used in MQTT topics and Home Assistant ids.
    "id": "aeon",
    "name": "aeon",
    // Board profile (memory budget): pi-zero-2w, pi-3b, pi-4, pi-5, x64.
    "board": "pi-zero-2w",
    // Where the database and the tools' workspace live.
    "data_dir": "\${STATE_DIRECTORY:-~/.local/share/aeon}"
  },
  "log": { "level": "info" },
  // Health endpoint: /healthz /readyz /metrics /status. Off loopback it needs "token".
  "server": { "host": "127.0.0.1", "port": 7777 },
  "agents": {
    "main": {
      // openai, openrouter, ollama, lmstudio, openai-compatible or anthropic.
      "provider": "ollama",
      "model": "llama3.2",
      "base_url": "\${AEON_LLM_BASE_URL:-http://127.0.0.1:11434/v1}",
      // "api_key": "\${OPENAI_API_KEY}",
      "system_prompt": "You are aeon, a helpful assistant running on a small Linux board at home. Answer briefly and plainly.",
      "tools": ["current_time", "system_info", "file_read", "file_write", "file_list"],
      "max_tokens": 1024,
      "context_tokens": 8192
      // Other models to try when this one fails before answering:
      // "fallbacks": [{ "provider": "openrouter", "model": "openai/gpt-4o-mini", "api_key": "\${OPENROUTER_API_KEY}" }]
    }
  },
  "dialogs": {
    "cli": { "enabled": true },
    "telegram": {
      "enabled": false,
      "bot_token": "\${TELEGRAM_BOT_TOKEN:-}",
      // Your numeric Telegram user id (the bot tells you yours when you write to it).
      "allowed_users": []
    },
    "mqtt": {
      "enabled": false,
      "url": "mqtt://127.0.0.1:1883"
      // "username": "aeon", "password": "\${MQTT_PASSWORD}"
    }
  },
  "storage": { "sessions_db": "aeon.db", "retention_days": 90 },
  "tools": {
    "workspace": "workspace",
    // Programs the exec tool may run (add "exec" to the agent's tools too).
    "exec": { "allow": [] },
    // Topics the agent may publish to, e.g. "zigbee2mqtt/+/set", "cmnd/+/POWER".
    "mqtt_publish": { "allow": [] }
  },
  // Money: most USD spent on LLM calls per day.
  "budget": { "daily_usd": 1 }
}
`;

export async function init(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument: ${ctx.args[0]}`);
  const file = path.resolve(ctx.configPath ?? 'aeon.json');
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // wx: fail if it exists, so an existing config is never overwritten.
    fs.writeFileSync(file, STARTER, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    ctx.stderr.write(e.code === 'EEXIST' ? `aeon init: ${file} already exists; it was left as it is.\n` : `aeon init: cannot write ${file}: ${e.message}\n`);
    return EXIT.CANT_CREATE;
  }
  ctx.stdout.write(`wrote ${file}\nnext: edit it, then run \`aeon check --config ${file}\`\n`);
  return EXIT.OK;
}
