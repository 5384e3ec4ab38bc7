#!/usr/bin/env node
// The `rotator` executable. Plain JavaScript so that it runs on any Node: it checks the version
// first (one line instead of a stack trace on Node < 22), then loads the TypeScript CLI with tsx.
await import('../scripts/require-node.mjs');
const { tsImport } = await import('tsx/esm/api');
await tsImport('./rotator.ts', import.meta.url);
