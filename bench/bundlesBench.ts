import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLING, LAMBDA_NODE_MAJOR, RUNTIME_PROVIDED_MODULES } from '../lib/bundling.js';
import type { BenchContext, BenchResult, Target } from './harness.js';

// `npm run bench -- bundles`: each function's bundle as `cdk synth` makes it (lib/bundling.ts),
// its size, what fills it, and how long a fresh `node` takes to import it.

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const HANDLERS = join(REPO_ROOT, 'lambdas/handlers');
/** Every function's `index.mjs` must fit (issue 15). */
export const MAX_BUNDLE_BYTES = 300 * 1024;
/** The median cold import of every function, on Node 24 (issue 15). */
export const MAX_COLD_IMPORT_MS = 150;
const DEFAULT_SAMPLES = 15;
const run = promisify(execFile);

/** Where the AWS SDK comes from: the Lambda runtime (deployed), or inlined (the alternative measured). */
export type SdkSource = 'runtime' | 'bundled';

/** Options of {@link bundlesBench} (command-line flags). */
export interface BundlesBenchOptions {
  /** Fresh processes per function. @default 15 */
  readonly samples?: number;
  /** The `node` that imports the bundles. @default this process's */
  readonly node?: string;
  /** @default 'runtime' - as deployed */
  readonly sdk?: SdkSource;
}

/** One function's bundle: its size and what is in it. */
export interface BuiltBundle {
  readonly name: string;
  readonly bytes: number;
  /** Bytes each package adds to the output (`(ours)` for lambdas/ and package.json), largest first. */
  readonly packages: Readonly<Record<string, number>>;
  /** The source files inlined, relative to the repository (`lambdas/core/…`, `node_modules/…`). */
  readonly inputs: readonly string[];
  /** The modules it imports at run time (the runtime's SDK packages, `node:` builtins). */
  readonly externalImports: readonly string[];
}

/** One function's figures. */
export interface BundleFigures extends Omit<BuiltBundle, 'inputs' | 'externalImports'> {
  readonly coldImportMs: { readonly median: number; readonly max: number };
}

/** The handler entries, as lib/ deploys them (one function per file of lambdas/handlers/). */
export async function handlerNames(): Promise<string[]> {
  const files = await readdir(HANDLERS);
  return files
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3))
    .sort();
}

/**
 * Builds `handler` into `outDir/<handler>/index.mjs` with the deployed options (lib/bundling.ts),
 * the SDK left to the runtime or inlined; returns the output's size and its inputs by package.
 */
export async function bundleHandler(
  handler: string,
  outDir: string,
  sdk: SdkSource = 'runtime',
): Promise<BuiltBundle> {
  const outfile = join(outDir, handler, 'index.mjs');
  const result = await build({
    entryPoints: [join(HANDLERS, `${handler}.ts`)],
    bundle: true,
    platform: 'node',
    format: LAMBDA_BUNDLING.format,
    target: LAMBDA_BUNDLING.target,
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    banner: { js: LAMBDA_BUNDLING.banner },
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    external: sdk === 'runtime' ? [...RUNTIME_PROVIDED_MODULES] : [],
    outfile,
    metafile: true,
    absWorkingDir: REPO_ROOT,
    logLevel: 'error',
  });
  const { size } = await stat(outfile);
  const output = Object.values(result.metafile.outputs).find(
    (candidate) => candidate.entryPoint !== undefined,
  );
  return {
    name: handler,
    bytes: size,
    packages: bytesByPackage(output),
    inputs: Object.keys(output?.inputs ?? {}),
    externalImports: [
      ...new Set(output?.imports.filter((entry) => entry.external).map((entry) => entry.path)),
    ],
  };
}

function bytesByPackage(output: Metafile['outputs'][string] | undefined): Record<string, number> {
  const totals = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(ours)';
    totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
  }
  return Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]));
}

/** Milliseconds a fresh `node` spends in `import(file)`, measured inside it (start-up excluded). */
async function coldImportMs(node: string, file: string, signal: AbortSignal): Promise<number> {
  const script =
    `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)});` +
    'process.stdout.write(String(performance.now() - t));';
  const { stdout } = await run(node, ['--input-type=module', '-e', script], { signal, env: {} });
  return Number(stdout);
}

