// The long-polling loop. Our own loop on the library's `Api` rather than its
// `longPoll` generator, because that one confirms an update to Telegram as soon
// as the next one is pulled (we confirm only once it is safe, see cursor.ts),
// treats 409 Conflict as fatal, and has no stall detection.
//
// Failures never spin: 409 (another poller, or a webhook) and 401/404 (bad
// token) back off exponentially to a cap and log one line per episode; 429
// waits `retry_after`; network errors back off too. A getUpdates that gets no
// answer within the poll timeout plus a grace is aborted ("stalled") and the
// poll restarted; a watchdog restarts the loop itself if it makes no progress.
import type { Logger } from '../../log.ts';
import { sleep, TelegramError, type TelegramClient } from './client.ts';
import type { UpdateCursor } from './cursor.ts';

export type PollState = 'stopped' | 'connecting' | 'connected' | 'conflict' | 'stalled' | 'unauthorized';

export interface PollerOptions {
  /** Long-poll seconds asked of Telegram. */
  timeoutS: number;
  /** Extra wait for a getUpdates answer beyond `timeoutS` before it counts as stalled. */
  graceMs: number;
  /** Backoff start and cap for failures. */
  backoffMs: number;
  backoffCapMs: number;
  /** Watchdog: restart the loop after this long without any getUpdates outcome. */
  stallMs: number;
  /** Pause before re-polling when a batch held only updates already in flight. */
  repollMs: number;
  /** Stop fetching while this many updates are in flight. */
  maxPending: number;
  apiHost: string;
}

export interface PollerDeps {
  client: TelegramClient;
  cursor: UpdateCursor;
  log: Logger;
  count(name: string, labels?: Record<string, string>, n?: number): void;
  /** Receives each batch; returns how many updates were new. */
  onUpdates(updates: unknown[]): number;
}

const ALLOWED_UPDATES = ['message', 'my_chat_member'];

export class Poller {
  readonly #d: PollerDeps;
  readonly #o: PollerOptions;
  #state: PollState = 'stopped';
  #detail: string | undefined;
  #gen = 0;
  #stop: AbortController | undefined;
  #request: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #lastActivity = 0;
  #lastOk = 0;
  /** Which failure kind is being reported, so each episode logs once. */
  #episode: string | undefined;

  constructor(deps: PollerDeps, opts: PollerOptions) {
    this.#d = deps;
    this.#o = opts;
  }

  get state(): PollState {
    return this.#state;
  }

  get detail(): string | undefined {
    return this.#detail;
  }

  get lastOk(): number {
    return this.#lastOk;
  }

