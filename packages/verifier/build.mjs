// `npm run build` / `npm pack` in this folder: the verifier for resource servers, compiled (see ../build.mjs).
import { fileURLToPath } from 'node:url';
import { buildPackage } from '../build.mjs';

await buildPackage({ packageDir: fileURLToPath(new URL('.', import.meta.url)), entry: 'verifier/index.ts' });
