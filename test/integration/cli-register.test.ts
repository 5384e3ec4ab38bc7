import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';
import { closedLoopbackPort } from '../support/closedPort.js';

const PREFIX = 'stytch/m2m';

interface Registered {
  created: boolean;
  clientId: string;
  name: string;
  scopes: string[];
  expectedConsumers: string[];
  secretId: string;
  secretLastFour?: string;
  schedule?: { expression: string; timeZone: string; scheduleName: string };
  registeredBy: string;
}

describe('CLI: rotator register against the sandbox', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;

  const run = async (argv: string[], overrides: Record<string, string> = {}) => {
    const io = bufferedIo({ ...env, ...overrides });
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };
  const stored = async (secretId: string) => {
    const { SecretString } = await sandbox.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    );
    return JSON.parse(SecretString ?? '{}') as Record<string, string>;
  };
  const stytchClientsNamed = async (name: string) =>
    (
      await sandbox.stytchClient.m2m.search({
        query: { operator: 'AND', operands: [{ filterName: 'client_name', filterValue: [name] }] },
      })
    ).clients.filter((client) => client.clientName === name);
  const secretNames = async () =>
    ((await sandbox.aws.secretsManager.send(new ListSecretsCommand({}))).SecretList ?? []).map((s) => s.Name);

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    env = { ...sandbox.cliEnv() };
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
  });
  afterAll(() => sandbox?.stop());

  it('creates the client at Stytch, stores its secret, indexes it, records it and creates its schedule', async () => {
    // Act
    const result = await run([
      'register',
      '--name',
      'invoice-exporter',
      '--scopes',
      'read:demo,write:demo',
      '--consumers',
      'exporter-api',
      '--schedule',
      'rate(7 days)',
      '--time-zone',
      'Europe/Berlin',
      '--json',
    ]);

    // Assess: the documented JSON, no secret in it.
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const output = JSON.parse(result.stdout) as Registered;
    expect(output).toMatchObject({
      created: true,
      name: 'invoice-exporter',
      scopes: ['read:demo', 'write:demo'],
      expectedConsumers: ['exporter-api'],
      secretId: `${PREFIX}/${output.clientId}`,
      secretLastFour: expect.stringMatching(/^.{4}$/),
      schedule: {
        expression: 'rate(7 days)',
        timeZone: 'Europe/Berlin',
        scheduleName: `rotate-${output.clientId}`,
      },
    });
    const value = await stored(output.secretId);
    expect(Object.keys(value).sort()).toEqual(['client_id', 'client_secret', 'project_id', 'token_url']);
    expect(value.client_secret?.endsWith(output.secretLastFour ?? '')).toBe(true);
    expect(result.stdout).not.toContain(value.client_secret);
    // The stored secret is the one Stytch issued: it mints a token.
    await expect(
      sandbox.stytchClient.token({ clientId: output.clientId, clientSecret: value.client_secret ?? '' }),
    ).resolves.toMatchObject({ accessToken: expect.anything() });
    const [atStytch] = await stytchClientsNamed('invoice-exporter');
    expect(atStytch?.scopes).toEqual(['read:demo', 'write:demo']);
    expect(await ledger.getRegistration(output.clientId)).toMatchObject({ name: 'invoice-exporter' });
    const scheduler = new SchedulerClient({
      endpoint: sandbox.awsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    });
    const schedule = await scheduler.send(
      new GetScheduleCommand({
        Name: `rotate-${output.clientId}`,
        GroupName: sandbox.registeredSchedulesGroup,
      }),
    );
    scheduler.destroy();
    expect(schedule).toMatchObject({
      ScheduleExpression: 'rate(7 days)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      Target: expect.objectContaining({ Arn: sandbox.executor.stateMachineArn }),
    });
    expect(JSON.parse(schedule.Target?.Input ?? '{}')).toEqual({
      clientId: output.clientId,
      trigger: 'schedule',
      requestedBy: 'eventbridge-scheduler',
    });
  });

  it('is idempotent by name: a second register reports the first and creates nothing', async () => {
    // Prepare
    const before = await secretNames();

    // Act
    const again = await run([
      'register',
      '--name',
      'invoice-exporter',
      '--scopes',
      'read:demo,write:demo',
      '--json',
    ]);

    // Assess
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, name: 'invoice-exporter' });
    // Other settings than the first time: said on stderr, nothing changed.
    expect(again.stderr).toMatch(/registered already .* nothing was changed/);
    expect(await stytchClientsNamed('invoice-exporter')).toHaveLength(1);
    expect(await secretNames()).toEqual(before);
  });

  it('puts the client under rotation: the workflow rotates a registered client like a configured one', async () => {
    // Prepare
    const registered = await run(['register', '--name', 'nightly-sync', '--scopes', 'read:demo', '--json']);
    const { clientId, secretId } = JSON.parse(registered.stdout) as Registered;
    const before = await stored(secretId);

    // Act
    const rotated = await run(['rotate', clientId, '--reason', 'first rotation', '--wait', '--json']);

    // Assess
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({
      outcome: 'completed',
      reason: 'no_consumers_expected',
    });
    const after = await stored(secretId);
    expect(after.client_secret).not.toBe(before.client_secret);
    await expect(
      sandbox.stytchClient.token({ clientId, clientSecret: before.client_secret ?? '' }),
    ).rejects.toThrow();
  });

  it('finds a registered client from a leaked value (its fingerprint was indexed at register)', async () => {
    // Prepare
    const registered = await run(['register', '--name', 'pager-bridge', '--scopes', 'read:demo', '--json']);
    const { clientId, secretId } = JSON.parse(registered.stdout) as Registered;
    const leaked = (await stored(secretId)).client_secret ?? '';

    // Act
    const io = bufferedIo(env, leaked);
    const code = await exec(['leak', 'report', '--secret-stdin'], io);
    await sandbox.settle();

    // Assess
    expect(code).toBe(0);
    let triggers: string[] = [];
    for (let attempt = 0; attempt < 100 && triggers.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      triggers = (await ledger.listRotations(clientId, 5)).map((rotation) => rotation.trigger);
    }
    expect(triggers).toEqual(['leak']);
  });

  it('adopts a client a stopped run left at Stytch: a new secret, the lost one revoked', async () => {
    // Prepare: created at Stytch as register creates it (our managed_by), then the run stopped
    // before storing anything.
    const orphan = await sandbox.stytchClient.m2m.create({
      clientName: 'half-done',
      scopes: ['read:demo'],
      trustedMetadata: { managed_by: 'stytch-m2m-rotator' },
    });

    // Act
    const result = await run(['register', '--name', 'half-done', '--scopes', 'read:demo', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/never recorded/);
    const output = JSON.parse(result.stdout) as Registered;
    expect(output).toMatchObject({ created: true, clientId: orphan.client.clientId });
    const value = await stored(output.secretId);
    await expect(
      sandbox.stytchClient.token({ clientId: output.clientId, clientSecret: value.client_secret ?? '' }),
    ).resolves.toMatchObject({ accessToken: expect.anything() });
    await expect(
      sandbox.stytchClient.token({ clientId: output.clientId, clientSecret: orphan.clientSecret }),
    ).rejects.toThrow();
  });

  it('creates the client with our managed_by metadata', async () => {
    // Act
    const result = await run(['register', '--name', 'metadata-check', '--scopes', 'read:demo', '--json']);

    // Assess
    expect(result.code).toBe(0);
    const [atStytch] = await stytchClientsNamed('metadata-check');
    expect(atStytch?.trustedMetadata).toMatchObject({ managed_by: 'stytch-m2m-rotator' });
  });

  it('refuses a client of that name it did not create (made by hand): exit 2, one line, nothing changed', async () => {
    // Prepare
    const handMade = await sandbox.stytchClient.m2m.create({
      clientName: 'hand-made',
      scopes: ['read:demo'],
    });
    const before = await secretNames();

    // Act
    const result = await run(['register', '--name', 'hand-made', '--scopes', 'read:demo', '--json']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^rotator: Stytch already has a client named "hand-made" \\(${handMade.client.clientId}\\) .*--adopt`,
      ),
    );
    expect(await secretNames()).toEqual(before);
    expect(await ledger.findRegistrationByName('hand-made')).toBeNull();
    // Its secret was not replaced: whoever made it still mints tokens with it.
    await expect(
      sandbox.stytchClient.token({
        clientId: handMade.client.clientId,
        clientSecret: handMade.clientSecret.reveal(),
      }),
    ).resolves.toMatchObject({ accessToken: expect.anything() });
  });

  it('--adopt takes over a client made by hand: a new secret, our metadata, registered', async () => {
    // Prepare
    const handMade = await sandbox.stytchClient.m2m.create({ clientName: 'adopt-me', scopes: ['read:demo'] });

    // Act
    const result = await run([
      'register',
      '--name',
      'adopt-me',
      '--scopes',
      'read:demo',
      '--adopt',
      '--json',
    ]);

    // Assess
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as Registered;
    expect(output).toMatchObject({ created: true, clientId: handMade.client.clientId });
    await expect(
      sandbox.stytchClient.token({
        clientId: handMade.client.clientId,
        clientSecret: handMade.clientSecret.reveal(),
      }),
    ).rejects.toThrow();
    const [atStytch] = await stytchClientsNamed('adopt-me');
    expect(atStytch?.trustedMetadata).toMatchObject({ managed_by: 'stytch-m2m-rotator' });
    expect(await ledger.getRegistration(handMade.client.clientId)).toMatchObject({ name: 'adopt-me' });
  });

  it('--help documents --adopt', async () => {
    // Act
    const result = await run(['register', '--help']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--adopt\s+take over a client of that name/);
  });

  it('with only the SDK settings and --stack, finds the Stytch base URL among the stack outputs', async () => {
    // Prepare: the first line of `npm start -- --keep`'s exports, and --stack, as it suggests.
    const sdkOnly = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('ROTATOR_')));

    // Act
    const io = bufferedIo(sdkOnly);
    const code = await exec(
      ['--stack', sandbox.stackName, 'register', '--name', 'via-stack', '--scopes', 'read:demo', '--json'],
      io,
    );

    // Assess
    expect(io.stderr.text).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(io.stdout.text)).toMatchObject({ created: true, name: 'via-stack' });
    expect(await stytchClientsNamed('via-stack')).toHaveLength(1);
  });

  it('an unreachable Stytch is named as Stytch, not AWS: exit 2, one line, nothing stored', async () => {
    // Prepare
    const before = await secretNames();
    const port = await closedLoopbackPort();

    // Act
    const result = await run(['register', '--name', 'no-stytch', '--scopes', 'read:demo'], {
      ROTATOR_STYTCH_BASE_URL: `http://127.0.0.1:${port}`,
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^rotator: cannot reach Stytch at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
    expect(result.stderr).not.toMatch(/AWS/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await secretNames()).toEqual(before);
  });

  it.each([
    ['no scopes', ['--name', 'x1', '--scopes', ' , '], /--scopes must name at least one scope/],
    ['a bad scope', ['--name', 'x2', '--scopes', 'read:demo,bad scope'], /scope "bad scope"/],
    ['a repeated scope', ['--name', 'x3', '--scopes', 'a,a'], /must not repeat a scope/],
    ['a bad name', ['--name', '-starts-with-dash', '--scopes', 'a'], /--name/],
    ['a bad schedule', ['--name', 'x4', '--scopes', 'a', '--schedule', 'rate(5 minute)'], /--schedule/],
    [
      'an unknown time zone',
      ['--name', 'x5', '--scopes', 'a', '--schedule', 'rate(7 days)', '--time-zone', 'Mars/Olympus'],
      /--time-zone/,
    ],
    [
      'a time zone without a schedule',
      ['--name', 'x6', '--scopes', 'a', '--time-zone', 'UTC'],
      /need --schedule/,
    ],
    [
      'a flexible window out of range',
      ['--name', 'x7', '--scopes', 'a', '--schedule', 'rate(7 days)', '--flexible-window', '0'],
      /--flexible-window/,
    ],
    ['a repeated consumer', ['--name', 'x8', '--scopes', 'a', '--consumers', 'api,api'], /repeat a consumer/],
    [
      'a bad consumer',
      ['--name', 'x9', '--scopes', 'a', '--consumers', 'bad consumer'],
      /consumer "bad consumer"/,
    ],
    ['kind connected_app', ['--name', 'x10', '--scopes', 'a', '--kind', 'connected_app'], /Stytch dashboard/],
    ['an unknown kind', ['--name', 'x11', '--scopes', 'a', '--kind', 'saml'], /must be m2m/],
    ['a missing --scopes', ['--name', 'x12'], /--scopes/],
  ])('refuses %s before creating anything (exit 2, one line)', async (_, args, message) => {
    // Prepare
    const before = await secretNames();

    // Act
    const result = await run(['register', ...args]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(await secretNames()).toEqual(before);
    const name = args[args.indexOf('--name') + 1] ?? '';
    expect(await stytchClientsNamed(name)).toEqual([]);
  });

  it('names every problem at once', async () => {
    // Act
    const result = await run([
      'register',
      '--name',
      'x13',
      '--scopes',
      ',',
      '--schedule',
      'every day',
      '--kind',
      'x',
    ]);

    // Assess
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    for (const problem of [
      /--scopes must name at least one scope/,
      /--schedule must be/,
      /--kind "x" must be m2m/,
    ]) {
      expect(lines[0]).toMatch(problem);
    }
  });

  it('refuses --schedule without its group, naming the variable, before creating anything', async () => {
    // Act
    const result = await run(['register', '--name', 'x14', '--scopes', 'a', '--schedule', 'rate(7 days)'], {
      ROTATOR_SCHEDULE_GROUP: '',
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ROTATOR_SCHEDULE_GROUP/);
    expect(await stytchClientsNamed('x14')).toEqual([]);
  });
});
