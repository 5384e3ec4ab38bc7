import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StytchClient } from '#adapters/stytch/index.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';
import { enrolClient, registerClient } from '#sandbox/world/worldResources.js';
import { type MotoServer, startMoto } from '../../support/moto.js';
import {
  claimsOf,
  createClient,
  DocumentServer,
  document,
  type EmulatorClient,
  jwksUrlOf,
  record,
} from '../../unit/verifier/support.js';

/**
 * The packages as a service meets them: `npm pack`, `npm install <tarball>` into an empty project,
 * then plain `node` (no TypeScript loader) and `tsc` against what was installed: the consumer
 * library, the verifier for resource servers, and the main package (the CLI, and both libraries
 * again). One install per package serves every case. The installs resolve the packages'
 * dependencies from the npm cache when it has them (`--prefer-offline`), from the registry otherwise.
 */

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
/** What a service that only uses the consumer library must not be made to install. */
const TOOLING = ['aws-cdk-lib', 'constructs', 'commander', 'tsx', 'typescript', 'esbuild'];
const CONSUMER_NAME = 'packaged-service';
const SCOPE = 'read:invoices';

let work: string;
let consumerProject: string;
let mainProject: string;
let moto: MotoServer;
let emulator: StytchEmulator;
let secretId: string;
let clientId: string;
let verifierProject: string;
let documents: DocumentServer;
let revoked: EmulatorClient;
let fine: EmulatorClient;

/** npm with this test's Node first on PATH, so that scripts (`prepack`) run on the same Node. */
async function npm(cwd: string, args: readonly string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  };
  // A loader vitest may have set would hide what plain Node does with the packed files.
  delete env.NODE_OPTIONS;
  const { stdout } = await run('npm', [...args, '--loglevel=error', '--no-audit', '--no-fund'], {
    cwd,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** `npm pack` of the package in `dir`; resolves to the tarball's path. */
async function pack(args: readonly string[]): Promise<string> {
  const [packed] = JSON.parse(await npm(REPO, ['pack', ...args, '--json', '--pack-destination', work])) as [
    { filename: string },
  ];
  return join(work, packed.filename);
}

async function installInto(name: string, tarball: string): Promise<string> {
  const project = join(work, name);
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }),
  );
  await npm(project, ['install', '--prefer-offline', tarball]);
  return project;
}

/** Runs a script with plain `node`: no loader, no inherited NODE_OPTIONS, AWS pointed at moto. */
async function node(cwd: string, args: readonly string[], env: Record<string, string> = {}) {
  const { stdout } = await run(process.execPath, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...env,
    },
  });
  return stdout;
}

/** Every package folder in a node_modules tree, nested ones included (`@scope/name`). */
function installedPackages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .flatMap((entry) =>
      entry.name.startsWith('@')
        ? readdirSync(join(nodeModules, entry.name)).map((name) => `${entry.name}/${name}`)
        : [entry.name],
    )
    .flatMap((name) => [name, ...installedPackages(join(nodeModules, name, 'node_modules'))]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rotator-package-'));
  const services = (async () => {
    [moto, emulator] = await Promise.all([startMoto(), StytchEmulator.start()]);
    const stytch = {
      url: emulator.url,
      projectId: emulator.projectId,
      projectSecret: emulator.projectSecret,
    };
    const stytchClient = new StytchClient({
      projectId: stytch.projectId,
      secret: stytch.projectSecret,
      baseUrl: stytch.url,
    });
    const client = await registerClient(stytch, stytchClient, {
      kind: 'm2m',
      clientId: 'm2m-client-test-packaged',
      scopes: [SCOPE],
    });
    await stytchClient.close();
    await enrolClient(moto.clients.secretsManager(), 'stytch/m2m', stytch, client);
    clientId = client.clientId;
    secretId = `stytch/m2m/${client.clientId}`;
  })();
  // The library's `prepack` builds packages/consumer/dist, which the CLI package ships too. The CLI
  // package is packed without its scripts: its `prepare` would rebuild dist/cli/ (already built by
  // `npm ci` and `pretest`) under the CLI tests running beside this file.
  const consumerTarball = await pack(['--workspace', '@stytch-m2m-rotator/consumer']);
  // Likewise packages/verifier/dist. The packs run one after another, in this one file: two files
  // building the same dist/ at once could pack a half-written folder.
  const verifierTarball = await pack(['--workspace', '@stytch-m2m-rotator/verifier']);
  const mainTarball = await pack(['--ignore-scripts']);
  [consumerProject, mainProject, verifierProject] = await Promise.all([
    installInto('service', consumerTarball),
    installInto('operator', mainTarball),
    installInto('resource-server', verifierTarball),
    services.then(verifierServices),
  ]);
}, 120_000);

