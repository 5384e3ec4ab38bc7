import { GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import { fingerprintOf } from '#core/fingerprint.js';
import type { RotationRecord } from '#core/ports.js';
import { Secret } from '#core/secret.js';
import { deliverGitHubWebhook } from '#sandbox/github-emulator/index.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';

const PREFIX = 'stytch/m2m';

/**
 * Leak intake end to end, in the sandbox: `rotator leak report` publishes Secret Leak Detected,
 * the template's LeakRule delivers it to the LeakIntake handler, and the intake starts a leak
 * rotation or preempts the rotation in progress. No consumer runs here, so a rotation that waits
 * for consumers waits until a leak decides it (or its deadline passes).
 */
describe('Leak report and preemption against the sandbox', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;
  /** Every rotation record seen by any poll, to prove there were never two at once. */
  const overlaps: string[] = [];
  const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;

  const run = async (argv: string[], stdin?: string, overrides: Record<string, string> = {}) => {
    const io = bufferedIo({ ...env, ...overrides }, stdin);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  const rotations = async (clientId: string): Promise<readonly RotationRecord[]> => {
    const found = await ledger.listRotations(clientId, 50);
    const active = found.filter((record) => record.status === 'started' || record.status === 'pending');
    if (active.length > 1) overlaps.push(`${clientId}: ${active.map((r) => r.rotationId).join(', ')}`);
    return found;
  };

  const until = async <T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 60_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await sandbox.settle();
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const fingerprintKey = async (): Promise<Secret> => {
    const { SecretString } = await sandbox.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: sandbox.fingerprintKeySecretId }),
    );
    return new Secret(SecretString ?? '');
  };

  const secretAt = async (clientId: string, stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<string> => {
    const { SecretString } = await sandbox.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: `${PREFIX}/${clientId}`, VersionStage: stage }),
    );
    return (JSON.parse(SecretString ?? '{}') as { client_secret: string }).client_secret;
  };

  /** Starts a manual rotation and waits until it waits for its consumers (task token stored). */
  const waitingRotation = async (clientId: string): Promise<RotationRecord> => {
    const started = await run(['rotate', clientId, '--reason', 'scheduled-like', '--no-wait']);
    expect(started.code).toBe(0);
    return until(`${clientId} to wait for consumers`, async () =>
      (await rotations(clientId)).find(
        (record) => record.status === 'pending' && record.taskToken !== undefined,
      ),
    );
  };

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    env = { ...sandbox.cliEnv(), USER: 'responder' };
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
  });
  afterAll(() => sandbox?.stop());

  it('leak report --client-id starts a leak rotation that revokes the leaked secret', async () => {
    // Prepare
    const clientId = id('connected-app-test-partner-portal');
    const leaked = await secretAt(clientId, 'AWSCURRENT');

    // Act
    const result = await run([
      'leak',
      'report',
      '--client-id',
      clientId,
      '--reference',
      'ticket 7',
      '--json',
    ]);

    // Assess
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({
      eventId: expect.any(String),
      clientId,
      source: 'rotator-cli',
      requestedBy: expect.stringMatching(/^cli:/),
    });
    const done = await until('the leak rotation to complete', async () =>
      (await rotations(clientId)).find(
        (record) => record.trigger === 'leak' && record.status === 'completed',
      ),
    );
    expect(done).toMatchObject({
      requestedBy: expect.stringMatching(/^cli:/),
      outcomeReason: 'no_consumers_expected',
    });
    expect(await secretAt(clientId, 'AWSCURRENT')).not.toBe(leaked);
  });

  it('leak report --secret-stdin sends only the fingerprint and finds the client by it', async () => {
    // Prepare
    const clientId = id('m2m-client-test-search-indexer');
    const leaked = await secretAt(clientId, 'AWSCURRENT');

    // Act
    const result = await run(['leak', 'report', '--secret-stdin', '--json'], `${leaked}\n`);

    // Assess: the leak rotation of the right client runs; the value is nowhere but where it was.
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { fingerprint: string; clientId?: string };
    expect(output.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(output.clientId).toBeUndefined();
    const leakRotation = await until('a leak rotation of the client', async () =>
      (await rotations(clientId)).find((record) => record.trigger === 'leak'),
    );
    expect(leakRotation.clientId).toBe(clientId);
    const captured = `${result.stdout}${result.stderr}${JSON.stringify(await sandbox.captured())}`;
    expect(captured).not.toContain(leaked);
    const published = sandbox.events.filter((event) => event.detailType === 'Secret Leak Detected');
    expect(JSON.stringify(published)).not.toContain(leaked);
  });

  it('a leak of the current secret completes the rotation in progress at once', async () => {
    // Prepare
    const clientId = id('m2m-client-test-billing-worker');
    const waiting = await waitingRotation(clientId);
    const leaked = await secretAt(clientId, 'AWSCURRENT');

    // Act
    const result = await run(['leak', 'report', '--secret-stdin'], leaked);

    // Assess: the same rotation completes (no waiting for its deadline); no second rotation starts.
    expect(result.code).toBe(0);
    const ended = await until('the preempted rotation to complete', async () =>
      (await rotations(clientId)).find(
        (r) => r.rotationId === waiting.rotationId && r.status === 'completed',
      ),
    );
    expect(ended.outcomeReason).toBe('leak_escalated');
    expect(ended.escalatedComplete).toEqual(expect.any(String));
    expect(await rotations(clientId)).toHaveLength(1);
    expect(await secretAt(clientId, 'AWSCURRENT')).not.toBe(leaked);
    expect(
      await sandbox.stytchClient.token({ clientId, clientSecret: new Secret(leaked) }).then(
        () => 'accepted',
        () => 'rejected',
      ),
    ).toBe('rejected');
  });

  it('a leak of the pending secret cancels that rotation, then a leak rotation starts', async () => {
    // Prepare
    const clientId = id('m2m-client-test-payments');
    const waiting = await waitingRotation(clientId);
    const leakedPending = await secretAt(clientId, 'AWSPENDING');

    // Act
    const result = await run(['leak', 'report', '--secret-stdin'], leakedPending);

    // Assess: cancelled as leak_of_pending, followed by a leak rotation; the leaked value is dead.
    expect(result.code).toBe(0);
    const cancelled = await until('the preempted rotation to be cancelled', async () =>
      (await rotations(clientId)).find(
        (r) => r.rotationId === waiting.rotationId && r.status === 'cancelled',
      ),
    );
    expect(cancelled.outcomeReason).toBe('leak_of_pending');
    const leakRotation = await until('the follow-up leak rotation', async () =>
      (await rotations(clientId)).find((r) => r.trigger === 'leak'),
    );
    expect(Date.parse(leakRotation.steps.started ?? '')).toBeGreaterThanOrEqual(
      Date.parse(cancelled.steps.cancelled ?? ''),
    );
    const { Versions } = await sandbox.aws.secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: `${PREFIX}/${clientId}` }),
    );
    expect(Versions?.some((version) => version.VersionId === waiting.rotationId)).toBe(true);
    expect(
      await sandbox.stytchClient.token({ clientId, clientSecret: new Secret(leakedPending) }).then(
        () => 'accepted',
        () => 'rejected',
      ),
    ).toBe('rejected');
  });

  it('a GitHub secret-scanning alert of a managed secret starts a leak rotation through the webhook', async () => {
    // Prepare: GitHub found the client's current secret in a repository.
    const clientId = id('m2m-client-test-reporting');
    const leaked = await secretAt(clientId, 'AWSCURRENT');
    const alert = sandbox.github.addAlert({ repository: 'acme/app', secret: leaked });

    // Act
    const delivered = await deliverGitHubWebhook({
      url: sandbox.githubWebhook.url,
      webhookSecret: sandbox.githubWebhook.secret,
      event: 'secret_scanning_alert',
      payload: alert.payload,
    });

    // Assess
    expect(delivered.status).toBe(200);
    expect(delivered.body).toMatchObject({ result: 'leak_reported', clientId, stage: 'current' });
    const leakRotation = await until('the leak rotation from the alert', async () =>
      (await rotations(clientId)).find((record) => record.trigger === 'leak'),
    );
    expect(leakRotation).toMatchObject({ requestedBy: 'github-secret-scanning' });
    expect(leakRotation.reason).toContain(alert.htmlUrl);
    expect(JSON.stringify(await sandbox.captured())).not.toContain(leaked);
  });

  it('emergency during a rotation preempts it (completes it now) and follows it, instead of being rejected', async () => {
    // Prepare
    const clientId = id('m2m-client-test-billing-worker');
    const waiting = await waitingRotation(clientId);
    const before = (await rotations(clientId)).length;

    // Act
    const result = await run(['emergency', clientId, '--reason', 'key in a gist', '--wait', '--json']);

    // Assess: exit 0, the followed execution is the preempted one, completed as leak_escalated.
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      executionArn: waiting.executionId,
      rotationId: waiting.rotationId,
      outcome: 'completed',
    });
    const ended = await until('the preempted rotation', async () =>
      (await rotations(clientId)).find(
        (r) => r.rotationId === waiting.rotationId && r.status === 'completed',
      ),
    );
    expect(ended.outcomeReason).toBe('leak_escalated');
    expect(await rotations(clientId)).toHaveLength(before);
  });

  it('a GitHub alert of a secret enrolled by hand (not yet indexed) still starts a leak rotation', async () => {
    // Prepare: drop the client's index entry, as if its secret had been put in Secrets Manager by hand.
    const clientId = id('connected-app-test-partner-portal');
    const leaked = await secretAt(clientId, 'AWSCURRENT');
    const fingerprint = fingerprintOf(await fingerprintKey(), leaked);
    await DynamoDBDocumentClient.from(sandbox.aws.dynamo).send(
      new DeleteCommand({
        TableName: sandbox.tableName,
        Key: { pk: `FINGERPRINT#${fingerprint}`, sk: 'FINGERPRINT' },
      }),
    );
    const before = (await rotations(clientId)).length;
    const alert = sandbox.github.addAlert({ repository: 'acme/infra', secret: leaked });

    // Act
    const delivered = await deliverGitHubWebhook({
      url: sandbox.githubWebhook.url,
      webhookSecret: sandbox.githubWebhook.secret,
      event: 'secret_scanning_alert',
      payload: alert.payload,
    });

    // Assess: the webhook forwards the fingerprint; the intake finds the client among the live secrets.
    expect(delivered.body).toEqual({ result: 'no_match', forwarded: true });
    const leakRotation = await until('the leak rotation of the unindexed client', async () =>
      (await rotations(clientId)).length > before
        ? (await rotations(clientId)).find((record) => record.requestedBy === 'github-secret-scanning')
        : undefined,
    );
    expect(leakRotation.trigger).toBe('leak');
  });

  it('a value that is no managed secret starts nothing', async () => {
    // Prepare
    const before = sandbox.executor.listExecutions().length;

    // Act
    const result = await run(['leak', 'report', '--secret-stdin'], 'not-a-secret-of-ours');
    await sandbox.settle();

    // Assess
    expect(result.code).toBe(0);
    expect(sandbox.executor.listExecutions()).toHaveLength(before);
  });

  it.each([
    ['neither --client-id nor --secret-stdin', ['leak', 'report'], undefined, /exactly one of/],
    [
      'both --client-id and --secret-stdin',
      ['leak', 'report', '--client-id', 'm2m-client-test-x', '--secret-stdin'],
      'value',
      /exactly one of/,
    ],
    ['an empty stdin', ['leak', 'report', '--secret-stdin'], '\n', /read nothing/],
    ['several lines on stdin', ['leak', 'report', '--secret-stdin'], 'one\ntwo\n', /one value/],
    ['a bad client id', ['leak', 'report', '--client-id', 'bad id!'], undefined, /must be letters/],
    [
      'an empty --reference',
      ['leak', 'report', '--client-id', 'm2m-x', '--reference', '  '],
      undefined,
      /1 to 2048/,
    ],
  ])('refuses %s with exit 2 and sends nothing', async (_, argv, stdin, message) => {
    // Prepare: what earlier tests sent is delivered first (an execution's end is announced after it ends)
    await sandbox.settle();
    const before = sandbox.gatewayDeliveries.length;

    // Act
    const result = await run(argv, stdin);
    await sandbox.settle();

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(sandbox.gatewayDeliveries).toHaveLength(before);
  });

  it('refuses --secret-stdin without the fingerprint key, naming the variable, reading nothing', async () => {
    // Act
    const result = await run(['leak', 'report', '--secret-stdin'], 'value', {
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: '',
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ROTATOR_FINGERPRINT_KEY_SECRET_ID/);
  });

  it('never had two rotations of one client at once', () => {
    expect(overlaps).toEqual([]);
  });
});
