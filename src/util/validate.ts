// JSON Schema validation shared by config, tools and dialogs: ajv error objects
// turned into one line per problem, `path: what is wrong (got ...) — hint`.
import { createRequire } from 'node:module';
import { AJV_OPTIONS } from './ajv-options.ts';

export interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, any>;
  message?: string;
  schema?: unknown;
  parentSchema?: Record<string, any>;
  data?: unknown;
}

export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}

export interface ValidationIssue {
  /** Dotted path: `agents.main.provider`; `(root)` for the top. */
  path: string;
  message: string;
  hint?: string;
}

let ajv: { compile(schema: object): ValidateFunction } | undefined;

/**
 * Compiles a schema at run time, loading ajv on first use only. Schemas known at
 * build time belong in src/schemas.ts instead (precompiled, no ajv at start-up).
 */
export function compileSchema(schema: object): ValidateFunction {
  if (!ajv) {
    const req = createRequire(import.meta.url);
    const Ajv = req('ajv').default as new (o: object) => { compile(schema: object): ValidateFunction };
    ajv = new Ajv({ ...AJV_OPTIONS, strict: false });
  }
  return ajv.compile(schema);
}

/** Validates and returns issues (empty when valid). Defaults are filled in place. */
export function check(validate: ValidateFunction, data: unknown): ValidationIssue[] {
  if (validate(data)) return [];
  return formatErrors(validate.errors ?? []);
}

export function formatErrors(errors: AjvError[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  // A bad property name also yields a second error for the same name; keep the first.
  for (const e of errors) {
    const issue = toIssue(e);
    if (!issue) continue;
    const key = `${issue.path}\0${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
  }
  return out;
}

export function formatIssues(issues: ValidationIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}${i.hint ? ` — ${i.hint}` : ''}`).join('\n');
}

function toIssue(e: AjvError): ValidationIssue | null {
  const base = pointerToPath(e.instancePath);
  const ps = e.parentSchema ?? {};
  const desc = typeof ps.description === 'string' ? ps.description : undefined;
  const got = describe(e.data);
  switch (e.keyword) {
    case 'required': {
      const key = String(e.params.missingProperty);
      const sub = ps.properties?.[key];
      return { path: join(base, key), message: 'is required but missing', hint: sub?.description };
    }
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys(ps.properties ?? {});
      const near = closest(key, known);
      const hint = near ? `did you mean "${near}"?` : known.length ? `known keys: ${known.join(', ')}` : undefined;
      return { path: join(base, key), message: 'is not a known key', hint };
    }
    case 'propertyNames':
      return null; // reported by the nested keyword with the property name
    case 'type':
      return { path: base, message: `must be ${article(String(e.params.type))} (got ${got})`, hint: desc };
    case 'enum':
      return { path: base, message: `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${got})`, hint: nearEnum(e) };
    case 'pattern':
      if (e.params.propertyName !== undefined || e.instancePath.endsWith('/')) break;
      return { path: base, message: `has an invalid value (got ${got})`, hint: desc };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: base, message: `must be ${e.params.comparison} ${e.params.limit} (got ${got})`, hint: desc };
    case 'minLength':
      return { path: base, message: e.params.limit === 1 ? 'must not be empty' : `must be at least ${e.params.limit} characters long`, hint: desc };
    case 'maxLength':
      return { path: base, message: `must be at most ${e.params.limit} characters long`, hint: desc };
    case 'minProperties':
      return { path: base, message: `must have at least ${e.params.limit} entr${e.params.limit === 1 ? 'y' : 'ies'}`, hint: desc };
    case 'minItems':
    case 'maxItems':
      return { path: base, message: e.message ?? e.keyword, hint: desc };
    case 'uniqueItems':
      return { path: base, message: `has duplicate items (${e.params.j} and ${e.params.i})`, hint: desc };
  }
  if (e.params?.propertyName !== undefined) {
    return { path: join(base, String(e.params.propertyName)), message: 'is not a valid name (use lowercase letters, digits, - and _)' };
  }
  return { path: base, message: e.message ?? `fails ${e.keyword}`, hint: desc };
}

function pointerToPath(p: string): string {
  if (!p) return '(root)';
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join('');
}

function join(base: string, key: string): string {
  return base === '(root)' ? key : `${base}.${key}`;
}

function article(type: string): string {
  const t = type.split(',')[0] ?? type;
  return ({ integer: 'an integer', object: 'an object', array: 'an array' } as Record<string, string>)[t] ?? `a ${t}`;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}..."` : s;
}

function nearEnum(e: AjvError): string | undefined {
  if (typeof e.data !== 'string') return undefined;
  const near = closest(e.data, (e.params.allowedValues as unknown[]).map(String));
  return near ? `did you mean "${near}"?` : undefined;
}

/** A candidate the word starts, else the one within edit distance 2 (or a third of the length), if any. */
export function closest(word: string, candidates: string[]): string | undefined {
  const lower = word.toLowerCase();
  if (lower.length >= 3) {
    const prefixed = candidates.find((c) => c.toLowerCase().startsWith(lower));
    if (prefixed) return prefixed;
  }
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
