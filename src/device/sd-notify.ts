// The systemd notify protocol (sd_notify(3)): READY=1, STATUS=..., WATCHDOG=1,
// STOPPING=1. Does nothing at all when NOTIFY_SOCKET is unset.
//
// Mechanism: Node cannot open the AF_UNIX SOCK_DGRAM socket the protocol needs
// (node:dgram is UDP only), and a native addon would have to be built for every
// board. So each message is sent by spawning systemd's own `systemd-notify`,
// which ships with systemd wherever the protocol exists. It sends from its own
// PID, so the unit needs `NotifyAccess=all`; it then waits (BARRIER=1) until the
// manager has processed the message, so the message is attributed to the unit
// even though the sender exits at once. Trade-offs: a fork+exec per message
// (a watchdog ping every 15 s: negligible), and any process in the unit's
// cgroup could notify too; that is why the socket path is taken out of
// process.env here, so tools aeon spawns do not inherit it.
import { spawn } from 'node:child_process';
import type { Logger } from '../log.ts';

export interface SdNotifyOptions {
  log: Logger;
  /** Environment to read NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The sender program (default `systemd-notify` on PATH). */
  bin?: string;
  /** Remove NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from `env` once read (default true). */
  unsetEnvironment?: boolean;
  /** Longest one send may take before the sender is killed, in ms (default 10 s). */
  timeoutMs?: number;
}

export type NotifyFields = Record<string, string | number>;

/** Most messages waiting behind a running send; beyond it, new ones are dropped (a stuck manager must not grow memory). */
const MAX_PENDING = 8;

export class SdNotify {
  readonly #log: Logger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #bin: string;
  readonly #unset: boolean;
  readonly #timeoutMs: number;
  #socket: string | undefined;
  #watchdogUsec: number | undefined;
  #started = false;
  #chain: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #broken = false;
  /** Messages handed to the manager, for tests and /status. */
  sent = 0;

  constructor(opts: SdNotifyOptions) {
    this.#log = opts.log;
    this.#env = opts.env ?? process.env;
    this.#bin = opts.bin ?? 'systemd-notify';
    this.#unset = opts.unsetEnvironment ?? true;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Reads the socket and watchdog settings (and, by default, removes them from the environment). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const env = this.#env;
    const socket = env.NOTIFY_SOCKET;
    if (socket && (socket.startsWith('/') || socket.startsWith('@'))) this.#socket = socket;
    else if (socket) this.#log.warn({ notify_socket: socket }, 'NOTIFY_SOCKET is neither a path nor an abstract socket; not notifying systemd');
    const usec = Number(env.WATCHDOG_USEC);
    const pid = env.WATCHDOG_PID;
    // sd_watchdog_enabled(3): the watchdog is meant for us only when WATCHDOG_PID is unset or ours.
    if (this.#socket && Number.isFinite(usec) && usec > 0 && (!pid || Number(pid) === process.pid)) this.#watchdogUsec = usec;
    if (this.#unset) {
      delete env.NOTIFY_SOCKET;
      delete env.WATCHDOG_USEC;
      delete env.WATCHDOG_PID;
    }
  }

  /** True when there is a manager to talk to. */
  get enabled(): boolean {
    return this.#socket !== undefined && !this.#broken;
  }

  /** The watchdog period systemd asked for, in microseconds, or undefined when there is no watchdog. */
  get watchdogUsec(): number | undefined {
    return this.#watchdogUsec;
  }

  ready(status?: string): Promise<boolean> {
    return this.send(status === undefined ? { READY: 1 } : { READY: 1, STATUS: status });
  }

  status(text: string): Promise<boolean> {
    return this.send({ STATUS: text });
  }

  watchdog(): Promise<boolean> {
    return this.send({ WATCHDOG: 1 });
  }

  stopping(status?: string): Promise<boolean> {
    return this.send(status === undefined ? { STOPPING: 1 } : { STOPPING: 1, STATUS: status });
  }

  /** Tells the manager which process is the main one (after handing over to another process). */
  mainPid(pid: number): Promise<boolean> {
    return this.send({ MAINPID: pid });
  }

  /**
   * Sends one message. Messages go out one at a time, in order. Resolves true
   * when the manager took it, false otherwise (no socket, sender missing or
   * failed, queue full). Never rejects.
   */
  send(fields: NotifyFields): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(false);
    if (this.#pending >= MAX_PENDING) return Promise.resolve(false);
    // One line per field; a value must not smuggle in a second assignment.
    const args = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, ' ').slice(0, 1024)}`);
    this.#pending++;
    const run = this.#chain.then(() => this.#spawn(args));
    this.#chain = run.finally(() => this.#pending--);
    return run;
  }

  /** Resolves once every queued message has been sent (or given up on). */
  async flush(): Promise<void> {
    await this.#chain;
  }

  #spawn(args: string[]): Promise<boolean> {
    if (this.#broken) return Promise.resolve(false);
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (ok) this.sent++;
        resolve(ok);
      };
      let stderr = '';
      const child = spawn(this.#bin, args, {
        // Only what the sender needs; nothing of aeon's environment (secrets) goes along.
        env: { NOTIFY_SOCKET: this.#socket, PATH: this.#env.PATH ?? process.env.PATH ?? '/usr/bin:/bin' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        this.#log.warn({ args }, 'systemd-notify did not finish in time');
        finish(false);
      }, this.#timeoutMs);
      timer.unref();
      child.stderr!.on('data', (d: Buffer) => {
        if (stderr.length < 512) stderr += d.toString();
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          // Without the sender the protocol cannot work; say so once, loudly.
          this.#broken = true;
          this.#log.error({ bin: this.#bin }, 'systemd-notify not found: cannot notify systemd (install the systemd package); a Type=notify unit will time out');
        } else {
          this.#log.warn({ err }, 'systemd-notify could not be started');
        }
        finish(false);
      });
      child.on('close', (code) => {
        if (code !== 0) this.#log.warn({ args, code, stderr: stderr.trim() }, 'systemd-notify failed');
        finish(code === 0);
      });
    });
  }
}
