// Argument schemas of the built-in tools, as plain data. src/schemas.ts lists
// them so they are compiled ahead of time (validate_tool_<key>); the registry
// uses a precompiled validator only for the very object it was compiled from,
// so a tool that changes its schema can never be checked against a stale one.
// Each property's `description` is what the model reads, and what a validation
// error shows as the hint.

const str = (description: string, extra: object = {}) => ({ type: 'string', description, ...extra });
const bool = (description: string, dflt: boolean) => ({ type: 'boolean', description, default: dflt });
const int = (description: string, minimum: number, maximum: number, extra: object = {}) => ({ type: 'integer', description, minimum, maximum, ...extra });
const args = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

const PATH = 'A path relative to the workspace folder, e.g. "notes/todo.md". ".." is not allowed.';

export const fileReadArgs = args(
  {
    path: str(PATH, { minLength: 1, maxLength: 4096 }),
    offset: int('Byte offset to start reading at, to page through a long file.', 0, Number.MAX_SAFE_INTEGER, { default: 0 }),
  },
  ['path'],
);

export const fileWriteArgs = args(
  {
    path: str(PATH, { minLength: 1, maxLength: 4096 }),
    content: str('The text to write (UTF-8).'),
    append: bool('Add to the end of the file instead of replacing it.', false),
  },
  ['path', 'content'],
);

export const fileListArgs = args({
  path: str(`The folder to list; "." (the default) is the workspace itself. ${PATH}`, { minLength: 1, maxLength: 4096, default: '.' }),
  recursive: bool('Also list the contents of sub-folders.', false),
  max_entries: int('Most entries to list.', 1, 2000, { default: 200 }),
});

const execCommon = {
  command: str('The program to run, by name (e.g. "ls"); it is looked up on PATH.', { minLength: 1, maxLength: 256 }),
  args: { type: 'array', description: 'Arguments passed to the program as they are (no shell: no globbing, pipes or quoting).', maxItems: 256, items: { type: 'string', maxLength: 8192 }, default: [] },
  cwd: str(`Folder to run in, inside the workspace (default: the workspace). ${PATH}`, { minLength: 1, maxLength: 4096 }),
};

export const execArgs = args(execCommon, ['command']);

/** exec under tools.exec.full_trust: also a shell command line. */
export const execFullTrustArgs = args({
  ...execCommon,
  shell: str('A shell command line run with /bin/sh -c (pipes, redirection, globbing). Give either shell or command.', { minLength: 1, maxLength: 65536 }),
});

export const SYSTEM_INFO_SECTIONS = ['cpu', 'memory', 'disk', 'uptime', 'network', 'throttling'] as const;

export const systemInfoArgs = args({
  sections: {
    type: 'array',
    description: `Which parts to report (default: all): ${SYSTEM_INFO_SECTIONS.join(', ')}.`,
    uniqueItems: true,
    minItems: 1,
    items: { type: 'string', enum: SYSTEM_INFO_SECTIONS },
  },
});

export const currentTimeArgs = args({
  timezone: str('An IANA time zone such as "Europe/Berlin" or "America/New_York" (default: the device\'s zone).', { minLength: 1, maxLength: 64 }),
});

export const httpFetchArgs = args(
  {
    url: str('An http:// or https:// URL on the public internet.', { minLength: 1, maxLength: 8192, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' }),
    method: str('GET (default) or POST.', { enum: ['GET', 'POST'], default: 'GET' }),
    headers: { type: 'object', description: 'Extra request headers, e.g. {"accept": "application/json"}.', maxProperties: 32, additionalProperties: { type: 'string', maxLength: 8192 } },
    body: str('Request body for POST (set a content-type header to match).', { maxLength: 1 << 20 }),
  },
  ['url'],
);

/** By validator key (`tool_<key>` in src/schemas.ts). */
export const TOOL_ARG_SCHEMAS: Record<string, object> = {
  file_read: fileReadArgs,
  file_write: fileWriteArgs,
  file_list: fileListArgs,
  exec: execArgs,
  exec_full_trust: execFullTrustArgs,
  system_info: systemInfoArgs,
  current_time: currentTimeArgs,
  http_fetch: httpFetchArgs,
};
