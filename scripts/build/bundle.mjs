// esbuild: src/sea.ts and everything it imports into one minified CommonJS file
// (a Node 24 SEA runs its main script as CommonJS only). What the sources need
// from an ES module is supplied here: import.meta.url from the file name,
// import.meta.main false (src/main.ts must not run itself; src/sea.ts runs it),
// AEON_BUILD/AEON_SEA constants, and node:module's createRequire replaced by
// scripts/build/module-shim.mjs so lazily required packages come from the bundle.
//
// Paths in the output are relative to the repository (the bundle is laid out as
// if it sat at the root), so two checkouts in different places give the same bytes.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const SHIM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'module-shim.mjs');

/** Redirects `node:module` to the shim, for aeon's own sources only (not for node_modules, nor the shim itself). */
function moduleShim(srcDir) {
  return {
    name: 'aeon-module-shim',
    setup(build) {
      build.onResolve({ filter: /^(node:)?module$/ }, (args) => {
        if (!args.importer.startsWith(srcDir + path.sep)) return undefined;
        return { path: SHIM };
      });
    },
  };
}

/**
 * undici requires node:http2 when it loads, inside a try whose catch stands in
 * `{ constants: {} }` for platforms without it. aeon never asks undici for
 * HTTP/2 (`allowH2` stays off, so ALPN offers http/1.1 only), and loading
 * node:http2 costs ~9 MB of RSS at idle (docs/benchmarks.md). For undici's
 * files only, the require throws, and undici takes its own fallback.
 */
function noHttp2ForUndici() {
  return {
    name: 'aeon-no-http2-for-undici',
    setup(build) {
      build.onResolve({ filter: /^(node:)?http2$/ }, (args) => {
        if (!/[\\/]node_modules[\\/]undici[\\/]/.test(args.importer)) return undefined;
        return { path: 'http2', namespace: 'aeon-no-http2' };
      });
      build.onLoad({ filter: /.*/, namespace: 'aeon-no-http2' }, () => ({
        contents: "throw new Error('node:http2 is left out of this build: aeon uses HTTP/1.1 only');",
        loader: 'js',
      }));
    },
  };
}

/**
 * Bundles for one board. Returns the code and map as strings (nothing written)
 * and esbuild's warnings.
 * @param {{root: string, name: string, commit: string, board: string, addonAsset: string, addonSha256: string}} o
 *   `name` is the bundle's file name (`aeon-<board>.js`): the SEA main's name in stack frames.
 */
export async function bundle(o) {
  const srcDir = path.join(o.root, 'src');
  const outfile = path.join(o.root, o.name);
  const result = await esbuild.build({
    absWorkingDir: o.root,
    entryPoints: [path.join(srcDir, 'sea.ts')],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    // Keep function names: stack traces in the journal stay readable without the map.
    keepNames: false,
    sourcemap: 'linked',
    // The sources are in the repository at the commit `aeon version` prints; a
    // map without them is a third of the size.
    sourcesContent: false,
    legalComments: 'none',
    // ASCII output (\uXXXX escapes): one character above U+00FF anywhere makes
    // V8 hold the whole 2 MiB script as a two-byte string, 4.1 MiB of heap
    // for the life of the process instead of 2.1 (scripts/bench/idle.ts).
    charset: 'ascii',
    logLevel: 'silent',
    metafile: true,
    banner: { js: 'var __aeon_meta_url=require("node:url").pathToFileURL(__filename).href;' },
    define: {
      'import.meta.url': '__aeon_meta_url',
      'import.meta.main': 'false',
      AEON_BUILD: JSON.stringify({ commit: o.commit, board: o.board }),
      AEON_SEA: JSON.stringify({ script: o.name, map: `${o.name}.map`, addon: o.addonAsset, addonSha256: o.addonSha256 }),
    },
    plugins: [moduleShim(srcDir), noHttp2ForUndici()],
  });
  const code = result.outputFiles.find((f) => f.path === outfile);
  const map = result.outputFiles.find((f) => f.path === `${outfile}.map`);
  if (!code || !map) throw new Error(`esbuild wrote ${result.outputFiles.map((f) => f.path).join(', ')}; expected ${outfile} and its map`);
  return {
    code: code.text,
    map: map.text,
    metafile: result.metafile,
    warnings: result.warnings.map((w) => `${w.location ? `${w.location.file}:${w.location.line}: ` : ''}${w.text}`),
  };
}

/** Bytes in the bundle per package (`src` for aeon's own code), largest first. */
export function sizesByPackage(metafile) {
  const sizes = new Map();
  for (const out of Object.values(metafile.outputs)) {
    for (const [file, info] of Object.entries(out.inputs)) {
      const key = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? (file.startsWith('src/') ? 'src' : file);
      sizes.set(key, (sizes.get(key) ?? 0) + info.bytesInOutput);
    }
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}
