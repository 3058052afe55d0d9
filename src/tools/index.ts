// The built-in tools, built from config. mqtt_publish, mqtt_read and
// message_send come with their dialogs, which register them on the registry.
import type { Config } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { currentTimeTool } from './current-time.ts';
import type { SecretSource } from './env-scrub.ts';
import { execTool } from './exec.ts';
import { fileTools } from './file-tools.ts';
import { httpFetchTool } from './http-fetch.ts';
import { systemInfoTool } from './system-info.ts';
import type { Tool } from './types.ts';
import { Workspace } from './workspace.ts';

export interface BuiltinDeps {
  /** Known secrets: kept out of exec's environment. */
  secrets: SecretSource;
  log: Logger;
}

/** file_read, file_write, file_list, exec, system_info, current_time, http_fetch. */
export function builtinTools(config: Config, deps: BuiltinDeps): Tool[] {
  const workspace = new Workspace(config.tools.workspace);
  const max_output_bytes = config.budget.tool_output_bytes;
  return [
    ...fileTools(config.tools, { workspace, max_output_bytes }),
    execTool(config.tools, { secrets: deps.secrets, max_output_bytes, workspace }),
    systemInfoTool({ data_dir: config.device.data_dir }),
    currentTimeTool(),
    httpFetchTool(config.tools.http_fetch),
  ];
}

export { capOutput, HeadTailBuffer } from './cap-output.ts';
export { currentTimeTool } from './current-time.ts';
export { containsSecret, scrubEnv, type SecretSource } from './env-scrub.ts';
export { execTool, type ExecConfig, type ExecDeps } from './exec.ts';
export { fileTools, type FileToolsConfig } from './file-tools.ts';
export { htmlToText } from './html-text.ts';
export { httpFetchTool, type HttpFetchConfig, type HttpFetchDeps } from './http-fetch.ts';
export { blockedReason } from './net-guard.ts';
export { ToolRegistry, type RegistryOptions } from './registry.ts';
export { systemInfoTool, type SystemInfoOptions } from './system-info.ts';
export { decodeThrottled } from './throttled.ts';
export type { Tool, ToolContext, ToolResult } from './types.ts';
export { PATH_RULE, Workspace } from './workspace.ts';