/** The verifier's case: a revocation document on loopback and two clients of the emulator. */
async function verifierServices(): Promise<void> {
  documents = await DocumentServer.start();
  [revoked, fine] = await Promise.all([
    createClient(emulator, 'm2m-client-test-revoked', ['read:invoices']),
    createClient(emulator, 'm2m-client-test-fine', ['read:invoices']),
  ]);
}

afterAll(async () => {
  await Promise.all([moto?.stop(), emulator?.stop(), documents?.stop()]);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('@stytch-m2m-rotator/consumer, packed and installed into an empty project', () => {
  it('installs the library and its runtime dependencies only: no CDK, CLI framework or TypeScript tooling', () => {
    // Act
    const installed = installedPackages(join(consumerProject, 'node_modules'));
    const files = filesUnder(join(consumerProject, 'node_modules/@stytch-m2m-rotator/consumer'));

    // Assess
    expect(installed).toContain('@stytch-m2m-rotator/consumer');
    expect(installed).toEqual(expect.arrayContaining(['@aws-sdk/client-secrets-manager', 'jose', 'zod']));
    expect(installed.filter((name) => TOOLING.includes(name))).toEqual([]);
    // JavaScript and declarations: no TypeScript source a plain Node could not load.
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/types/consumer/index.d.ts']));
  });

  it('mints a token for a sandbox client from a plain `node` script, and throws its typed errors', async () => {
    // Arrange
    writeFileSync(
      join(consumerProject, 'service.mjs'),
      `import { ConsumerError, createM2MCredentials, SecretReadError } from '@stytch-m2m-rotator/consumer';
const options = { consumerName: '${CONSUMER_NAME}', pollIntervalMs: 0 };
const credentials = createM2MCredentials({ ...options, secretId: process.env.SECRET_ID });
const token = await credentials.accessToken(['${SCOPE}']);
const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
const missing = createM2MCredentials({ ...options, secretId: 'stytch/m2m/m2m-client-test-missing' });
const error = await missing.accessToken().catch((reason) => reason);
await Promise.all([credentials.close(), missing.close()]);
console.log(JSON.stringify({
  sub: claims.sub,
  scope: claims.scope,
  error: error.name,
  typed: error instanceof SecretReadError && error instanceof ConsumerError,
}));
`,
    );

    // Act
    const output = JSON.parse(await node(consumerProject, ['service.mjs'], { SECRET_ID: secretId }));

    // Assess
    expect(output).toEqual({ sub: clientId, scope: SCOPE, error: 'SecretReadError', typed: true });
  });

  it('type-checks a strict TypeScript service against the installed declarations', async () => {
    // Arrange: @ts-expect-error lines fail the check if the declarations collapse to `any`.
    writeFileSync(
      join(consumerProject, 'service.ts'),
      `import { createM2MCredentials, type M2MCredentials, TokenRequestError } from '@stytch-m2m-rotator/consumer';

const credentials: M2MCredentials = createM2MCredentials({ secretId: 'stytch/m2m/x', consumerName: 'svc' });
export const token: Promise<string> = credentials.accessToken(['${SCOPE}']);
export const refused = (error: unknown): boolean => error instanceof TokenRequestError && error.invalidClient;
// @ts-expect-error consumerName is required
createM2MCredentials({ secretId: 'stytch/m2m/x' });
// @ts-expect-error a number of milliseconds
createM2MCredentials({ secretId: 'stytch/m2m/x', consumerName: 'svc', pollIntervalMs: '60s' });
`,
    );
    writeFileSync(
      join(consumerProject, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2024',
          strict: true,
          noEmit: true,
          // The library's declarations are checked too (a service's default is usually to skip them).
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules/@types')],
        },
        files: ['service.ts'],
      }),
    );
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');

    // Act
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumerProject }).then(
      () => 'ok',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );

    // Assess
    expect(result).toBe('ok');
  });
});

