// A full garbage collection on demand, for benchmarks and leak hunts
// (AEON_GC_ON_SIGUSR2=1, src/cli/device.ts). Not --expose-gc at start: a V8
// flag there changes V8's flag hash and the binary's code cache is rejected.
// Setting the flag now only gives contexts made from here on their `gc`; the
// process's own global stays as it was.

export function fullGc(): void {
  process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
  (process.getBuiltinModule('node:vm').runInNewContext('gc') as () => void)();
}
