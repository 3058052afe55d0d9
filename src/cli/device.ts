// The device layer around `aeon run`: health server, watchdog and systemd
// notifications. (Filled in with src/device once it lands.)
import type { Config } from '../config/types.ts';
import type { Runtime } from '../runtime.ts';

export interface DeviceHandle {
  url: string | undefined;
  ready(): void;
  stopping(): void;
  stop(): Promise<void>;
}

export async function startDevice(_rt: Runtime, _config: Config): Promise<DeviceHandle> {
  return { url: undefined, ready() {}, stopping() {}, async stop() {} };
}
