// Home Assistant device-based MQTT discovery: one retained message on
// `<prefix>/device/<device id>/config` that makes aeon one device with its
// entities. Every command topic declared here is one the dialog subscribes to
// (`<base>/prompt`, `<base>/request/#`); the test checks that.
import type { Topics } from './topics.ts';

/** The session Home Assistant's text and notify entities talk in (and the buttons act on). */
export const HA_SESSION = 'homeassistant';

export interface DiscoveryInput {
  topics: Topics;
  device: { id: string; name: string; board: string };
  version: string;
  qos: 0 | 1 | 2;
}

export interface DiscoveryComponent {
  /** Platform: sensor, text, notify, button... */
  p: string;
  unique_id: string;
  name: string;
  [key: string]: unknown;
}

export interface DiscoveryPayload {
  dev: { ids: string[]; name: string; mf: string; mdl: string; sw: string };
  o: { name: string; sw: string };
  availability: Array<{ topic: string; payload_available: string; payload_not_available: string }>;
  qos: 0 | 1 | 2;
  cmps: Record<string, DiscoveryComponent>;
}

// Home Assistant keeps at most 255 characters of an entity state.
const STATE_MAX = 255;

export function buildDiscovery(d: DiscoveryInput): DiscoveryPayload {
  const t = d.topics;
  const uid = (key: string) => `aeon_${d.device.id}_${key}`;
  // Prompts from Home Assistant go as JSON so they carry their own session.
  const promptTemplate = `{"text": {{ value | to_json }}, "session": "${HA_SESSION}"}`;
  const sessionPayload = JSON.stringify({ session: HA_SESSION });
  const diag = (key: string, name: string, template: string, extra: Record<string, unknown> = {}): DiscoveryComponent => ({
    p: 'sensor',
    unique_id: uid(key),
    name,
    state_topic: t.tele,
    value_template: template,
    entity_category: 'diagnostic',
    ...extra,
  });
  const cmps: Record<string, DiscoveryComponent> = {
    prompt: {
      p: 'text',
      unique_id: uid('prompt'),
      name: 'Prompt',
      icon: 'mdi:message-text',
      command_topic: t.prompt,
      command_template: promptTemplate,
      max: STATE_MAX,
      mode: 'text',
    },
    ask: {
      p: 'notify',
      unique_id: uid('ask'),
      name: 'Ask',
      icon: 'mdi:message-arrow-right',
      command_topic: t.prompt,
      command_template: promptTemplate,
    },
    last_reply: {
      p: 'sensor',
      unique_id: uid('last_reply'),
      name: 'Last reply',
      icon: 'mdi:message-reply-text',
      state_topic: t.reply,
      value_template: `{% if value_json.error is defined %}{{ ('error: ' ~ value_json.error.message)[:${STATE_MAX}] }}{% else %}{{ (value_json.text | default(''))[:${STATE_MAX}] }}{% endif %}`,
      json_attributes_topic: t.reply,
    },
    state: {
      p: 'sensor',
      unique_id: uid('state'),
      name: 'State',
      icon: 'mdi:robot',
      device_class: 'enum',
      options: ['idle', 'thinking', 'streaming', 'error'],
      state_topic: t.state,
      value_template: '{{ value_json.state }}',
      json_attributes_topic: t.state,
    },
    tokens_in: diag('tokens_in', 'Tokens in', '{{ value_json.agent.tokens_in }}', { state_class: 'total_increasing', unit_of_measurement: 'tokens', icon: 'mdi:counter' }),
    tokens_out: diag('tokens_out', 'Tokens out', '{{ value_json.agent.tokens_out }}', { state_class: 'total_increasing', unit_of_measurement: 'tokens', icon: 'mdi:counter' }),
    rss: diag('rss', 'Memory (RSS)', '{{ (value_json.rss_bytes / 1048576) | round(1) }}', { device_class: 'data_size', unit_of_measurement: 'MiB', state_class: 'measurement' }),
    cpu_temperature: diag('cpu_temperature', 'CPU temperature', '{{ value_json.cpu_temp_c if value_json.cpu_temp_c is number else None }}', {
      device_class: 'temperature',
      unit_of_measurement: '°C',
      state_class: 'measurement',
    }),
    uptime: diag('uptime', 'Uptime', '{{ value_json.uptime_s }}', { device_class: 'duration', unit_of_measurement: 's', state_class: 'measurement' }),
    model: diag('model', 'Model', '{{ value_json.agent.model }}', { icon: 'mdi:brain' }),
    reset_session: {
      p: 'button',
      unique_id: uid('reset_session'),
      name: 'Reset session',
      icon: 'mdi:restart',
      command_topic: `${t.requestPrefix}session/reset`,
      payload_press: sessionPayload,
    },
    cancel: {
      p: 'button',
      unique_id: uid('cancel'),
      name: 'Cancel',
      icon: 'mdi:stop-circle',
      command_topic: `${t.requestPrefix}cancel`,
      payload_press: sessionPayload,
    },
  };
  return {
    dev: { ids: [`aeon_${d.device.id}`], name: d.device.name, mf: 'aeon', mdl: `aeon on ${d.device.board}`, sw: d.version },
    o: { name: 'aeon', sw: d.version },
    availability: [{ topic: t.status, payload_available: 'online', payload_not_available: 'offline' }],
    qos: d.qos,
    cmps,
  };
}
