#!/usr/bin/env node
// The `rotator` executable. Plain JavaScript so that it runs on any Node: it checks the version
// first (one line instead of a stack trace on Node < 22), then runs the CLI as built by
// `npm run build` (scripts/build-cli.mjs): compiled JavaScript, no TypeScript loader at run time.
import { existsSync } from 'node:fs';

await import('../scripts/require-node.mjs');
const built = new URL('../dist/cli/rotator.mjs', import.meta.url);
if (!existsSync(built)) {
  // npm ci and npm pack build it (the `prepare` script); an install that skipped scripts did not.
  process.stderr.write('rotator: the CLI is not built (dist/cli/rotator.mjs): run `npm run build`\n');
  process.exit(2);
}
await import(built.href);
