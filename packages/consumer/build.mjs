// `npm run build` / `npm pack` in this folder: the consumer library, compiled (see ../build.mjs).
import { fileURLToPath } from 'node:url';
import { buildPackage } from '../build.mjs';

await buildPackage({ packageDir: fileURLToPath(new URL('.', import.meta.url)), entry: 'consumer/index.ts' });
