// The one JSON Schema for aeon.json. Compiled once, at build time, into a
// standalone validator (scripts/gen-validators.mjs): loading ajv at start-up
// costs ~13 MB of RSS on the device (docs/measurements). Each property carries a
// `description`, which the error formatter shows as the fix hint.

const str = (description: string, extra: object = {}) => ({ type: 'string', description, ...extra });
const int = (description: string, minimum: number, maximum: number, extra: object = {}) => ({ type: 'integer', minimum, maximum, description, ...extra });
const num = (description: string, minimum: number, maximum: number, extra: object = {}) => ({ type: 'number', minimum, maximum, description, ...extra });
const bool = (description: string, dflt: boolean) => ({ type: 'boolean', default: dflt, description });
const obj = (description: string, properties: Record<string, unknown>, extra: object = {}) => ({
  type: 'object',
  description,
  additionalProperties: false,
  default: {},
  properties,
  ...extra,
});

export const PROVIDERS = ['openai', 'openrouter', 'ollama', 'lmstudio', 'openai-compatible', 'anthropic'] as const;
export const TOOL_NAMES = ['file_read', 'file_write', 'file_list', 'exec', 'system_info', 'current_time', 'http_fetch', 'mqtt_publish', 'mqtt_read', 'message_send'] as const;

const ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

const modelRef = {
  provider: str(`LLM wire protocol / vendor: one of ${PROVIDERS.join(', ')}.`, { enum: PROVIDERS }),
  model: str('Model name as the provider knows it, e.g. "gpt-4o-mini", "llama3.2", "claude-sonnet-4-5".', { minLength: 1 }),
  base_url: str('API base URL. OpenAI-compatible: include /v1 (http://127.0.0.1:11434/v1 for Ollama). Anthropic: the origin (https://api.anthropic.com).', { pattern: '^https?://' }),
  api_key: str('API key; put it in the environment and write "${OPENAI_API_KEY}" here. Ollama and LM Studio need none.'),
  headers: { type: 'object', description: 'Extra HTTP headers sent with every LLM request (e.g. OpenRouter HTTP-Referer, X-Title).', additionalProperties: { type: 'string' } },
  price: {
    type: 'object',
    description: 'USD per million tokens, overriding the built-in table, e.g. {"input": 0.15, "output": 0.6}.',
    additionalProperties: false,
    required: ['input', 'output'],
    properties: {
      input: num('USD per million input tokens.', 0, 10000),
      output: num('USD per million output tokens.', 0, 10000),
    },
  },
};

const agentSchema = {
  type: 'object',
  description: 'An agent: which model answers, with which prompt and tools.',
  additionalProperties: false,
  required: ['provider', 'model'],
  properties: {
    ...modelRef,
    max_tokens: int('Most tokens the model may write per answer.', 1, 1_000_000, { default: 1024 }),
    temperature: num('Sampling temperature, 0 to 2.', 0, 2),
    system_prompt: str('The system prompt text.'),
    system_prompt_file: str('A file holding the system prompt (~ expands; relative to the config file).'),
    fallbacks: {
      type: 'array',
      description: 'Models to try, in order, when this one fails before answering. Missing fields are taken from the agent.',
      default: [],
      maxItems: 8,
      items: { type: 'object', additionalProperties: false, required: ['model'], properties: modelRef },
    },
    tools: {
      type: 'array',
      description: `Tools this agent may use: any of ${TOOL_NAMES.join(', ')}.`,
      default: [],
      uniqueItems: true,
      items: { type: 'string', enum: TOOL_NAMES },
    },
    max_tool_iterations: int('Most model round trips with tool calls in one turn.', 0, 64, { default: 8 }),
    context_tokens: int("The model's context window in tokens; history is compacted to stay under it.", 512, 10_000_000, { default: 8192 }),
    turn_timeout_s: int('Longest a whole turn may take, in seconds.', 5, 3600, { default: 300 }),
    retries: int('Retries per model on 429, 5xx or network errors before any text reached the user.', 0, 10, { default: 2 }),
    timeouts: obj('LLM transport bounds.', {
      connect_s: int('Seconds to open the connection.', 1, 600, { default: 10 }),
      first_byte_s: int('Seconds from request to the first byte of the answer.', 1, 3600, { default: 120 }),
      idle_s: int('Longest silence, in seconds, between two chunks of a streaming answer.', 1, 3600, { default: 60 }),
      max_response_bytes: int('Largest whole response accepted, in bytes.', 1024, 1 << 30, { default: 8 << 20 }),
    }),
  },
};

