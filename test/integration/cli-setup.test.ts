import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Setup problems as a user meets them (issue 15): the built `rotator` run as a process in a scrubbed
 * environment (no AWS variables, no profile files, no instance metadata), each problem one line on
 * stderr and exit 2, never "internal error" or a stack trace; and a bad deployment config for the
 * CDK app, one list of problems and exit 2.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET_ACCESS_KEY = 'setup-test-secret-access-key-0000';
const home = mkdtempSync(join(tmpdir(), 'rotator-setup-'));

/** Only what a process needs to run: no AWS_*, a HOME without ~/.aws, no instance metadata. */
const SCRUBBED = {
  PATH: process.env.PATH ?? '',
  HOME: home,
  AWS_CONFIG_FILE: join(home, 'no-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
};
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIASETUPTEST0000', AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args` in REPO_ROOT with exactly `env`, to its end. */
function run(command: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const rotator = (args: readonly string[], env: Record<string, string>): Promise<Run> =>
  run(process.execPath, ['bin/rotator.mjs', ...args], env);

/** Exit 2 and exactly one line on stderr matching `problem`; no stack, no secret. */
function expectSetupLine(result: Run, problem: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stderr.split('\n')).toEqual([expect.stringMatching(problem), '']);
  expect(result.stderr).not.toMatch(/internal error|^\s+at /m);
  expect(`${result.stdout}${result.stderr}`).not.toContain(SECRET_ACCESS_KEY);
}

// A command that reads the stack's outputs first (`--stack`), and one that goes straight to AWS.
const COMMANDS: readonly (readonly [string, readonly string[]])[] = [
  ['status --stack', ['status', '--stack', 'StytchM2MRotator']],
  ['status with resource flags', ['status', '--table', 'rotator-ledger', '--secret-prefix', 'stytch/m2m']],
];

/**
 * An AWS endpoint that refuses every call the way AWS does: `answer` picks the error code, written in
 * the protocol of the request (CloudFormation's query XML, or the JSON of DynamoDB and Secrets Manager).
 */
function fakeAws(
  answer: (request: IncomingMessage) => { status: number; code: string; message: string },
): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      const { status, code, message } = answer(request);
      if ((request.headers['content-type'] ?? '').includes('x-amz-json')) {
        response.writeHead(status, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-errortype': code,
        });
        response.end(JSON.stringify({ __type: code, message }));
        return;
      }
      response.writeHead(status, { 'content-type': 'text/xml' });
      response.end(
        `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
          '<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>',
      );
    });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return url;
}

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('rotator setup problems: one line, exit 2', () => {
  it.each(COMMANDS)('no region (%s)', async (_label, args) => {
    expectSetupLine(
      await rotator(args, { ...SCRUBBED, ...CREDENTIALS }),
      /^rotator: no AWS region: set AWS_REGION/,
    );
  });

  it.each(COMMANDS)('no credentials (%s)', async (_label, args) => {
    expectSetupLine(
      await rotator(args, { ...SCRUBBED, AWS_REGION: 'us-east-1' }),
      /^rotator: no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
  });

  it.each(COMMANDS)('an endpoint nothing listens on (%s)', async (_label, args) => {
    // Prepare
    const endpoint = await closedPort();

    // Act
    const result = await rotator(args, {
      ...SCRUBBED,
      ...CREDENTIALS,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
    });

    // Assess
    expectSetupLine(result, new RegExp(`^rotator: cannot reach AWS at ${endpoint} \\(ECONNREFUSED\\)`));
  });

  it('an endpoint whose name does not resolve', async () => {
    expectSetupLine(
      await rotator(COMMANDS[0]?.[1] ?? [], {
        ...SCRUBBED,
        ...CREDENTIALS,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: 'http://rotator-setup-test.invalid',
      }),
      /^rotator: cannot reach AWS at http:\/\/rotator-setup-test\.invalid \((ENOTFOUND|EAI_AGAIN)\)/,
    );
  });

  describe('against an endpoint that refuses', () => {
    let server: Server;
    let endpoint: string;
    let refusal = { status: 403, code: 'InvalidClientTokenId', message: 'The security token is invalid.' };

    beforeAll(async () => {
      server = fakeAws(() => refusal);
      endpoint = await listen(server);
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    const env = (): Record<string, string> => ({
      ...SCRUBBED,
      ...CREDENTIALS,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
    });

    it.each([
      ['InvalidClientTokenId', 0],
      ['UnrecognizedClientException', 1],
    ] as const)('credentials AWS does not accept (%s)', async (code, command) => {
      // Prepare
      refusal = { status: 403, code, message: 'The security token included in the request is invalid.' };

      // Act
      const result = await rotator(COMMANDS[command]?.[1] ?? [], env());

      // Assess
      expectSetupLine(result, new RegExp(`^rotator: AWS refused the credentials \\(${code}\\)`));
    });

    it('a stack that does not exist', async () => {
      // Prepare: CloudFormation's answer for an unknown stack name
      refusal = { status: 400, code: 'ValidationError', message: 'Stack with id NoSuchStack does not exist' };

      // Act
      const result = await rotator(['status', '--stack', 'NoSuchStack'], env());

      // Assess
      expectSetupLine(
        result,
        /^rotator: the stack NoSuchStack does not exist here \(region and account as configured\)$/,
      );
    });
  });
});

describe('CDK app with a bad deployment config', () => {
  it('lists every problem with its path and exits 2, without a stack trace', async () => {
    // Prepare
    const config = join(home, 'bad-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        stytch: { projectCredentialsSecretArn: 'not-an-arn' },
        clients: [{ clientId: 'm2m-client-test-a', schedule: { expression: 'weekly' }, extra: true }],
      }),
    );

    // Act: how `cdk synth -c config=<path>` runs the app
    const result = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      ...SCRUBBED,
      CDK_CONTEXT_JSON: JSON.stringify({ config }),
    });

    // Assess
    expect(result.code).toBe(2);
    // The clients of an older config are refused as a whole (they are registry data now), with the way out.
    expect(result.stderr.split('\n')).toEqual([
      `cdk: ${config} is not a valid deployment config (2 problems):`,
      '  stytch.projectCredentialsSecretArn: must be a Secrets Manager secret ARN',
      '  clients: clients are no longer part of the deployment config: move them to the registry with ' +
        '`rotator apply -f <this file>` (docs/fleet.md), then delete this key',
      '',
    ]);
    expect(result.stderr).not.toMatch(/ZodError|^\s+at /m);
  });
});