async function coldImports(node: string, file: string, samples: number, signal: AbortSignal) {
  const times: number[] = [];
  // One at a time: parallel processes would measure each other.
  for (let sample = 0; sample < samples; sample += 1) times.push(await coldImportMs(node, file, signal));
  times.sort((a, b) => a - b);
  const middle = Math.floor(times.length / 2);
  const median =
    times.length % 2 === 1 ? (times[middle] ?? 0) : ((times[middle - 1] ?? 0) + (times[middle] ?? 0)) / 2;
  return { median: round(median), max: round(times.at(-1) ?? 0) };
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

/**
 * Builds every function as deployed, then imports each `samples` times in fresh processes. The
 * bundles sit in a temporary folder whose `node_modules` links to the project's, so a bundle that
 * leaves the SDK to the runtime finds it as a Lambda finds the runtime's.
 */
export async function bundlesBench(
  context: BenchContext,
  options: BundlesBenchOptions = {},
): Promise<BenchResult> {
  const samples = options.samples ?? DEFAULT_SAMPLES;
  const node = options.node ?? process.execPath;
  const sdk = options.sdk ?? 'runtime';
  const { stdout: nodeVersion } = await run(node, ['--version']);
  const version = nodeVersion.trim();
  const outDir = await mkdtemp(join(tmpdir(), 'rotator-bundles-'));
  try {
    await symlink(join(REPO_ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
    const empty = join(outDir, 'empty.mjs');
    await writeFile(empty, 'export const handler = () => undefined;\n');
    const emptyMs = await coldImports(node, empty, samples, context.signal);
    const functions: BundleFigures[] = [];
    for (const handler of await handlerNames()) {
      context.say(`bundling and importing ${handler} (${samples} samples, ${version}, SDK ${sdk})`);
      const { name, bytes, packages } = await bundleHandler(handler, outDir, sdk);
      const file = join(outDir, handler, 'index.mjs');
      functions.push({
        name,
        bytes,
        packages,
        coldImportMs: await coldImports(node, file, samples, context.signal),
      });
    }
    return report(functions, { node: version, samples, sdk, emptyMs });
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

function report(
  functions: readonly BundleFigures[],
  run: { node: string; samples: number; sdk: SdkSource; emptyMs: { median: number; max: number } },
): BenchResult {
  const onNode24 = run.node.startsWith(`v${LAMBDA_NODE_MAJOR}.`);
  const targets: Target[] = functions.flatMap((figures) => [
    {
      name: `${figures.name} index.mjs <= ${kb(MAX_BUNDLE_BYTES)}`,
      ok: figures.bytes <= MAX_BUNDLE_BYTES,
      detail: kb(figures.bytes),
    },
    {
      name: `${figures.name} cold import median <= ${MAX_COLD_IMPORT_MS} ms`,
      ok: figures.coldImportMs.median <= MAX_COLD_IMPORT_MS,
      detail: `${figures.coldImportMs.median} ms on ${run.node}${onNode24 ? '' : ` (the target is for Node ${LAMBDA_NODE_MAJOR}: --node)`}`,
    },
  ]);
  const rows: (readonly [string, string])[] = [
    ['node / samples / SDK', `${run.node} / ${run.samples} per function / ${run.sdk}`],
    ['empty module import', `median ${run.emptyMs.median} ms, max ${run.emptyMs.max} ms`],
    ...functions.map(
      (figures) =>
        [
          figures.name,
          `${kb(figures.bytes).padStart(9)}  import median ${String(figures.coldImportMs.median).padStart(6)} ms, max ${String(figures.coldImportMs.max).padStart(6)} ms  ${topPackages(figures)}`,
        ] as const,
    ),
  ];
  return { document: { ...run, functions }, rows, targets };
}

function topPackages(figures: BundleFigures): string {
  return Object.entries(figures.packages)
    .slice(0, 4)
    .map(([name, bytes]) => `${name} ${Math.round(bytes / 1024)}K`)
    .join(', ');
}
