import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * How every function is bundled: by RotatorFunction (the deployed `index.mjs`) and by the
 * `bundles` benchmark (bench/bundlesBench.ts), which builds each handler with these very options
 * to report its size and cold import time. One object, so what is measured is what is deployed.
 */

/** Where the functions run; esbuild's target follows it. */
export const LAMBDA_NODE_MAJOR = 24;

/**
 * Left out of the bundle: the AWS SDK v3 the Lambda runtime provides. Bundling the SDK (the
 * version the tests run) would add 295-395 KB to every function, past the 300 KB budget; the
 * measured trade-off is in docs/benchmarks.md ("Lambda bundles"). Set here, not left to
 * NodejsFunction's default, which a feature flag widens to `@smithy/*`.
 */
export const RUNTIME_PROVIDED_MODULES: readonly string[] = ['@aws-sdk/*'];

/** NodejsFunction's `bundling` of every function (local esbuild, no Docker). */
export const LAMBDA_BUNDLING = {
  format: OutputFormat.ESM,
  target: `node${LAMBDA_NODE_MAJOR}`,
  minify: true,
  sourceMap: true,
  // ESM bundles need a `require` for the CommonJS dependencies they inline.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  mainFields: ['module', 'main'],
  externalModules: [...RUNTIME_PROVIDED_MODULES],
  forceDockerBundling: false,
} as const satisfies BundlingOptions;
