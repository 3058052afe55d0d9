// ${VAR} and ${VAR:-default} in config strings; `$${` writes a literal `${`.
import type { ValidationIssue } from '../util/validate.ts';

const MAX_DEPTH = 64;
const REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?/g;

/**
 * Returns a copy of `value` with every string substituted. Problems (unset
 * variable without default, malformed reference) are pushed to `issues`.
 * `onString(path, fromEnv)` is told about every string leaf.
 * A string that is exactly one reference and yields a number or boolean
 * (`"${AEON_PORT:-7777}"`) becomes that number or boolean; one that yields an
 * empty string (`"${TELEGRAM_BOT_TOKEN:-}"`) leaves its key out.
 */
export function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  issues: ValidationIssue[],
  onString: (path: string, fromEnv: boolean) => void = () => {},
  at = '',
  depth = 0,
): unknown {
  // aeon.json is a few levels deep; a file nested thousands deep would overflow the stack here.
  if (depth > MAX_DEPTH) {
    issues.push({ path: at || '(root)', message: `is nested more than ${MAX_DEPTH} levels deep`, hint: 'aeon.json needs a handful of levels; look for a runaway [ or {' });
    return undefined;
  }
  if (typeof value === 'string') {
    let fromEnv = false;
    const out = value.replace(REF, (whole, name: string | undefined, dflt: string | undefined, bad: string | undefined) => {
      if (whole === '$${') return '${';
      if (name === undefined) {
        issues.push({ path: at || '(root)', message: `has a malformed reference "${whole}"`, hint: 'write ${NAME} or ${NAME:-default}; names are letters, digits and _' });
        void bad;
        return whole;
      }
      fromEnv = true;
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (dflt !== undefined) return dflt;
      issues.push({ path: at || '(root)', message: `uses environment variable ${name}, which is not set`, hint: `set ${name} (in /etc/aeon/env under systemd) or write \${${name}:-default}` });
      return '';
    });
    onString(at, fromEnv);
    if (fromEnv && /^\$\{[^}]+\}$/.test(value)) {
      // "${TOKEN:-}" that yields nothing means "not set": the key is left out.
      if (out === '') return undefined;
      if (/^-?\d+(\.\d+)?$/.test(out) && !/(key|token|password|id|name|model|topic)$/.test(at)) return Number(out);
      if (out === 'true' || out === 'false') return out === 'true';
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, issues, onString, `${at}[${i}]`, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const x = expandEnv(v, env, issues, onString, at ? `${at}.${k}` : k, depth + 1);
      if (x !== undefined) out[k] = x;
    }
    return out;
  }
  return value;
}
