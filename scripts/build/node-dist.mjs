// The official Node build for a target architecture, from the npm registry
// (package node-linux-<arch>, the same files as nodejs.org's tarball) through
// `npm pack`, cached in .cache/node-v<version>-linux-<arch>/ — the layout
// scripts/toolchain.mjs uses, so the x64 toolchain and the x64 build share one
// copy. After the first fetch everything here works offline.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** ELF e_machine values of the architectures aeon ships for. */
export const ELF_MACHINE = { x64: 0x3e, arm64: 0xb7 };

/** The e_machine of an ELF file, or undefined when it is not a 64-bit little-endian ELF. */
export function elfMachine(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const h = Buffer.alloc(20);
    fs.readSync(fd, h, 0, 20, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return undefined;
    return h.readUInt16LE(18);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Returns the path of `node` v`version` for linux-`arch`, fetching it once.
 * `log` receives one line per fetch.
 */
export function ensureNodeDist(root, version, arch, log = () => {}) {
  if (!(arch in ELF_MACHINE)) throw new Error(`no Node build for linux-${arch} (known: ${Object.keys(ELF_MACHINE).join(', ')})`);
  const cacheDir = path.join(root, '.cache');
  const dir = path.join(cacheDir, `node-v${version}-linux-${arch}`);
  const bin = path.join(dir, 'bin', 'node');
  if (!fs.existsSync(bin)) {
    const pkg = `node-linux-${arch}@${version}`;
    log(`fetching ${pkg} from the npm registry into .cache/ (once)`);
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(cacheDir, 'tmp-node-'));
    try {
      const r = spawnSync('npm', ['pack', pkg, '--silent', '--pack-destination', tmp], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.error) throw new Error(`cannot run npm to fetch ${pkg}: ${r.error.message}`);
      if (r.status !== 0) throw new Error(`npm pack ${pkg} failed (exit ${r.status}); is the npm registry reachable? ${r.stderr.trim()}`);
      const tgz = path.join(tmp, r.stdout.trim().split('\n').pop());
      const x = spawnSync('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node', 'package/LICENSE'], { encoding: 'utf8' });
      if (x.status !== 0) throw new Error(`cannot unpack ${tgz}: ${x.stderr || x.error?.message}`);
      try {
        // Atomic: a half-extracted node is never taken for a whole one.
        fs.renameSync(path.join(tmp, 'package'), dir);
      } catch (err) {
        // Another build fetched it meanwhile.
        if (!fs.existsSync(bin)) throw err;
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const machine = elfMachine(bin);
  if (machine !== ELF_MACHINE[arch]) {
    throw new Error(`${bin} is not a linux-${arch} executable (ELF machine ${machine}); delete ${dir} and build again`);
  }
  return bin;
}
