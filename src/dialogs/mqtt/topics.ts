// Topic names and MQTT wildcard matching. Every topic aeon uses hangs off the
// base topic, so they are computed once here and never concatenated elsewhere.

export interface Topics {
  base: string;
  status: string;
  prompt: string;
  reply: string;
  delta: string;
  state: string;
  tele: string;
  action: string;
  /** Subscription for every `<base>/request/<cmd>`. */
  requests: string;
  requestPrefix: string;
  responsePrefix: string;
  /** `<prefix>/status`, where Home Assistant announces itself. */
  haStatus: string;
  /** `<prefix>/device/<device id>/config`. */
  discovery: string;
}

export function topicsFor(base: string, discoveryPrefix: string, deviceId: string): Topics {
  return {
    base,
    status: `${base}/status`,
    prompt: `${base}/prompt`,
    reply: `${base}/reply`,
    delta: `${base}/reply/delta`,
    state: `${base}/state`,
    tele: `${base}/tele`,
    action: `${base}/action`,
    requests: `${base}/request/#`,
    requestPrefix: `${base}/request/`,
    responsePrefix: `${base}/response/`,
    haStatus: `${discoveryPrefix}/status`,
    discovery: `${discoveryPrefix}/device/${deviceId}/config`,
  };
}

/**
 * MQTT filter matching: `+` is one level, a trailing `#` the rest (including the
 * parent: `a/#` matches `a`). Filters starting with a wildcard do not match
 * `$`-topics (MQTT 3.1.1 §4.7.2).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

export function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

// MQTT says topics SHOULD NOT hold control characters or Unicode non-characters;
// Mosquitto enforces it by dropping the connection of whoever publishes one.
const BROKER_REFUSED = /[\p{Cc}\p{Noncharacter_Code_Point}]/u;

/**
 * A topic aeon may publish to: not empty, no wildcards, not a `$` system topic,
 * no character a broker refuses (a reply_to with one would get aeon itself
 * disconnected, again after every reconnect). Returns why not, or undefined.
 */
export function publishTopicProblem(topic: string): string | undefined {
  if (!topic) return 'the topic is empty';
  if (hasWildcard(topic)) return `"${topic}" contains a wildcard (+ or #); publish to one concrete topic`;
  if (topic.startsWith('$')) return `"${topic}" is a broker system topic ($...)`;
  if (topic.includes('\u0000')) return 'the topic contains a NUL character';
  if (BROKER_REFUSED.test(topic) || !topic.isWellFormed()) return `the topic ${JSON.stringify(topic)} contains a control character or a Unicode non-character, which brokers refuse`;
  if (Buffer.byteLength(topic) > 65535) return 'the topic is longer than 65535 bytes';
  return undefined;
}

/** A valid subscription filter: `#` only last and alone in its level, `+` alone in its level. */
export function filterProblem(filter: string): string | undefined {
  if (!filter) return 'the filter is empty';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return `"${filter}": # must be the whole last level`;
    if (l.includes('+') && l !== '+') return `"${filter}": + must be a whole level`;
  }
  return undefined;
}

/** True when `topic` is the base topic or below it. */
export function isUnder(base: string, topic: string): boolean {
  return topic === base || topic.startsWith(`${base}/`);
}