  start(): void {
    if (this.#stop) return;
    this.#stop = new AbortController();
    this.#set('connecting', `waiting for the first answer from ${this.#o.apiHost}`);
    this.#lastActivity = Date.now();
    this.#restart();
    const every = Math.max(250, Math.min(this.#o.stallMs / 4, 30_000));
    this.#watchdog = setInterval(() => this.#checkStall(), every);
    this.#watchdog.unref();
  }

  async stop(): Promise<void> {
    if (!this.#stop) return;
    this.#stop.abort();
    this.#request?.abort();
    clearInterval(this.#watchdog);
    this.#gen++;
    const loop = this.#loop;
    this.#stop = undefined;
    this.#set('stopped', 'stopped');
    await loop;
  }

  #restart(): void {
    this.#request?.abort();
    const gen = ++this.#gen;
    this.#loop = this.#run(gen).catch((err) => {
      this.#d.log.error({ err: this.#d.client.scrub(String((err as Error)?.message ?? err)) }, 'Telegram poll loop failed; the watchdog restarts it');
    });
  }

  #checkStall(): void {
    if (!this.#stop) return;
    const idle = Date.now() - this.#lastActivity;
    if (idle < this.#o.stallMs) return;
    this.#d.count('telegram_poll_restarts_total');
    this.#d.log.warn(`no getUpdates answer for ${Math.round(idle / 1000)} s; restarting the Telegram poll`);
    this.#set('stalled', `no answer from ${this.#o.apiHost} for ${Math.round(idle / 1000)} s; restarting the poll`);
    this.#lastActivity = Date.now();
    this.#restart();
  }

  async #run(gen: number): Promise<void> {
    const stop = this.#stop!.signal;
    let failures = 0;
    let answered = false;
    while (gen === this.#gen && !stop.aborted) {
      const { cursor } = this.#d;
      if (cursor.pending >= this.#o.maxPending) {
        this.#lastActivity = Date.now();
        await cursor.waitSettle(1000, stop);
        continue;
      }
      const req = new AbortController();
      this.#request = req;
      const onStop = () => req.abort();
      stop.addEventListener('abort', onStop, { once: true });
      let timedOut = false;
      // Until this run's first poll has worked, ask for an answer at once: a
      // long poll with nothing pending answers only after timeoutS, and /readyz
      // said "not ready" for those 30 s after every start (scripts/bench/idle.ts).
      const timeoutS = answered ? this.#o.timeoutS : 0;
      const limit = setTimeout(() => {
        timedOut = true;
        req.abort();
      }, timeoutS * 1000 + this.#o.graceMs);
      let updates: unknown[] | undefined;
      let error: TelegramError | undefined;
      try {
        const offset = cursor.offset;
        updates = (await this.#d.client.api.getUpdates(
          { ...(offset !== undefined ? { offset } : {}), timeout: timeoutS, allowed_updates: ALLOWED_UPDATES },
          req.signal,
        )) as unknown[];
      } catch (raw) {
        error = this.#d.client.toError('getUpdates', raw);
      } finally {
        clearTimeout(limit);
        stop.removeEventListener('abort', onStop);
      }
      if (gen !== this.#gen || stop.aborted) return;
      this.#lastActivity = Date.now();
      if (error || !Array.isArray(updates)) {
        failures++;
        const wait = this.#failed(error ?? new TelegramError('getUpdates', 0, 'answer is not a list of updates'), failures, timedOut);
        await sleep(wait, stop);
        this.#lastActivity = Date.now();
        continue;
      }
      failures = 0;
      answered = true;
      this.#lastOk = Date.now();
      if (this.#state !== 'connected') {
        if (this.#episode) this.#d.log.info(`Telegram polling works again (was: ${this.#state})`);
        else this.#d.log.info('Telegram polling connected');
        this.#episode = undefined;
        this.#set('connected');
      }
      let fresh = 0;
      try {
        fresh = this.#d.onUpdates(updates);
      } catch (err) {
        this.#d.log.error({ err: (err as Error).message }, 'handling a Telegram batch failed');
      }
      // Only re-deliveries of updates still in flight: wait for one to settle
      // (or a moment) instead of asking again at once.
      if (updates.length > 0 && fresh === 0) await cursor.waitSettle(this.#o.repollMs, stop);
    }
  }

  /** Records a failure, logs once per episode, returns how long to wait. */
  #failed(err: TelegramError, failures: number, timedOut: boolean): number {
    const backoff = Math.min(this.#o.backoffCapMs, this.#o.backoffMs * 2 ** Math.min(failures - 1, 20));
    const host = this.#o.apiHost;
    let kind: string;
    let state: PollState;
    let detail: string;
    let wait = backoff;
    if (err.code === 409) {
      kind = 'conflict';
      state = 'conflict';
      detail = /webhook/i.test(err.description)
        ? 'a webhook is set for this bot, so Telegram refuses long polling: remove it by calling the Bot API method deleteWebhook (https://api.telegram.org/bot<token>/deleteWebhook), or stop the service that set it'
        : 'another program is polling this bot token (a second aeon, or the same bot run elsewhere): stop the other instance, or give this aeon its own bot from @BotFather';
    } else if (err.code === 401 || err.code === 404) {
      kind = 'unauthorized';
      state = 'unauthorized';
      detail = `Telegram rejects the bot token (${err.code} ${err.description}): check dialogs.telegram.bot_token (from @BotFather) and dialogs.telegram.api_root`;
    } else if (err.code === 429) {
      kind = 'rate_limited';
      state = 'connecting';
      wait = Math.max(1000, (err.retryAfter ?? 1) * 1000);
      detail = `Telegram asked to wait ${Math.round(wait / 1000)} s (429)`;
    } else if (timedOut) {
      kind = 'stalled';
      state = 'stalled';
      wait = Math.min(backoff, 1000);
      detail = `getUpdates got no answer from ${host} within ${this.#o.timeoutS + Math.round(this.#o.graceMs / 1000)} s; restarting the poll`;
    } else {
      kind = err.code ? 'server' : 'network';
      state = this.#lastOk ? 'stalled' : 'connecting';
      detail = `cannot poll ${host}: ${err.message}; retrying in ${Math.round(backoff / 1000)} s`;
    }
    this.#d.count('telegram_poll_errors_total', { kind });
    this.#set(state, detail);
    if (this.#episode !== kind) {
      this.#episode = kind;
      const line = kind === 'conflict' ? `Telegram answered 409 Conflict: ${detail}. Backing off (up to ${Math.round(this.#o.backoffCapMs / 1000)} s between tries).` : detail;
      if (kind === 'unauthorized' || kind === 'conflict') this.#d.log.error(line);
      else this.#d.log.warn(line);
    } else {
      this.#d.log.debug({ kind, wait_ms: wait }, 'getUpdates failed again');
    }
    return wait;
  }

  #set(state: PollState, detail?: string): void {
    this.#state = state;
    this.#detail = detail;
  }
}
