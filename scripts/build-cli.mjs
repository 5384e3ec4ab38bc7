#!/usr/bin/env node
// `npm run build`: bundles the `rotator` CLI (bin/rotator.ts → cli/exec.ts) into ES modules,
// dist/cli/rotator.mjs and its chunks, so that `rotator` runs plain JavaScript with no TypeScript loader at run time.
// Runs on `npm ci` and `npm pack` (the `prepare` script) and before `npm test` (`pretest`).
// Plain JavaScript on purpose: `npm ci` may run it on a Node older than the project needs (20+).
//
// Everything is inlined, the AWS SDK included: left external (Node then loads its CommonJS files one
// by one), a command that uses it took 1.7x as long. The commands are split into chunks loaded on
// demand (cli/exec.ts imports one when it runs), so `--help` reads commander and not the SDK or
// undici: as one 4.6 MB file it took 2.5x as long. Figures: docs/benchmarks.md.
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const target = `${root}dist/cli`;
// Built beside the target, then swapped in: a `rotator` running meanwhile (tests, another
// terminal) finds the old build or the new one, never a half-written or missing one.
const outdir = `${root}dist/cli.building-${process.pid}`;

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // `npm ci --omit=dev` has no esbuild: say what the missing CLI needs instead of failing the install.
  process.stderr.write(
    'build-cli: esbuild is not installed (dev dependency); the rotator CLI is not built\n',
  );
  process.exit(0);
}

const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
// A fresh directory: chunk names carry a hash, and old ones would pile up.
mkdirSync(outdir, { recursive: true });
try {
  await esbuild.build({
    entryPoints: { rotator: `${root}bin/rotator.ts` },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    splitting: true,
    // Readable output: a stack trace from the built CLI (ROTATOR_DEBUG=1) points at code one can read.
    minify: false,
    legalComments: 'eof',
    logLevel: 'warning',
    // The package version, fixed at build time (cli/exec.ts reads package.json only when run from source).
    define: { ROTATOR_VERSION: JSON.stringify(version) },
    // Some inlined CommonJS dependencies call `require` for Node built-ins; an ES module has none.
    banner: {
      js: "import { createRequire as __rotatorCreateRequire } from 'node:module';\nconst require = __rotatorCreateRequire(import.meta.url);",
    },
  });
} catch {
  // esbuild has already printed the errors with their locations.
  rmSync(outdir, { recursive: true, force: true });
  process.stderr.write('build-cli: the rotator CLI did not build (errors above)\n');
  process.exit(1);
}
const old = `${root}dist/cli.old-${process.pid}`;
try {
  renameSync(target, old);
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}
try {
  renameSync(outdir, target);
} catch (error) {
  // Another build swapped its output in between: it is as new as ours.
  if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  rmSync(outdir, { recursive: true, force: true });
}
rmSync(old, { recursive: true, force: true });
