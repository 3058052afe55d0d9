// Every JSON Schema that is known at build time, by validator name. They are
// compiled ahead of time into src/gen/validators.js (scripts/gen-validators.mjs)
// so the device never loads ajv's compiler to check its own config.
import { boardSchema, configSchema } from './config/schema.ts';
import { mqttPromptSchema, mqttPublishArgs, mqttReadArgs, mqttRequestSchema } from './dialogs/mqtt/schema.ts';
import { TOOL_ARG_SCHEMAS } from './tools/schemas.ts';

export const SCHEMAS: Record<string, object> = {
  config: configSchema,
  board: boardSchema,
  mqtt_prompt: mqttPromptSchema,
  mqtt_request: mqttRequestSchema,
  // The MQTT dialog's tools (the registry may look these up as it does TOOL_ARG_SCHEMAS).
  tool_mqtt_publish: mqttPublishArgs,
  tool_mqtt_read: mqttReadArgs,
  // Tool arguments: validate_tool_<key>.
  ...Object.fromEntries(Object.entries(TOOL_ARG_SCHEMAS).map(([k, v]) => [`tool_${k}`, v])),
};
