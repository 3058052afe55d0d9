// Turns in one session run one at a time, in order; different sessions run
// concurrently up to a bound. Every queue is bounded: a job that does not fit
// is refused at once (the caller answers "busy"), never buffered without limit.

export interface Job {
  run(): Promise<void>;
  /** Called instead of `run` when the job is dropped (cancel, shutdown). Must not throw. */
  drop(reason: 'cancelled' | 'shutdown'): void;
}

export interface SchedulerLimits {
  max_concurrent: number;
  /** Jobs that may wait behind the running one in one session. */
  per_session: number;
  /** Jobs that may wait across all sessions. */
  total: number;
}

interface Lane {
  running: boolean;
  waiting: Job[];
}

export class Scheduler {
  readonly #limits: SchedulerLimits;
  readonly #lanes = new Map<string, Lane>();
  /** Sessions whose next job is ready but waits for a free slot, in arrival order. */
  readonly #ready: string[] = [];
  #running = 0;
  #queued = 0;
  #closed = false;

  constructor(limits: SchedulerLimits) {
    this.#limits = limits;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queued;
  }

  /** Queues a job for a session. False when a bound is reached (or after close). */
  submit(session: string, job: Job): boolean {
    if (this.#closed) return false;
    let lane = this.#lanes.get(session);
    if (!lane) {
      lane = { running: false, waiting: [] };
      this.#lanes.set(session, lane);
    }
    const busyLane = lane.running || lane.waiting.length > 0 || this.#ready.includes(session);
    if (busyLane && lane.waiting.length >= this.#limits.per_session) return false;
    if (this.#queued >= this.#limits.total) return false;
    lane.waiting.push(job);
    this.#queued++;
    if (!lane.running && !this.#ready.includes(session)) this.#ready.push(session);
    this.#pump();
    return true;
  }

  /** Drops a session's waiting jobs (the running one is the caller's to abort). */
  dropWaiting(session: string, reason: 'cancelled' | 'shutdown' = 'cancelled'): number {
    const lane = this.#lanes.get(session);
    if (!lane) return 0;
    const dropped = lane.waiting.splice(0);
    this.#queued -= dropped.length;
    const i = this.#ready.indexOf(session);
    if (i >= 0) this.#ready.splice(i, 1);
    if (!lane.running) this.#lanes.delete(session);
    for (const j of dropped) j.drop(reason);
    return dropped.length;
  }

  /** Refuses new jobs and drops every waiting one. */
  close(): void {
    this.#closed = true;
    for (const s of [...this.#lanes.keys()]) this.dropWaiting(s, 'shutdown');
  }

  #pump(): void {
    while (this.#running < this.#limits.max_concurrent && this.#ready.length > 0) {
      const session = this.#ready.shift()!;
      const lane = this.#lanes.get(session);
      const job = lane?.waiting.shift();
      if (!lane || !job) continue;
      this.#queued--;
      lane.running = true;
      this.#running++;
      void this.#run(session, lane, job);
    }
  }

  async #run(session: string, lane: Lane, job: Job): Promise<void> {
    try {
      await job.run();
    } catch {
      // Jobs report their own failures; a throw here must not stop the lane.
    } finally {
      this.#running--;
      lane.running = false;
      if (lane.waiting.length > 0) this.#ready.push(session);
      else this.#lanes.delete(session);
      this.#pump();
    }
  }
}
