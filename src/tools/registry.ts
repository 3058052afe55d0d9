// The one door between the model and the tools: looks a call up by name, checks
// its JSON arguments against the tool's schema, runs it under a timeout and the
// turn's abort signal, and caps what goes back. `run` never throws: every
// failure becomes an error result the model can read and act on.
import * as precompiled from '../gen/validators.js';
import type { ToolCall, ToolSpec } from '../llm/types.ts';
import type { Logger } from '../log.ts';
import { check, closest, compileSchema, formatIssues, type ValidateFunction } from '../util/validate.ts';
import { capOutput } from './cap-output.ts';
import { SCHEMAS } from '../schemas.ts';
import type { Tool, ToolContext, ToolResult } from './types.ts';

export { capOutput } from './cap-output.ts';

export interface RegistryOptions {
  /** For tools without their own `timeout_ms`. */
  default_timeout_ms: number;
  /** Largest result text, in UTF-8 bytes (board budget `tool_output_bytes`). */
  max_output_bytes: number;
  log: Logger;
  /** Known secret values, removed from every result before the model sees it. */
  secrets?: { scrub(text: string): string };
}

// OpenAI and Anthropic both accept only these names for functions.
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

// Precompiled validators by the schema object they were compiled from.
const PRECOMPILED = new Map<object, ValidateFunction>();
// Every tool schema in src/schemas.ts (built-ins and the dialogs' tools alike).
for (const [key, schema] of Object.entries(SCHEMAS)) {
  if (!key.startsWith('tool_')) continue;
  const fn = (precompiled as unknown as Record<string, ValidateFunction | undefined>)[`validate_${key}`];
  if (fn) PRECOMPILED.set(schema, fn);
}

class ToolTimeout extends Error {}

export class ToolRegistry {
  readonly #tools = new Map<string, Tool>();
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #opts: RegistryOptions;
  readonly #log: Logger;

  constructor(tools: Tool[], opts: RegistryOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ mod: 'tools' });
    for (const t of tools) this.register(t);
  }

  /** Adds a tool (dialogs add mqtt_publish, message_send). Throws on a bad or duplicate name: a start-up error. */
  register(tool: Tool): void {
    if (!NAME.test(tool.name)) throw new Error(`Tool name "${tool.name}" is invalid: use 1 to 64 letters, digits, _ or -.`);
    if (this.#tools.has(tool.name)) throw new Error(`Tool "${tool.name}" is registered twice.`);
    this.#tools.set(tool.name, tool);
  }

  names(): string[] {
    return [...this.#tools.keys()];
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  /** The specs offered to the model for an agent's `tools` list. Throws on an unknown name (start-up). */
  specs(names: string[]): ToolSpec[] {
    return names.map((name) => {
      const t = this.#tools.get(name);
      if (!t) {
        const near = closest(name, this.names());
        throw new Error(`Unknown tool "${name}"${near ? ` (did you mean "${near}"?)` : ''}; available: ${this.#available()}.`);
      }
      return { name: t.name, description: t.description, parameters: t.parameters };
    });
  }

  /** Runs one call. Never throws; never outlives its timeout or `ctx.signal`. */
  async run(call: ToolCall, ctx: ToolContext): Promise<ToolResult> {
    const started = performance.now();
    const result = await this.#run(call, ctx);
    const content = capOutput(this.#opts.secrets ? this.#opts.secrets.scrub(result.content) : result.content, this.#opts.max_output_bytes);
    this.#log.debug({ tool: call.name, id: call.id, session: ctx.session, ms: Math.round(performance.now() - started), is_error: result.is_error, chars: content.length }, 'tool call');
    return { content, is_error: result.is_error };
  }

  async #run(call: ToolCall, ctx: ToolContext): Promise<ToolResult> {
    const tool = this.#tools.get(call.name);
    if (!tool) return fail(`There is no tool "${call.name}". Available tools: ${this.#available()}.`);
    let args: unknown;
    try {
      // Some models send "" for a tool without arguments.
      args = call.arguments.trim() ? JSON.parse(call.arguments) : {};
    } catch (e) {
      return fail(`The arguments for ${tool.name} are not valid JSON (${(e as Error).message}). Send one JSON object matching the tool's parameters.`);
    }
    let validate: ValidateFunction;
    try {
      validate = this.#validator(tool);
    } catch (e) {
      this.#log.error({ tool: tool.name, err: e }, 'tool schema does not compile');
      return fail(`Tool ${tool.name} is misconfigured (its schema does not compile); it cannot be used.`);
    }
    const issues = check(validate, args);
    if (issues.length) return fail(`Invalid arguments for ${tool.name}:\n${formatIssues(issues)}`);
    return this.#execute(tool, args, ctx);
  }

  #execute(tool: Tool, args: unknown, ctx: ToolContext): Promise<ToolResult> {
    const ms = tool.timeout_ms ?? this.#opts.default_timeout_ms;
    if (ctx.signal.aborted) return Promise.resolve(fail(`${tool.name} was cancelled before it started.`));
    const timer = new AbortController();
    const signal = AbortSignal.any([ctx.signal, timer.signal]);
    return new Promise<ToolResult>((resolve) => {
      // Whichever comes first settles the call: the tool, its timeout, or the caller's abort.
      // A tool that ignores its signal is left to finish on its own; its result is dropped.
      const onAbort = () => {
        clearTimeout(t);
        const timedOut = signal.reason instanceof ToolTimeout;
        resolve(fail(timedOut ? `${tool.name} timed out after ${seconds(ms)} and was stopped.` : `${tool.name} was cancelled before it finished.`));
      };
      const t = setTimeout(() => timer.abort(new ToolTimeout()), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (r: ToolResult) => {
        clearTimeout(t);
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      let pending: Promise<string>;
      try {
        pending = tool.execute(args, { signal, session: ctx.session, prompt_id: ctx.prompt_id, log: ctx.log });
      } catch (e) {
        pending = Promise.reject(e); // a non-async execute that throws
      }
      Promise.resolve(pending).then(
        (out) => done({ content: typeof out === 'string' ? out : String(out ?? ''), is_error: false }),
        (e: unknown) => {
          if (!signal.aborted) ctx.log.debug({ tool: tool.name, err: e }, 'tool failed');
          done(fail(e instanceof Error ? e.message || e.name : String(e)));
        },
      );
    });
  }

  #validator(tool: Tool): ValidateFunction {
    let v = this.#validators.get(tool.name);
    if (!v) {
      v = PRECOMPILED.get(tool.parameters) ?? compileSchema(tool.parameters);
      this.#validators.set(tool.name, v);
    }
    return v;
  }

  #available(): string {
    return this.names().join(', ') || '(none)';
  }
}

function fail(content: string): ToolResult {
  return { content, is_error: true };
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
