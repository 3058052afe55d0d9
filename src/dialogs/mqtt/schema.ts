// JSON Schemas for what arrives on aeon's MQTT topics. Registered in
// src/schemas.ts and compiled at build time (no ajv on the device). Each
// property's `description` becomes the hint in the error reply.

const idLike = (description: string) => ({
  type: ['string', 'integer'],
  description,
  maxLength: 128,
});

// A topic aeon may publish to: no wildcards, not a `$` system topic.
const publishTopic = (description: string) => ({
  type: 'string',
  description,
  minLength: 1,
  maxLength: 1024,
  pattern: '^[^$+#\\u0000][^+#\\u0000]*$',
});

/** `<base>/prompt` in its JSON form. */
export const mqttPromptSchema = {
  $id: 'https://aeon.local/mqtt-prompt.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: {
    text: { type: 'string', description: 'The prompt text.' },
    id: idLike('Your correlation id (string or integer), echoed in the reply.'),
    session: {
      type: 'string',
      description: 'Conversation name, e.g. "kitchen": 1 to 64 characters, no control characters.',
      minLength: 1,
      maxLength: 64,
      pattern: '^[^\\u0000-\\u001f\\u007f]+$',
    },
    reply_to: publishTopic('Topic that also gets the final reply (no wildcards).'),
    stream: { type: 'boolean', description: 'Publish reply deltas on <base>/reply/delta while the answer streams.' },
    transaction: idLike('Echoed in the reply (string or integer).'),
  },
} as const;

/** `<base>/request/<cmd>`: every field optional, an empty payload is `{}`. */
export const mqttRequestSchema = {
  $id: 'https://aeon.local/mqtt-request.schema.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    transaction: idLike('Echoed in the response (string or integer).'),
    session: {
      type: 'string',
      description: 'Conversation name the command acts on (session/reset, cancel); default "default".',
      minLength: 1,
      maxLength: 64,
      pattern: '^[^\\u0000-\\u001f\\u007f]+$',
    },
    id: idLike('cancel: the id of a running prompt (instead of session).'),
  },
} as const;

/** Arguments of the mqtt_publish tool (the model reads the descriptions). */
export const mqttPublishArgs = {
  type: 'object',
  additionalProperties: false,
  required: ['topic', 'payload'],
  properties: {
    topic: { type: 'string', minLength: 1, maxLength: 1024, description: 'One concrete topic (no + or # wildcards).' },
    payload: { type: ['string', 'object', 'array', 'number', 'boolean'], description: 'Text is sent as it is; anything else as JSON.' },
    qos: { type: 'integer', enum: [0, 1, 2], default: 1, description: 'MQTT QoS.' },
    retain: { type: 'boolean', default: false, description: "Ask the broker to keep it as the topic's last value." },
  },
} as const;

/** Arguments of the mqtt_read tool. */
export const mqttReadArgs = {
  type: 'object',
  additionalProperties: false,
  required: ['topic'],
  properties: {
    topic: { type: 'string', minLength: 1, maxLength: 1024, description: 'A topic, or a filter with + / # to list several.' },
  },
} as const;