const boardBudget = {
  heap_mb: int('V8 old-space heap limit in MB (--max-old-space-size).', 16, 65536),
  semi_space_mb: int('V8 semi-space size in MB (--max-semi-space-size); 1 saves RSS on small boards.', 1, 64),
  v8_flags: { type: 'array', description: 'Extra V8 flags applied at start-up, e.g. ["--optimize-for-size"].', items: { type: 'string', pattern: '^--[a-z0-9-]+(=[^ ]+)?$' } },
  max_concurrent_turns: int('Turns (across sessions) that may run at once.', 1, 1024),
  queue_per_session: int('Messages that may wait behind a running turn in one session.', 0, 1024),
  queue_total: int('Messages that may wait across all sessions; beyond it senders get "busy".', 1, 100_000),
  history_messages: int('Most stored messages loaded into one prompt (plus the summary).', 2, 10_000),
  max_message_bytes: int('Largest inbound message accepted, in bytes.', 256, 16 << 20),
  tool_output_bytes: int('Largest tool output kept (head and tail, middle elided), in bytes.', 256, 16 << 20),
  sse_buffer_bytes: int('Largest single SSE event accepted from an LLM, in bytes.', 1024, 64 << 20),
  sqlite_cache_kb: int('SQLite page cache, in KiB.', 64, 1 << 20),
  event_loop_lag_ms: int('Event-loop lag above which the watchdog stops pinging systemd, in ms.', 50, 600_000),
  memory_max_mb: int('Suggested systemd MemoryMax for this board, in MB.', 32, 1 << 20),
};

