// The terminal dialog: a line-based chat that streams answers as they arrive.
// Used by `aeon chat`, and by `aeon run` when stdin is a terminal.
import readline from 'node:readline';
import type { AgentControl } from '../agent/types.ts';
import type { Store } from '../store/store.ts';
import type { Dialog, DialogHealth, OnMessage, ReplySink, TurnResult } from './types.ts';

export interface CliDialogOptions {
  agent: AgentControl;
  store: Store;
  session: string;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Called when the person asks to leave (/exit, Ctrl-D, second Ctrl-C). */
  onExit: () => void;
}

const HELP = `Commands: /reset (forget this session), /cancel (stop the answer; Ctrl-C does too),
/usage (tokens and cost today), /help, /exit (or Ctrl-D; a second Ctrl-C exits).`;

export class CliDialog implements Dialog {
  readonly name = 'cli';
  readonly #o: CliDialogOptions;
  #rl: readline.Interface | undefined;
  #busy = false;
  #closed = false;
  #exitWhenIdle = false;
  #lastInterrupt = 0;
  #onMessage: OnMessage | undefined;

  constructor(opts: CliDialogOptions) {
    this.#o = opts;
  }

  async start(onMessage: OnMessage): Promise<void> {
    this.#onMessage = onMessage;
    const rl = readline.createInterface({ input: this.#o.input, output: this.#o.output, terminal: (this.#o.input as { isTTY?: boolean }).isTTY === true });
    this.#rl = rl;
    this.#write(`aeon — session "${this.#o.session}". ${HELP}\n`);
    rl.setPrompt('you> ');
    rl.on('line', (line) => this.#line(line.trim()));
    rl.on('SIGINT', () => this.#interrupt());
    rl.on('close', () => {
      // End of input (Ctrl-D, or a pipe that ran dry): let a running answer finish first.
      this.#closed = true;
      if (this.#busy) this.#exitWhenIdle = true;
      else this.#o.onExit();
    });
    rl.prompt();
  }

  async stop(): Promise<void> {
    this.#rl?.removeAllListeners('close');
    this.#closed = true;
    this.#rl?.close();
  }

  #prompt(): void {
    if (!this.#closed) this.#rl?.prompt();
  }

  health(): DialogHealth {
    return { ready: true, state: 'interactive' };
  }

  #key(): string {
    return this.#o.agent.sessionKey({ dialog: 'cli', chat: this.#o.session });
  }

  #write(s: string): void {
    this.#o.output.write(s);
  }

  #interrupt(): void {
    const now = Date.now();
    if (this.#busy) {
      this.#o.agent.cancel(this.#key());
      this.#lastInterrupt = now;
      return;
    }
    if (now - this.#lastInterrupt < 2000) return this.#o.onExit();
    this.#lastInterrupt = now;
    this.#write('\n(press Ctrl-C again to exit)\n');
    this.#prompt();
  }

  #line(line: string): void {
    if (this.#busy) {
      this.#write('(still answering; /cancel or Ctrl-C stops it)\n');
      return;
    }
    if (!line) return void this.#prompt();
    if (line.startsWith('/')) return void this.#command(line);
    this.#busy = true;
    this.#onMessage!({ dialog: 'cli', chat: this.#o.session, text: line, user: 'cli' }, this.#sink());
  }

  async #command(line: string): Promise<void> {
    const [cmd] = line.split(/\s+/);
    switch (cmd) {
      case '/help':
        this.#write(`${HELP}\n`);
        break;
      case '/reset':
        await this.#o.agent.reset(this.#key());
        this.#write('(session forgotten; starting fresh)\n');
        break;
      case '/cancel':
        this.#write(this.#o.agent.cancel(this.#key()) ? '(cancelled)\n' : '(nothing to cancel)\n');
        break;
      case '/usage':
        this.#write(`${usageText(this.#o.store)}\n`);
        break;
      case '/exit':
      case '/quit':
        return this.#o.onExit();
      default:
        this.#write(`unknown command ${cmd}. ${HELP}\n`);
    }
    this.#prompt();
  }

  #sink(): ReplySink {
    let started = false;
    return {
      phase: (phase, detail) => {
        if (phase === 'tool') this.#write(`${started ? '\n' : ''}[${detail ?? 'tool'}…]\n`);
      },
      delta: (text) => {
        if (!started) {
          started = true;
          this.#write('aeon> ');
        }
        this.#write(text);
      },
      final: (r: TurnResult) => {
        if (started) this.#write('\n');
        if (r.error) this.#write(`${r.error.code === 'cancelled' ? '' : '! '}${r.error.message}\n`);
        this.#busy = false;
        if (this.#exitWhenIdle) this.#o.onExit();
        else this.#prompt();
      },
    };
  }
}

/** Today's and this month's usage, one line each plus a line per model. */
export function usageText(store: Store): string {
  const today = store.day();
  const month = `${today.slice(0, 8)}01`;
  const fmt = (label: string, rows: ReturnType<Store['usageSince']>) => {
    const t = rows.reduce((a, r) => ({ i: a.i + r.input_tokens, o: a.o + r.output_tokens, c: a.c + r.cost_usd, n: a.n + r.requests }), { i: 0, o: 0, c: 0, n: 0 });
    const lines = [`${label}: ${t.n} requests, ${t.i} tokens in, ${t.o} out, $${t.c.toFixed(4)}`];
    for (const r of rows) lines.push(`  ${r.model}: ${r.requests} requests, ${r.input_tokens} in, ${r.output_tokens} out, $${r.cost_usd.toFixed(4)}`);
    return lines.join('\n');
  };
  return `${fmt(`today (${today})`, store.usageSince(today))}\n${fmt(`this month (${month.slice(0, 7)})`, store.usageSince(month))}`;
}
