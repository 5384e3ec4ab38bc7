import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltBundle, bundleHandler, handlerNames, MAX_BUNDLE_BYTES } from '../../bench/bundlesBench.js';

/*
 * Each function's index.mjs as `cdk synth` builds it: bundleHandler passes esbuild the options
 * RotatorFunction gives NodejsFunction (lib/bundling.ts, one object for both). Sizes only; the
 * cold import time is measured by `npm run bench -- bundles`, never asserted here.
 */

/**
 * Functions over MAX_BUNDLE_BYTES, each with the ceiling it may not pass: none since the
 * Powertools tracer (and the X-Ray SDK behind it, ~118 KB) was dropped. A function that must go
 * over gets an entry here, with its reason; one that gets back under must leave the list (the
 * test after next fails until it does).
 */
const KNOWN_OVER_BUDGET: Readonly<Record<string, number>> = {};

/** The core module each step's body calls, and which no other function needs. */
const STEP_MODULES: Readonly<Record<string, string>> = {
  awaitConsumers: 'lambdas/core/steps/awaitConsumers.ts',
  cancelRotation: 'lambdas/core/steps/cancelRotation.ts',
  completeRotation: 'lambdas/core/steps/completeRotation.ts',
  healthAggregator: 'lambdas/core/steps/recordHealthReport.ts',
  publishPending: 'lambdas/core/steps/publishPending.ts',
  recordFailure: 'lambdas/core/steps/recordFailure.ts',
  startRotation: 'lambdas/core/steps/startRotation.ts',
};

const run = promisify(execFile);

let outDir: string;
const bundles = new Map<string, BuiltBundle>();

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'rotator-bundles-test-'));
  for (const handler of await handlerNames()) bundles.set(handler, await bundleHandler(handler, outDir));
}, 180_000);

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

describe('Lambda bundles (index.mjs, built as cdk synth builds them)', () => {
  it('builds all twelve functions', () => {
    expect(bundles.size).toBe(12);
  });

  it(`keeps every function within ${kb(MAX_BUNDLE_BYTES)}, but the known ones, which stay under their ceiling`, () => {
    // Act
    const over = [...bundles.values()]
      .filter(({ name, bytes }) => bytes > (KNOWN_OVER_BUDGET[name] ?? MAX_BUNDLE_BYTES))
      .map(({ name, bytes }) => `${name}: ${kb(bytes)}`);

    // Assess
    expect(over).toEqual([]);
  });

  it('lists no function as over the budget that is within it', () => {
    // Act
    const underBudget = Object.keys(KNOWN_OVER_BUDGET).filter(
      (name) => (bundles.get(name)?.bytes ?? 0) <= MAX_BUNDLE_BYTES,
    );

    // Assess
    expect(underBudget).toEqual([]);
  });

  it("holds only its own step's body: no function inlines another step's core module", () => {
    // Act
    const foreign = [...bundles.values()].flatMap(({ name, inputs }) =>
      Object.entries(STEP_MODULES)
        .filter(([owner, module]) => owner !== name && inputs.includes(module))
        .map(([, module]) => `${name} inlines ${module}`),
    );

    // Assess
    expect(foreign).toEqual([]);
  });

  it('inlines no HTTP client (Node fetch is built in) and no locale of zod', () => {
    // Act
    const heavy = [...bundles.values()].flatMap(({ name, inputs }) =>
      inputs
        .filter(
          (input) => input.includes('node_modules/undici/') || input.includes('node_modules/zod/v4/locales/'),
        )
        .filter((input) => !input.endsWith('/locales/en.js'))
        .slice(0, 1)
        .map((input) => `${name}: ${input}`),
    );

    // Assess
    expect(heavy).toEqual([]);
  });

  it('imports every function where no AWS SDK is installed: the SDK is loaded by the first AWS call', async () => {
    // Act: a fresh node in the bundles' folder, which has no node_modules above it: a static
    // import of the SDK the runtime provides would fail to resolve here, so an entry that imports
    // loads no SDK before its first AWS call.
    const loaded: Record<string, unknown> = {};
    for (const name of bundles.keys()) {
      const url = pathToFileURL(join(outDir, name, 'index.mjs')).href;
      const script =
        `const entry = await import(${JSON.stringify(url)});` +
        "const sdk = await import('@aws-sdk/client-sfn').then(() => 'found', () => 'absent');" +
        'process.stdout.write(JSON.stringify({ handler: typeof entry.handler, sdk }));';
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: outDir,
        env: {},
      }).catch((error: { stderr?: string }) => ({
        stdout: `import failed: ${error.stderr?.match(/\w*Error\b.*/)?.[0] ?? 'no message'}`,
      }));
      loaded[name] = stdout.startsWith('{') ? JSON.parse(stdout) : stdout;
    }

    // Assess
    const expected = Object.fromEntries(
      [...bundles.keys()].map((name) => [name, { handler: 'function', sdk: 'absent' }]),
    );
    expect(loaded).toEqual(expected);
  }, 120_000);

  it("names as imports only the runtime's SDK clients its function uses, and Node's builtins", () => {
    // Act
    const imports = Object.fromEntries(
      [...bundles.values()].map(({ name, externalImports }) => [
        name,
        externalImports.filter((path) => !path.startsWith('node:') && !/^[a-z_]+$/.test(path)).sort(),
      ]),
    );

    // Assess: never the CLI's clients (CloudFormation, Scheduler)
    const workflowClients = [
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-eventbridge',
      '@aws-sdk/client-secrets-manager',
      '@aws-sdk/client-sfn',
      '@aws-sdk/lib-dynamodb',
    ];
    expect(imports.startRotation).toEqual(workflowClients);
    expect(imports.githubWebhook).toEqual([
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-eventbridge',
      '@aws-sdk/client-secrets-manager',
      '@aws-sdk/lib-dynamodb',
    ]);
    // The registry (a DynamoDB Query) and the secrets' version dates.
    expect(imports.secretAgePublisher).toEqual([
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-secrets-manager',
      '@aws-sdk/lib-dynamodb',
    ]);
  });
});
