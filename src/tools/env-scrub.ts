// The environment a child process gets: aeon's own, minus anything secret.
// Programs the model runs can print their environment, and what they print
// goes to the model and maybe to a chat; API keys and tokens must not.

/** Where known secret values come from: util/secrets.ts `Secrets`, or a plain list. */
export type SecretSource = { scrub(text: string): string } | readonly string[];

// Names that hold credentials by convention, and aeon's own settings.
const SECRET_NAME = /(^|_)(API_?KEY|TOKEN)$|PASSWORD|PASSWD|SECRET|^AEON_/i;
// systemd hands these to aeon alone; a child using NOTIFY_SOCKET could speak for aeon.
const AEON_ONLY = new Set(['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']);

/** True when `value` contains a known secret. */
export function containsSecret(value: string, secrets: SecretSource): boolean {
  if (!value) return false;
  if ('scrub' in secrets && typeof secrets.scrub === 'function') return secrets.scrub(value) !== value;
  return (secrets as readonly string[]).some((s) => s.length > 0 && value.includes(s));
}

/** A copy of `env` without secret-looking names and without any variable whose value holds a known secret. */
export function scrubEnv(env: NodeJS.ProcessEnv, secrets: SecretSource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || SECRET_NAME.test(name) || AEON_ONLY.has(name)) continue;
    if (containsSecret(value, secrets)) continue;
    out[name] = value;
  }
  return out;
}
