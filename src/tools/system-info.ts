// system_info: the board's health in a few lines — temperature, load, memory,
// the data partition, uptime, addresses and Pi throttling. systeminformation
// is imported on first call only: it costs ~10 MB of RSS once loaded.
import fs from 'node:fs/promises';
import os from 'node:os';
import { SYSTEM_INFO_SECTIONS, systemInfoArgs } from './schemas.ts';
import { decodeThrottled, readThrottled } from './throttled.ts';
import type { Tool } from './types.ts';

type Section = (typeof SYSTEM_INFO_SECTIONS)[number];

export interface SystemInfoArgs {
  sections?: Section[];
}

/** The part of systeminformation used here (tests pass a stand-in). */
export interface SiLike {
  cpuTemperature(): Promise<{ main: number | null }>;
  mem(): Promise<{ total: number; available: number; swaptotal: number; swapused: number }>;
}

export interface SystemInfoOptions {
  /** The partition to report: aeon's data folder. */
  data_dir: string;
  /** Override for the throttling flags file (tests). */
  throttled_path?: string;
  /** Ask vcgencmd when the sysfs file is missing. Default true. */
  vcgencmd?: boolean;
  loadSi?: () => Promise<SiLike>;
}

export function systemInfoTool(opts: SystemInfoOptions): Tool<SystemInfoArgs> {
  const loadSi = opts.loadSi ?? (() => import('systeminformation') as Promise<SiLike>);
  const probes: Record<Section, (signal: AbortSignal) => Promise<string>> = {
    cpu: async () => {
      const si = await loadSi();
      const t = await si.cpuTemperature().then((r) => r.main, () => null);
      const load = os.loadavg().map((n) => n.toFixed(2)).join(' ');
      const temp = typeof t === 'number' && t > 0 ? `temperature ${t.toFixed(1)} °C` : 'temperature not available';
      return `${os.availableParallelism()} cores, load ${load} (1/5/15 min), ${temp}`;
    },
    memory: async () => {
      const m = await (await loadSi()).mem();
      const swap = m.swaptotal ? `; swap ${mb(m.swapused)} used of ${mb(m.swaptotal)}` : '; no swap';
      return `${mb(m.available)} available of ${mb(m.total)} (${pct(m.total - m.available, m.total)} used)${swap}; aeon uses ${mb(process.memoryUsage.rss())}`;
    },
    disk: async () => {
      const s = await fs.statfs(opts.data_dir);
      const total = s.blocks * s.bsize;
      const free = s.bavail * s.bsize;
      return `${opts.data_dir}: ${gb(free)} free of ${gb(total)} (${pct(total - s.bfree * s.bsize, total)} used)`;
    },
    uptime: async () => `system ${duration(os.uptime())}, aeon ${duration(process.uptime())}`,
    network: async () => addresses(),
    throttling: async (signal) => {
      const flags = await readThrottled({ path: opts.throttled_path, vcgencmd: opts.vcgencmd, signal });
      return flags === undefined ? 'not available (not a Raspberry Pi, or no firmware interface)' : decodeThrottled(flags);
    },
  };
  return {
    name: 'system_info',
    description: `Health of this device: ${SYSTEM_INFO_SECTIONS.join(', ')} (Raspberry Pi under-voltage and throttling flags). Ask for some sections only with "sections".`,
    parameters: systemInfoArgs,
    timeout_ms: 15_000,
    async execute({ sections }, { signal }) {
      const want = sections ?? SYSTEM_INFO_SECTIONS;
      // One failing probe (a missing sensor, an odd mount) reports itself and the rest still answer.
      const lines = await Promise.all(
        want.map((s) => probes[s](signal).then((v) => `${s}: ${v}`, (e: unknown) => `${s}: not available (${e instanceof Error ? e.message : String(e)})`)),
      );
      return lines.join('\n');
    },
  };
}

function addresses(): string {
  const parts: string[] = [];
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    // Loopback and link-local addresses say nothing about how to reach the device.
    const addrs = (list ?? []).filter((a) => !a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')));
    if (addrs.length) parts.push(`${name} ${addrs.map((a) => a.address).join(' ')}`);
  }
  return parts.length ? parts.join('; ') : 'no external addresses (offline?)';
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}

function gb(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : mb(bytes);
}

function pct(part: number, whole: number): string {
  return whole ? `${Math.round((part / whole) * 100)}%` : '?%';
}

function duration(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h ${m} min` : h ? `${h} h ${m} min` : `${m} min ${Math.floor(s % 60)} s`;
}
