// A tiny metrics registry: counters, gauges and histograms rendered in the
// Prometheus text exposition format 0.0.4, and as a JSON snapshot for /status.
// No dependency: prom-client would add a few MB of RSS for features (summaries,
// registries per worker, pushgateway) aeon does not use.
//
// Bounded like everything else on the device: each metric keeps at most
// MAX_SERIES label sets; new label sets beyond that are dropped (counted in
// `dropped`), so a bug that puts a chat id into a label cannot grow memory.

export type Labels = Record<string, string | number>;
export type MetricType = 'counter' | 'gauge' | 'histogram';
/** What a gauge's collect callback returns: one value, or one value per label set. */
export type Collected = number | Array<[Labels, number]>;

export const MAX_SERIES = 200;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface Counter {
  /** Adds `n` (default 1; negative values are ignored, counters only go up). */
  inc(labels?: Labels | number, n?: number): void;
}
export interface Gauge {
  set(labels: Labels | number, v?: number): void;
}
export interface Histogram {
  observe(v: number, labels?: Labels): void;
}

interface Series {
  labels: Labels;
  value: number;
}
interface HistSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

interface Entry {
  name: string;
  help: string;
  type: MetricType;
  labelNames?: string[];
  series: Map<string, Series>;
  hist?: Map<string, HistSeries>;
  buckets?: number[];
  collect?: () => Collected;
  handle: Counter | Gauge | Histogram;
}

export class Metrics {
  #entries = new Map<string, Entry>();
  /** Label sets refused because a metric already had MAX_SERIES of them. */
  dropped = 0;

  /** A counter; registering the same name again returns the same counter. */
  counter(name: string, help: string, labelNames?: string[]): Counter {
    const e = this.#entry(name, help, 'counter', labelNames);
    return e.handle as Counter;
  }

  /**
   * A gauge. With `collect`, the value is read at render time (RSS, queue
   * depth...) and `set` is not needed; a collect that throws hides the gauge
   * for that scrape rather than failing it.
   */
  gauge(name: string, help: string, collect?: () => Collected): Gauge {
    const e = this.#entry(name, help, 'gauge');
    if (collect) e.collect = collect;
    return e.handle as Gauge;
  }

  /** A histogram with the given upper bounds (sorted here; `+Inf` is implied). */
  histogram(name: string, help: string, buckets: number[]): Histogram {
    const e = this.#entry(name, help, 'histogram');
    if (!e.buckets) {
      const b = [...new Set(buckets.filter((x) => Number.isFinite(x)))].sort((x, y) => x - y);
      if (!b.length) throw new Error(`metric ${name}: a histogram needs at least one finite bucket`);
      e.buckets = b;
      e.hist = new Map();
    }
    return e.handle as Histogram;
  }

  /** Prometheus text format 0.0.4 (`Content-Type: text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    for (const e of this.#entries.values()) {
      const lines: string[] = [];
      if (e.type === 'histogram') {
        for (const h of e.hist!.values()) {
          let cumulative = 0;
          e.buckets!.forEach((le, i) => {
            cumulative += h.counts[i]!;
            lines.push(`${e.name}_bucket${labelText(h.labels, ['le', fmt(le)])} ${cumulative}`);
          });
          lines.push(`${e.name}_bucket${labelText(h.labels, ['le', '+Inf'])} ${h.count}`);
          lines.push(`${e.name}_sum${labelText(h.labels)} ${fmt(h.sum)}`);
          lines.push(`${e.name}_count${labelText(h.labels)} ${h.count}`);
        }
      } else {
        for (const s of this.#values(e)) lines.push(`${e.name}${labelText(s.labels)} ${fmt(s.value)}`);
      }
      out.push(`# HELP ${e.name} ${escapeHelp(e.help)}`, `# TYPE ${e.name} ${e.type}`, ...lines);
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }

  /**
   * The same facts as plain JSON: an unlabelled metric is a number, a labelled
   * one a list of `{labels, value}`, a histogram `{count, sum, buckets}`.
   */
  snapshot(): Record<string, unknown> {
    const snap: Record<string, unknown> = {};
    for (const e of this.#entries.values()) {
      if (e.type === 'histogram') {
        const list = [...e.hist!.values()].map((h) => {
          const buckets: Record<string, number> = {};
          let cumulative = 0;
          e.buckets!.forEach((le, i) => {
            cumulative += h.counts[i]!;
            buckets[fmt(le)] = cumulative;
          });
          return { labels: h.labels, count: h.count, sum: h.sum, buckets };
        });
        const only = list.length === 1 && !Object.keys(list[0]!.labels).length;
        snap[e.name] = only ? { count: list[0]!.count, sum: list[0]!.sum, buckets: list[0]!.buckets } : list;
        continue;
      }
      const values = this.#values(e);
      const only = values.length === 1 && !Object.keys(values[0]!.labels).length;
      snap[e.name] = only ? values[0]!.value : values.map((s) => ({ labels: s.labels, value: s.value }));
    }
    return snap;
  }