describe('@stytch-m2m-rotator/verifier, packed and installed into an empty project', () => {
  it('installs with jose and zod only', () => {
    // Act
    const installed = installedPackages(join(verifierProject, 'node_modules')).sort();

    // Assess
    expect(installed).toEqual(['@stytch-m2m-rotator/verifier', 'jose', 'zod']);
  });

  it('verifies an emulator token from a plain `node` script and refuses a revoked one with its typed error', async () => {
    // Prepare
    const [revokedToken, fineToken] = await Promise.all([revoked.mint(), fine.mint()]);
    documents.serve(document(record(revoked.clientId, (claimsOf(revokedToken).iat + 1) * 1000)));
    writeFileSync(
      join(verifierProject, 'server.mjs'),
      `import { createVerifier, TokenRevokedError, VerifierError } from '@stytch-m2m-rotator/verifier';
const [projectId, jwksUrl, url, revokedToken, fineToken] = process.argv.slice(2);
const verifier = createVerifier({ projectId, jwksUrl, revocations: { url } });
const accepted = await verifier.verify(fineToken, { requiredScopes: ['read:invoices'] });
const error = await verifier.verify(revokedToken).catch((reason) => reason);
verifier.close();
console.log(JSON.stringify({
  accepted: accepted.clientId,
  refused: error.name,
  typed: error instanceof TokenRevokedError && error instanceof VerifierError,
}));
`,
    );

    // Act
    const { stdout } = await run(
      process.execPath,
      ['server.mjs', emulator.projectId, jwksUrlOf(emulator), documents.url, revokedToken, fineToken],
      { cwd: verifierProject, env: { PATH: process.env.PATH ?? '' } },
    );

    // Assess
    expect(JSON.parse(stdout)).toEqual({
      accepted: fine.clientId,
      refused: 'TokenRevokedError',
      typed: true,
    });
  });
});

describe('stytch-m2m-rotator, packed and installed into an empty project', () => {
  it('keeps `stytch-m2m-rotator/consumer` importable with plain `node`: the same compiled library', async () => {
    // Arrange
    const names = 'console.log(JSON.stringify(Object.keys(await import(process.argv[1])).sort()))';

    // Act
    const viaMain = JSON.parse(
      await node(mainProject, ['--input-type=module', '-e', names, 'stytch-m2m-rotator/consumer']),
    );
    const viaPackage = JSON.parse(
      await node(consumerProject, ['--input-type=module', '-e', names, '@stytch-m2m-rotator/consumer']),
    );

    // Assess
    expect(viaMain).toContain('createM2MCredentials');
    expect(viaMain).toEqual(viaPackage);
  });

  it('exports the verifier as `stytch-m2m-rotator/verifier`, importable with plain `node`', async () => {
    // Arrange
    const names = 'console.log(JSON.stringify(Object.keys(await import(process.argv[1])).sort()))';

    // Act
    const exported = JSON.parse(
      await node(mainProject, ['--input-type=module', '-e', names, 'stytch-m2m-rotator/verifier']),
    );

    // Assess
    expect(exported).toEqual(
      expect.arrayContaining(['createVerifier', 'TokenRevokedError', 'VerifierError']),
    );
  });

  it('runs `rotator --version` and `--help` as compiled JavaScript, without the CDK or tsx installed', async () => {
    // Arrange
    const rotator = join(mainProject, 'node_modules/.bin/rotator');
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

    // Act
    const printed = await node(mainProject, [rotator, '--version']);
    const help = await node(mainProject, [rotator, '--help']);
    const installed = installedPackages(join(mainProject, 'node_modules'));

    // Assess
    expect(printed.trim()).toBe(version);
    expect(help).toContain('Usage: rotator');
    expect(installed.filter((name) => TOOLING.includes(name))).toEqual([]);
  });

  it('installs every package its shipped JavaScript imports (its dependencies are exactly what it runs)', () => {
    // Arrange
    const root = join(mainProject, 'node_modules/stytch-m2m-rotator');
    const installed = new Set(installedPackages(join(mainProject, 'node_modules')));
    const shipped = filesUnder(root).filter((file) => /\.m?js$/.test(file) && !file.includes('node_modules'));

    // Act
    const missing = shipped.flatMap((file) =>
      bareImports(readFileSync(join(root, file), 'utf8'))
        .filter((name) => !installed.has(name))
        .map((name) => `${file} imports ${name}`),
    );

    // Assess
    expect(shipped).toEqual(
      expect.arrayContaining([
        'dist/cli/rotator.mjs',
        'packages/consumer/dist/index.js',
        'packages/verifier/dist/index.js',
      ]),
    );
    expect(missing).toEqual([]);
  });
});

/** The packages an ES module imports (static and dynamic imports; Node built-ins left out). */
function bareImports(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/gm),
    ...source.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((match) => match[1] ?? '');
  const packages = specifiers
    .filter((specifier) => !/^(?:\.|\/|node:|#)/.test(specifier) && !builtinModules.includes(specifier))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
  return [...new Set(packages)];
}
