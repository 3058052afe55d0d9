// Seeded input generators for the fuzz tests: random values of every JSON
// type (and a few that are not JSON), structure-aware mutations of a valid
// object, and byte-level mutations of a valid text. Everything comes from one
// PRNG, so a seed and a case number reproduce an input exactly.
import { prng } from './sse-replay.ts';

export type Rand = () => number;

export class Fuzz {
  readonly seed: number;
  readonly rand: Rand;

  constructor(seed: number) {
    this.seed = seed;
    this.rand = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  chance(p: number): boolean {
    return this.rand() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Strings that break naive code: empty, huge, control characters, lone surrogates, markup, paths, numbers as text. */
  string(): string {
    switch (this.int(12)) {
      case 0:
        return '';
      case 1:
        return 'x'.repeat(1 + this.int(70_000));
      case 2:
        return String.fromCharCode(...Array.from({ length: 1 + this.int(40) }, () => this.int(0x20)));
      case 3:
        return '\ud800\udfff\ud83d' + 'é漢字🙂'.repeat(1 + this.int(5));
      case 4:
        return this.pick(['<b>', '</i>', '*_`[', '${HOME}', '$${x}', '${', '../../etc/passwd', '\\u0000', '%s%n', 'null', 'true', '1e309', '-0', '{"a":', ']', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'main']);
      case 5:
        return this.pick(['/start', '/reset@other_bot', '/help@', '@TestNameBot hi', '/' + 'a'.repeat(40)]);
      case 6:
        return ' \t\r\n '.repeat(1 + this.int(4));
      default:
        return Array.from({ length: 1 + this.int(30) }, () => String.fromCharCode(0x20 + this.int(0x5f))).join('');
    }
  }

  number(): number {
    return this.pick([0, -1, 1, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1.5, 1e308, Number.MAX_SAFE_INTEGER, this.int(1_000_000), -this.int(1000)]);
  }

  /** A random JSON value, nested up to `depth`. */
  value(depth = 3): unknown {
    const k = this.int(depth > 0 ? 9 : 6);
    switch (k) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.number();
      case 3:
      case 4:
        return this.string();
      case 5:
        return undefined;
      case 6:
        return Array.from({ length: this.int(4) }, () => this.value(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(4); i > 0; i--) put(o, this.pick(KEYS), this.value(depth - 1));
        return o;
      }
    }
  }

  /**
   * A structure-aware mutation of `base` (deep-copied): a few edits, each
   * replacing, deleting or adding a field somewhere in the tree, or changing
   * the type of a value.
   */
  mutate<T>(base: T, edits = 1 + this.int(3)): unknown {
    let root: unknown = structuredClone(base);
    for (let e = 0; e < edits; e++) {
      const paths = allPaths(root);
      const path = this.pick(paths);
      if (path.length === 0) {
        if (this.chance(0.2)) root = this.value();
        continue;
      }
      const parent = get(root, path.slice(0, -1)) as Record<string, unknown> | unknown[];
      const key = path[path.length - 1]!;
      const op = this.int(5);
      if (op === 0) {
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete (parent as Record<string, unknown>)[key];
      } else if (op === 1 && !Array.isArray(parent)) {
        put(parent, this.pick(KEYS), this.value(2));
      } else {
        put(parent, key, this.value(2));
      }
    }
    return root;
  }

  /** Byte-level damage to a text: flips, cuts, repeats, inserted bytes and markers. */
  mangle(text: string, edits = 1 + this.int(4)): string {
    let s = text;
    for (let e = 0; e < edits; e++) {
      const i = this.int(s.length + 1);
      switch (this.int(7)) {
        case 0:
          s = s.slice(0, i) + s.slice(i + 1 + this.int(20));
          break;
        case 1:
          s = s.slice(0, i) + this.pick(['\n', '\r', '\r\n', '\n\n', 'data: ', 'event: error\n', ':', '{', '}', '"', '\\', '\u0000', '\ufffd', ']', ',', '/*', '//']) + s.slice(i);
          break;
        case 2:
          s = s.slice(0, i);
          break;
        case 3: {
          const j = this.int(s.length + 1);
          s = s.slice(0, i) + s.slice(Math.min(i, j), Math.max(i, j)) + s.slice(i);
          break;
        }
        case 4:
          s = s.slice(0, i) + String.fromCharCode(this.int(0x10000)) + s.slice(i + 1);
          break;
        case 5:
          s = s.replace(/\n/g, this.pick(['\r\n', '\r', '\n']));
          break;
        default:
          s = s.slice(0, i) + this.string().slice(0, 200) + s.slice(i);
      }
    }
    return s;
  }
}

// Field names aeon reads somewhere: mutations that add them reach real code paths.
const KEYS = [
  'text', 'id', 'session', 'reply_to', 'stream', 'transaction', 'choices', 'delta', 'content', 'tool_calls', 'index', 'function', 'name',
  'arguments', 'finish_reason', 'usage', 'prompt_tokens', 'completion_tokens', 'error', 'message', 'type', 'code', 'object', 'content_block',
  'partial_json', 'stop_reason', 'input_tokens', 'output_tokens', 'update_id', 'chat', 'from', 'entities', 'caption', 'document', 'photo',
  'file_id', 'reply_to_message', 'message_thread_id', 'is_topic_message', 'user', 'offset', 'length', 'agents', 'provider', 'model', 'dialogs',
  'enabled', 'tools', 'budget', 'device', 'board', '__proto__', 'constructor',
];

// An own property even for "__proto__", as JSON.parse would make it.
function put(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function allPaths(v: unknown, at: string[] = [], out: string[][] = []): string[][] {
  out.push(at);
  if (v && typeof v === 'object' && out.length < 500) {
    for (const k of Object.keys(v)) allPaths((v as Record<string, unknown>)[k], [...at, k], out);
  }
  return out;
}

function get(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const k of path) cur = (cur as Record<string, unknown>)[k];
  return cur;
}

/** Runs `fn` for cases 0..n-1; a failure names the seed and case so it can be replayed. */
export async function forCases(n: number, seed: number, what: string, fn: (i: number, f: Fuzz) => unknown | Promise<unknown>, maxCaseMs = 2000): Promise<void> {
  for (let i = 0; i < n; i++) {
    const f = new Fuzz(seed * 100_003 + i);
    const t0 = performance.now();
    try {
      await fn(i, f);
    } catch (err) {
      throw new Error(`${what}: seed ${seed} case ${i} (AEON_FAULT_SEED=${seed}): ${(err as Error)?.message ?? err}`, { cause: err });
    }
    const ms = performance.now() - t0;
    if (ms > maxCaseMs) throw new Error(`${what}: seed ${seed} case ${i} took ${ms.toFixed(0)} ms (bound ${maxCaseMs} ms)`);
  }
}
