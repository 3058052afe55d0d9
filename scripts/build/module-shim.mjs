// Stands in for `node:module` in aeon's own sources when they are bundled into
// the binary (scripts/build/bundle.mjs redirects the import). aeon loads a few
// packages lazily with createRequire(import.meta.url)(name); inside the binary
// there is no node_modules to find them in. Here those names map to copies
// esbuild bundles behind a function, so they are still evaluated only when
// first asked for; built-in modules pass through; anything else is "not found",
// which the callers already handle. The binary never loads code from disk, even
// when it happens to sit inside a checkout with a node_modules above it.
export { isBuiltin, SourceMap } from 'node:module';

const BUNDLED = {
  // compileSchema(): tool schemas that are not precompiled (src/util/validate.ts).
  ajv: () => require('ajv'),
  // Human-readable logs on a terminal (src/log.ts).
  'pino-pretty': () => require('pino-pretty'),
};

export function createRequire() {
  return function bundledRequire(id) {
    if (Object.hasOwn(BUNDLED, id)) return BUNDLED[id]();
    const builtin = process.getBuiltinModule(id);
    if (builtin) return builtin;
    const err = new Error(`Cannot find module '${id}': the aeon binary carries only ${Object.keys(BUNDLED).join(', ')} and Node's built-ins`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  };
}
