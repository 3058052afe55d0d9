export { ConfigError, EMBEDDED, configCandidates, findConfig, isLoopback, loadConfig, parseConfig } from './load.ts';
export type { Loaded, LoadOptions } from './load.ts';
export type * from './types.ts';
