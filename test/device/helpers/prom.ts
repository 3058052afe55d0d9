// A small parser for the Prometheus text format 0.0.4, strict enough to catch
// malformed output: every sample must belong to a declared metric family, label
// values must be properly quoted and escaped, values must parse as floats.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

export function parseProm(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (text && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const where = `line ${i + 1}: ${line}`;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      const f = family(families, m[1]!);
      f.help = m[2]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      const f = family(families, m[1]!);
      if (f.type) throw new Error(`duplicate TYPE, ${where}`);
      if (f.samples.length) throw new Error(`TYPE after samples, ${where}`);
      f.type = m[2]!;
      continue;
    }
    if (line.startsWith('#')) continue;
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed sample, ${where}`);
    const name = m[1]!;
    const labels = parseLabels(m[2] ?? '', where);
    const value = parseValue(m[3]!, where);
    const base = [...families.keys()].find((n) => name === n || (/_(bucket|sum|count)$/.test(name) && name.replace(/_(bucket|sum|count)$/, '') === n && families.get(n)!.type === 'histogram'));
    if (!base) throw new Error(`sample for an undeclared family, ${where}`);
    families.get(base)!.samples.push({ name, labels, value });
  }
  return families;
}

function family(map: Map<string, Family>, name: string): Family {
  let f = map.get(name);
  if (!f) {
    f = { name, help: '', type: '', samples: [] };
    map.set(name, f);
  }
  return f;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  let s = text.slice(1, -1);
  while (s.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(s);
    if (!m) throw new Error(`malformed labels, ${where}`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    s = s.slice(m[0].length);
  }
  return out;
}

function parseValue(v: string, where: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  const n = Number(v);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) || Number.isNaN(n)) throw new Error(`bad value, ${where}`);
  return n;
}

export function sample(f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const fam of f.values()) {
    for (const s of fam.samples) {
      if (s.name !== name) continue;
      if (Object.keys(labels).length !== Object.keys(s.labels).length) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