export const configSchema = {
  $id: 'https://aeon.local/aeon.schema.json',
  title: 'aeon configuration (aeon.json)',
  type: 'object',
  additionalProperties: false,
  required: ['agents'],
  properties: {
    $schema: { type: 'string', description: 'JSON Schema reference for editors; ignored.' },
    device: obj('This device.', {
      id: str('Device id used in MQTT topics and Home Assistant ids: lowercase letters, digits, - and _.', { pattern: ID_PATTERN, default: 'aeon' }),
      name: str('Human-readable device name.', { minLength: 1, maxLength: 64, default: 'aeon' }),
      board: str('Board profile, a file in boards/: pi-zero-2w, pi-3b, pi-4, pi-5, x64.', { pattern: '^[a-z0-9-]+$' }),
      data_dir: str('Where aeon keeps its database and workspace (~ expands). Under systemd: /var/lib/aeon.', { minLength: 1, default: '~/.local/share/aeon' }),
    }),
    log: obj('Logging.', {
      level: str('One of fatal, error, warn, info, debug, trace, silent (AEON_LOG_LEVEL overrides).', { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' }),
    }),
    server: obj('Local HTTP server for /healthz, /readyz, /metrics, /status.', {
      enabled: bool('Serve the health endpoint.', true),
      host: str('Address to bind; anything but loopback needs server.token.', { minLength: 1, default: '127.0.0.1' }),
      port: int('TCP port (0 picks a free one).', 0, 65535, { default: 7777 }),
      token: str('Bearer token required for everything but /healthz; required off loopback.', { minLength: 16 }),
    }),
    agents: {
      type: 'object',
      description: 'Agents by id, e.g. {"main": {"provider": "ollama", "model": "llama3.2", ...}}.',
      minProperties: 1,
      propertyNames: { pattern: ID_PATTERN },
      additionalProperties: agentSchema,
    },
    dialogs: obj('Ways people and systems talk to aeon.', {
      cli: obj('Terminal chat (aeon chat, aeon ask; in aeon run only when stdin is a terminal).', {
        enabled: bool('Offer the terminal dialog.', true),
        agent: str('Agent id that answers.', { pattern: ID_PATTERN }),
      }),
      telegram: obj('Telegram bot over long polling.', {
        enabled: bool('Run the Telegram bot.', false),
        bot_token: str('Bot token from @BotFather; write "${TELEGRAM_BOT_TOKEN}" and keep it in the environment.', { pattern: '^[^\\s]+$' }),
        allowed_users: { type: 'array', description: 'Numeric Telegram user ids allowed to talk to the bot.', default: [], items: { type: 'integer' }, uniqueItems: true },
        allowed_chats: { type: 'array', description: 'Numeric chat ids (groups) the bot answers in.', default: [], items: { type: 'integer' }, uniqueItems: true },
        api_root: str('Bot API root URL.', { pattern: '^https?://', default: 'https://api.telegram.org' }),
        agent: str('Agent id that answers.', { pattern: ID_PATTERN }),
        group_mode: str('In groups answer only when mentioned or replied to ("mention") or to every message ("all").', { enum: ['mention', 'all'], default: 'mention' }),
        poll_timeout_s: int('Long-poll timeout in seconds.', 1, 50, { default: 30 }),
        stream: bool('Edit the reply in place while it streams.', true),
        rate_limit_per_minute: int('Messages per user per minute before "slow down".', 1, 600, { default: 20 }),
        max_file_bytes: int('Largest document or photo saved into the workspace, in bytes.', 0, 50 << 20, { default: 10 << 20 }),
      }),
      mqtt: obj('MQTT dialog and Home Assistant integration.', {
        enabled: bool('Connect to an MQTT broker.', false),
        url: str('Broker URL: mqtt://, mqtts://, ws:// or wss://.', { pattern: '^(mqtts?|wss?)://', default: 'mqtt://127.0.0.1:1883' }),
        username: str('Broker user name.'),
        password: str('Broker password; write "${MQTT_PASSWORD}" and keep it in the environment.'),
        ca: str('CA certificate file for mqtts:// (~ expands).'),
        cert: str('Client certificate file (~ expands).'),
        key: str('Client key file (~ expands).'),
        reject_unauthorized: bool('Verify the broker certificate.', true),
        client_id: str('MQTT client id (default: aeon-<device.id>).', { minLength: 1, maxLength: 128 }),
        protocol_version: { type: 'integer', enum: [4, 5], default: 5, description: 'MQTT protocol version: 5, or 4 for 3.1.1 brokers.' },
        base_topic: str('Base topic (default: aeon/<device.id>).', { pattern: '^[^#+]+$' }),
        agent: str('Agent id that answers.', { pattern: ID_PATTERN }),
        discovery: bool('Publish Home Assistant device discovery.', true),
        discovery_prefix: str('Home Assistant discovery prefix.', { pattern: '^[^#+]+$', default: 'homeassistant' }),
        tele_period_s: int('Seconds between telemetry messages (0 turns them off).', 0, 86400, { default: 300 }),
        max_payload_bytes: int('Largest prompt payload accepted, in bytes.', 64, 1 << 20, { default: 16384 }),
        qos: { type: 'integer', enum: [0, 1, 2], default: 1, description: 'QoS for prompts and final replies: 0, 1 or 2.' },
        stream: bool('Publish reply deltas even when a prompt does not ask for them.', false),
        offline_queue: int('Final replies kept while the broker is away.', 0, 10000, { default: 100 }),
      }),
    }),
    storage: obj('Session storage (SQLite).', {
      sessions_db: str('Database file (~ expands; relative to data_dir).', { minLength: 1, default: 'aeon.db' }),
      max_history_messages: int('Most stored messages loaded into one prompt (default from the board).', 2, 10_000),
      retention_days: int('Delete messages older than this many days (0 keeps them forever).', 0, 36500, { default: 90 }),
      compaction: obj('Summarise old turns when a session nears the context window.', {
        enabled: bool('Compact long sessions.', true),
        threshold: num('Fraction of the context window at which to compact.', 0.1, 0.95, { default: 0.75 }),
        keep_recent: int('Most recent messages never summarised.', 2, 1000, { default: 8 }),
        mode: str('What happens to summarised rows: "mark" keeps them (hidden from prompts), "delete" removes them.', { enum: ['mark', 'delete'], default: 'mark' }),
      }),
    }),
    tools: obj('Tool settings.', {
      workspace: str('Folder the file tools and exec are confined to (~ expands; relative to data_dir).', { minLength: 1, default: 'workspace' }),
      timeout_s: int('Default timeout per tool call, in seconds.', 1, 3600, { default: 30 }),
      file: obj('file_read, file_write, file_list.', {
        max_bytes: int('Largest file read or written, in bytes.', 1, 1 << 30, { default: 1 << 20 }),
      }),
      exec: obj('exec: run programs in the workspace.', {
        allow: { type: 'array', description: 'Program names exec may run, e.g. ["ls", "df", "vcgencmd"].', default: [], items: { type: 'string', pattern: '^[A-Za-z0-9._+-]+$' }, uniqueItems: true },
        full_trust: bool('Let exec run any command through the shell. Only on a device you alone use.', false),
        timeout_s: int('Timeout per command, in seconds.', 1, 3600, { default: 30 }),
      }),
      http_fetch: obj('http_fetch: GET/POST web pages and APIs.', {
        allow_private: bool('Allow loopback and private-network targets (LAN devices).', false),
        max_bytes: int('Largest response read, in bytes.', 1024, 64 << 20, { default: 1 << 20 }),
        timeout_s: int('Timeout per request, in seconds.', 1, 600, { default: 20 }),
      }),
      mqtt_publish: obj('mqtt_publish: act on the home.', {
        allow: { type: 'array', description: 'Topic patterns (MQTT wildcards) the agent may publish to, e.g. ["zigbee2mqtt/+/set", "cmnd/+/POWER"].', default: [], items: { type: 'string', minLength: 1 } },
      }),
      mqtt_read: obj('mqtt_read: read the last value of a topic.', {
        topics: { type: 'array', description: 'Topic patterns to subscribe and cache, e.g. ["zigbee2mqtt/+", "tele/+/SENSOR"].', default: [], items: { type: 'string', minLength: 1 } },
        max_entries: int('Most topics cached.', 1, 100_000, { default: 500 }),
      }),
      message_send: obj('message_send: send a Telegram message to an allowed chat.', {
        allow_chats: { type: 'array', description: 'Chat ids the agent may message (default: the allowed users and chats).', items: { type: 'integer' } },
      }),
    }),
    budget: obj('Money and memory limits. Memory values default from the board profile.', {
      daily_usd: num('Most USD spent on LLM calls per day (UTC); then requests are refused.', 0, 1_000_000),
      per_user_daily_usd: num('Most USD spent per user per day.', 0, 1_000_000),
      ...boardBudget,
    }),
  },
} as const;

/** Schema for boards/*.json. */
export const boardSchema = {
  $id: 'https://aeon.local/board.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'arch', 'ram_mb', 'budget'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9-]+$' },
    description: { type: 'string' },
    arch: { type: 'string', enum: ['arm64', 'x64'] },
    ram_mb: { type: 'integer', minimum: 128 },
    budget: {
      type: 'object',
      additionalProperties: false,
      required: Object.keys(boardBudget),
      properties: boardBudget,
    },
  },
} as const;