  #values(e: Entry): Series[] {
    if (!e.collect) {
      // An unlabelled counter shows 0 before its first increment.
      if (!e.series.size && e.type === 'counter' && !e.labelNames?.length) return [{ labels: {}, value: 0 }];
      return [...e.series.values()];
    }
    try {
      const got = e.collect();
      if (typeof got === 'number') return [{ labels: {}, value: got }];
      return got.slice(0, MAX_SERIES).map(([labels, value]) => ({ labels: cleanLabels(labels), value }));
    } catch {
      return [];
    }
  }

  #entry(name: string, help: string, type: MetricType, labelNames?: string[]): Entry {
    const known = this.#entries.get(name);
    if (known) {
      if (known.type !== type) throw new Error(`metric ${name} is already registered as a ${known.type}`);
      return known;
    }
    if (!NAME.test(name)) throw new Error(`metric name "${name}" is not valid in Prometheus`);
    for (const l of labelNames ?? []) {
      if (!LABEL.test(l) || l.startsWith('__') || l === 'le') throw new Error(`metric ${name}: label name "${l}" is not allowed`);
    }
    const e: Entry = { name, help, type, series: new Map(), handle: undefined as unknown as Counter };
    if (labelNames) e.labelNames = labelNames;
    e.handle = this.#handle(e);
    this.#entries.set(name, e);
    return e;
  }

  #handle(e: Entry): Counter | Gauge | Histogram {
    const slot = (labels: Labels | undefined): Series | undefined => {
      const clean = cleanLabels(labels, e.labelNames);
      const key = labelKey(clean);
      let s = e.series.get(key);
      if (!s) {
        if (e.series.size >= MAX_SERIES) {
          this.dropped++;
          return undefined;
        }
        s = { labels: clean, value: 0 };
        e.series.set(key, s);
      }
      return s;
    };
    if (e.type === 'counter') {
      return {
        inc: (labels?: Labels | number, n = 1) => {
          if (typeof labels === 'number') [labels, n] = [undefined, labels];
          if (!(n >= 0)) return; // also refuses NaN
          const s = slot(labels);
          if (s) s.value += n;
        },
      };
    }
    if (e.type === 'gauge') {
      return {
        set: (labels: Labels | number, v?: number) => {
          if (typeof labels === 'number') [labels, v] = [{}, labels];
          const s = slot(labels);
          if (s && v !== undefined) s.value = v;
        },
      };
    }
    return {
      observe: (v: number, labels?: Labels) => {
        if (Number.isNaN(v)) return;
        const clean = cleanLabels(labels);
        const key = labelKey(clean);
        let h = e.hist!.get(key);
        if (!h) {
          if (e.hist!.size >= MAX_SERIES) {
            this.dropped++;
            return;
          }
          h = { labels: clean, counts: new Array<number>(e.buckets!.length).fill(0), sum: 0, count: 0 };
          e.hist!.set(key, h);
        }
        const i = e.buckets!.findIndex((le) => v <= le);
        if (i >= 0) h.counts[i]!++;
        h.sum += v;
        h.count++;
      },
    };
  }
}

/** Keeps declared label names (all, when none were declared), as strings, in a stable order. */
function cleanLabels(labels: Labels | undefined, names?: string[]): Labels {
  const out: Labels = {};
  if (!labels) return out;
  for (const k of Object.keys(labels).sort()) {
    if (names ? names.includes(k) : LABEL.test(k) && k !== 'le') out[k] = String(labels[k]);
  }
  return out;
}

function labelKey(labels: Labels): string {
  return JSON.stringify(labels);
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus spells it. */
export function fmt(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
