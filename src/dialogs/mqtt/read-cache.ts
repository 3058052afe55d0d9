// The last message seen on each topic that `tools.mqtt_read.topics` follows,
// for the mqtt_read tool. Bounded twice: at most `max_entries` topics (least
// recently used goes first; a Map keeps insertion order, so re-inserting on
// use is the whole LRU) and at most `max_value_bytes` kept per message.
import { topicMatches } from './topics.ts';

export interface CachedMessage {
  payload: string;
  /** The message was longer than the cache keeps; `payload` is its start. */
  truncated: boolean;
  bytes: number;
  /** Delivered as a retained message (it was there before aeon subscribed). */
  retained: boolean;
  at: number;
}

export class ReadCache {
  readonly filters: readonly string[];
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #map = new Map<string, CachedMessage>();

  constructor(filters: string[], maxEntries: number, maxValueBytes: number) {
    this.filters = filters;
    this.#max = Math.max(1, maxEntries);
    this.#maxBytes = maxValueBytes;
  }

  get size(): number {
    return this.#map.size;
  }

  /** True when some configured filter matches this concrete topic. */
  covers(topic: string): boolean {
    for (const f of this.filters) if (topicMatches(f, topic)) return true;
    return false;
  }

  /** An empty payload (a cleared retained message) forgets the topic. */
  put(topic: string, payload: Buffer, retained: boolean, at: number): void {
    this.#map.delete(topic);
    if (payload.length === 0) return;
    const truncated = payload.length > this.#maxBytes;
    this.#map.set(topic, {
      payload: (truncated ? payload.subarray(0, this.#maxBytes) : payload).toString('utf8'),
      truncated,
      bytes: payload.length,
      retained,
      at,
    });
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }

  get(topic: string): CachedMessage | undefined {
    const m = this.#map.get(topic);
    if (m) {
      this.#map.delete(topic);
      this.#map.set(topic, m);
    }
    return m;
  }

  /** Cached topics matching a filter, most recently seen first, at most `limit`. */
  find(filter: string, limit: number): Array<[string, CachedMessage]> {
    const out: Array<[string, CachedMessage]> = [];
    for (const [topic, m] of this.#map) if (topicMatches(filter, topic)) out.push([topic, m]);
    out.sort((a, b) => b[1].at - a[1].at);
    return out.slice(0, limit);
  }
}
