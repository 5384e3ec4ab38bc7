import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import { consumerSource } from '#core/events.js';
import { awsClientConfig, Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';
import { waitFor } from '../support/waitFor.js';

/** A managed secret's JSON, as `register` and the sandbox store it. */
interface StoredValue {
  readonly project_id: string;
  readonly client_id: string;
  readonly client_secret: string;
  readonly token_url: string;
}

/** What `repair --json` prints. */
interface RepairDocument {
  readonly clientId: string;
  readonly verdict: string;
  readonly finding: string;
  readonly actions: readonly { readonly kind: string; readonly versionId?: string }[];
  readonly applied: readonly { readonly kind: string; readonly versionId?: string }[];
  readonly lock: {
    readonly rotationId: string;
    readonly executionArn: string | null;
    readonly executionStatus: string;
    readonly running: boolean;
    readonly released: boolean;
  } | null;
}

describe('CLI: rotator repair against the sandbox (every state the reconciliation rule knows)', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;
  let clientId: string;
  /** Every secret value the tests handle: none may ever be printed. */
  const secretValues: string[] = [];

  const secretId = (): string => `stytch/m2m/${clientId}`;

  const run = async (argv: string[], overrides: Record<string, string | undefined> = env) => {
    const io = bufferedIo(overrides);
    const code = await exec(argv, io);
    const result = { code, stdout: io.stdout.text, stderr: io.stderr.text };
    for (const value of [...secretValues, ...sandbox.secrets.map((secret) => secret.reveal())]) {
      expect(result.stdout).not.toContain(value);
      expect(result.stderr).not.toContain(value);
    }
    return result;
  };
  const repairJson = async (...flags: string[]) => {
    const result = await run(['repair', clientId, '--json', ...flags]);
    return { ...result, document: JSON.parse(result.stdout) as RepairDocument };
  };

  /** The version labelled `stage`, or null. */
  const stored = async (stage: string): Promise<{ versionId: string; value: StoredValue } | null> => {
    try {
      const got = await sandbox.aws.secretsManager.send(
        new GetSecretValueCommand({ SecretId: secretId(), VersionStage: stage }),
      );
      return { versionId: got.VersionId ?? '', value: JSON.parse(got.SecretString ?? '{}') as StoredValue };
    } catch (error) {
      if (error instanceof Error && error.name === 'ResourceNotFoundException') return null;
      throw error;
    }
  };
  /**
   * Stores `clientSecret` (the rest as the current version has it) as a new version labelled
   * `stage`. AWSCURRENT is moved with UpdateSecretVersionStage, as the rotator moves it (moto's
   * PutSecretValue does not take AWSCURRENT off a version that label was moved to that way).
   */
  const putVersion = async (clientSecret: string, stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<string> => {
    const current = await stored('AWSCURRENT');
    if (current === null) throw new Error('no AWSCURRENT');
    secretValues.push(clientSecret);
    const versionId = randomUUID();
    await sandbox.aws.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: secretId(),
        ClientRequestToken: versionId,
        SecretString: JSON.stringify({ ...current.value, client_secret: clientSecret }),
        VersionStages: [stage === 'AWSCURRENT' ? 'REPAIRTEST' : stage],
      }),
    );
    if (stage === 'AWSCURRENT') {
      await sandbox.aws.secretsManager.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId(),
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: versionId,
          RemoveFromVersionId: current.versionId,
        }),
      );
      await sandbox.aws.secretsManager.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId(),
          VersionStage: 'REPAIRTEST',
          RemoveFromVersionId: versionId,
        }),
      );
    }
    return versionId;
  };
  const rotateStartAtStytch = async (): Promise<string> => {
    const started = await sandbox.stytchClient.m2m.rotateStart(clientId);
    const next = started.nextClientSecret.reveal();
    secretValues.push(next);
    return next;
  };

  /** Everything repair could change: Stytch's secrets, the labels, the lock, the last rotation. */
  const snapshot = async () => {
    const atStytch = await sandbox.stytchClient.m2m.get(clientId);
    const listed = await sandbox.aws.secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: secretId() }),
    );
    const labels = Object.fromEntries(
      (listed.Versions ?? [])
        .filter((version) => (version.VersionStages ?? []).length > 0)
        .map((version) => [version.VersionId ?? '', [...(version.VersionStages ?? [])].sort()]),
    );
    const [last] = await ledger.listRotations(clientId, 1);
    return {
      stytch: { current: atStytch.clientSecretLastFour, next: atStytch.nextClientSecretLastFour },
      labels,
      lock: await ledger.getLock(clientId),
      lastRotation: last === undefined ? null : { rotationId: last.rotationId, status: last.status },
    };
  };

  /** The client is consistent (a dry run says so, exit 0) and AWSCURRENT mints a token. */
  const expectWhole = async (): Promise<void> => {
    const check = await repairJson();
    expect(check.code).toBe(0);
    expect(check.document).toMatchObject({ verdict: 'consistent', actions: [], lock: null });
    const current = await stored('AWSCURRENT');
    const token = await sandbox.stytchClient.token({
      clientId,
      clientSecret: current?.value.client_secret ?? '',
    });
    expect(token.accessToken.reveal().length).toBeGreaterThan(0);
    expect(await stored('AWSPENDING')).toBeNull();
  };

  /** A dry run (human and --json) that must change nothing; returns the JSON document. */
  const dryRun = async (): Promise<{ code: number; stdout: string; document: RepairDocument }> => {
    const before = await snapshot();
    const human = await run(['repair', clientId]);
    const json = await repairJson();
    expect(await snapshot()).toEqual(before);
    expect(human.code).toBe(json.code);
    return { code: json.code, stdout: human.stdout, document: json.document };
  };

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    env = { ...sandbox.cliEnv(), USER: 'tester' };
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
    clientId = sandbox.clientIdMap.get('m2m-client-test-reporting') ?? 'm2m-client-test-reporting';
  });
  afterAll(() => sandbox?.stop());

  it('(1) a consistent client: exit 0, nothing to do, --apply does nothing', async () => {
    // Act
    const dry = await dryRun();
    const applied = await run(['repair', clientId, '--apply']);

    // Assess
    expect(dry.code).toBe(0);
    expect(dry.document).toMatchObject({
      clientId,
      verdict: 'consistent',
      actions: [],
      applied: [],
      lock: null,
    });
    expect(dry.stdout).toMatch(new RegExp(`^${clientId}: consistent\n`));
    expect(dry.stdout).toMatch(/^ {2}lock: free$/m);
    expect(dry.stdout).toMatch(/^Nothing to do\.$/m);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^Nothing to do\.$/m);
    await expectWhole();
  });

  it('(2) Stytch next = AWSCURRENT: the dry run proposes completing at Stytch; --apply completes', async () => {
    // Prepare: readers already use the next secret, Stytch never completed.
    const next = await rotateStartAtStytch();
    await putVersion(next, 'AWSCURRENT');

    // Act
    const dry = await dryRun();
    const applied = await run(['repair', clientId, '--apply']);

    // Assess
    expect(dry.code).toBe(1);
    expect(dry.document).toMatchObject({ verdict: 'repairable', actions: [{ kind: 'complete_at_stytch' }] });
    expect(dry.document.finding).toMatch(/AWSCURRENT is Stytch's next secret/);
    expect(dry.stdout).toMatch(/^Would \(dry run: nothing was changed; --apply makes these moves\):$/m);
    expect(dry.stdout).toMatch(/^ {2}1\. complete the rotation at Stytch/m);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^ {2}1\. completed the rotation at Stytch/m);
    expect(applied.stdout).toMatch(/is consistent now\.$/m);
    expect((await sandbox.stytchClient.m2m.get(clientId)).clientSecretLastFour).toBe(next.slice(-4));
    await expectWhole();
  });

  it('(3) Stytch has a next secret nobody holds: the dry run proposes cancelling; --apply cancels', async () => {
    // Prepare
    const lost = await rotateStartAtStytch();

    // Act
    const dry = await dryRun();
    const applied = await repairJson('--apply');

    // Assess
    expect(dry.code).toBe(1);
    expect(dry.document).toMatchObject({ verdict: 'repairable', actions: [{ kind: 'cancel_at_stytch' }] });
    expect(dry.document.finding).toContain(`next …${lost.slice(-4)}`);
    expect(applied.code).toBe(0);
    expect(applied.document.applied).toEqual([{ kind: 'cancel_at_stytch' }]);
    expect((await sandbox.stytchClient.m2m.get(clientId)).nextClientSecretLastFour).toBeNull();
    await expect(sandbox.stytchClient.token({ clientId, clientSecret: lost })).rejects.toThrow();
    await expectWhole();
  });

  it('(4) a stale AWSPENDING Stytch does not have pending: the dry run proposes dropping it; --apply drops it', async () => {
    // Prepare
    const stale = await putVersion(`stale-${randomUUID()}-Zq9x`, 'AWSPENDING');

    // Act
    const dry = await dryRun();
    const applied = await repairJson('--apply');

    // Assess
    expect(dry.code).toBe(1);
    expect(dry.document).toMatchObject({
      verdict: 'repairable',
      actions: [{ kind: 'drop_pending', versionId: stale }],
    });
    expect(dry.stdout).toContain(`1. remove AWSPENDING from version ${stale}`);
    expect(applied.code).toBe(0);
    expect(applied.document.applied).toEqual([{ kind: 'drop_pending', versionId: stale }]);
    await expectWhole();
  });

  it('(5) AWSPENDING matching Stytch next with no running rotation: drop, then cancel at Stytch', async () => {
    // Prepare: a rotation nobody will finish (no lock: its execution is long gone).
    const next = await rotateStartAtStytch();
    const pending = await putVersion(next, 'AWSPENDING');

    // Act
    const dry = await dryRun();
    const applied = await repairJson('--apply');

    // Assess
    expect(dry.code).toBe(1);
    expect(dry.document).toMatchObject({
      verdict: 'repairable',
      actions: [{ kind: 'drop_pending', versionId: pending }, { kind: 'cancel_at_stytch' }],
    });
    expect(applied.code).toBe(0);
    expect(applied.document.applied).toEqual(dry.document.actions);
    await expect(sandbox.stytchClient.token({ clientId, clientSecret: next })).rejects.toThrow();
    await expectWhole();
  });

  it('(6) Stytch completed to AWSPENDING: the dry run proposes promoting it; --apply makes it AWSCURRENT', async () => {
    // Prepare
    const next = await rotateStartAtStytch();
    const pending = await putVersion(next, 'AWSPENDING');
    await sandbox.stytchClient.m2m.rotateComplete(clientId);

    // Act
    const dry = await dryRun();
    const applied = await repairJson('--apply');

    // Assess
    expect(dry.code).toBe(1);
    expect(dry.document).toMatchObject({
      verdict: 'repairable',
      actions: [{ kind: 'promote_pending', versionId: pending }],
    });
    expect(applied.code).toBe(0);
    expect(applied.document.applied).toEqual([{ kind: 'promote_pending', versionId: pending }]);
    expect((await stored('AWSCURRENT'))?.versionId).toBe(pending);
    await expectWhole();
  });

  it('(7) AWSCURRENT is not Stytch secret: needs_operator, exit 1, and --apply changes nothing', async () => {
    // Prepare
    const original = await stored('AWSCURRENT');
    await putVersion(`not-at-stytch-${randomUUID()}-Bx7k`, 'AWSCURRENT');

    // Act
    const dry = await dryRun();
    const before = await snapshot();
    const applied = await run(['repair', clientId, '--apply']);
    const after = await snapshot();
    await putVersion(original?.value.client_secret ?? '', 'AWSCURRENT');

    // Assess
    expect(dry.code).toBe(1);
    expect(dry.document).toMatchObject({ verdict: 'needs_operator', actions: [] });
    expect(dry.document.finding).toMatch(/AWSCURRENT is not Stytch's secret/);
    expect(dry.stdout).toMatch(/^An operator is needed: nothing is done automatically/m);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toBe(
      `rotator: ${clientId} needs an operator; nothing was changed (see rotator repair --help)\n`,
    );
    expect(after).toEqual(before);
    await expectWhole();
  });

  it('(8) a lock held by a running execution: refused, dry run and --apply, nothing touched', async () => {
    // Prepare: a manual rotation waiting for its consumers (its pending secret is its own).
    const started = await run(['rotate', clientId, '--no-wait', '--json', '--reason', 'repair test']);
    expect(started.code).toBe(0);
    const { executionArn, rotationId } = JSON.parse(started.stdout) as {
      executionArn: string;
      rotationId: string;
    };
    await waitFor(async () => {
      const record = await ledger.getRotation(clientId, rotationId);
      return record?.taskToken === undefined ? undefined : record;
    });
    const before = await snapshot();

    // Act
    const dry = await repairJson();
    const human = await run(['repair', clientId]);
    const applied = await run(['repair', clientId, '--apply']);

    // Assess
    expect(await snapshot()).toEqual(before);
    const refusal = `rotator: rotation ${rotationId} is running (execution ${executionArn}, RUNNING); cancel it or wait\n`;
    for (const result of [dry, human, applied]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(refusal);
    }
    // The running rotation's AWSPENDING is not proposed for dropping, nor its Stytch next for cancelling.
    expect(dry.document).toMatchObject({
      verdict: 'consistent',
      actions: [],
      applied: [],
      lock: { rotationId, executionArn, executionStatus: 'RUNNING', running: true, released: false },
    });
    expect(dry.document.finding).toMatch(/a running rotation owns it/);
    expect(applied.stdout).not.toMatch(/Done:/);
    const described = await sandbox.aws.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('RUNNING');
  });

  it('(9) a lock held by a stopped execution: --apply closes its rotation, releases the lock, and a rotation works again', async () => {
    // Prepare: the rotation of (8), stopped from outside (the console's Stop button) while Stytch
    // is down, so the execution reconciler (on the stop's status-change event) cannot repair it.
    const lock = await ledger.getLock(clientId);
    if (lock === null) throw new Error('the rotation of (8) holds no lock');
    const executionArn = lock.executionId ?? '';
    const emulator = sandbox.emulator;
    if (emulator === undefined) throw new Error('the sandbox runs no Stytch emulator');
    const failuresBefore = sandbox.gatewayFailures.length;
    emulator.faults.setRouteFault('m2m.clients.get', { errorRate: 1, status: 500 });
    await sandbox.aws.sfn.send(new StopExecutionCommand({ executionArn, cause: 'repair test' }));
    await waitFor(async () =>
      sandbox.gatewayFailures
        .slice(failuresBefore)
        .find((failure) => failure.detailType === 'Step Functions Execution Status Change'),
    );
    emulator.faults.setRouteFault('m2m.clients.get', null);
    expect((await sandbox.aws.sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe(
      'ABORTED',
    );

    const routedFailures = () =>
      [...sandbox.gatewayDeliveries, ...sandbox.gatewayFailures].filter(
        (routed) => routed.detailType === 'Rotation Failed',
      ).length;
    const failuresAnnounced = routedFailures();

    // Act
    const dry = await dryRun();
    const applied = await run(['repair', clientId, '--apply']);

    // Assess: the dry run proposed the moves and the lock's release, and changed nothing.
    expect(dry.code).toBe(1);
    expect(dry.document).toMatchObject({
      verdict: 'repairable',
      actions: [{ kind: 'drop_pending', versionId: lock.rotationId }, { kind: 'cancel_at_stytch' }],
      lock: { rotationId: lock.rotationId, executionStatus: 'ABORTED', running: false, released: false },
    });
    expect(dry.stdout).toContain(
      `3. close rotation ${lock.rotationId} (its execution is ABORTED) and release its lock`,
    );
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^ {2}1\. removed AWSPENDING from version /m);
    expect(applied.stdout).toMatch(/^ {2}2\. cancelled the rotation at Stytch/m);
    expect(applied.stdout).toContain(`3. closed rotation ${lock.rotationId} and released its lock`);
    expect(await ledger.getLock(clientId)).toBeNull();
    expect(await ledger.getRotation(clientId, lock.rotationId)).toMatchObject({
      status: 'failed',
      outcomeReason: 'execution_ended',
      error: { name: 'ExecutionEnded' },
    });
    // `Rotation Failed` went to the bus (the template's lifecycle rule routes it).
    await waitFor(async () => (routedFailures() > failuresAnnounced ? true : undefined));
    await expectWhole();

    // Act: the client rotates again (its consumers report on the new pending secret).
    const io = bufferedIo(env);
    const rotation = exec(['rotate', clientId, '--reason', 'after repair', '--wait', '--json'], io);
    const next = await waitFor(async () => {
      const held = await ledger.getLock(clientId);
      const record = held === null ? null : await ledger.getRotation(clientId, held.rotationId);
      return record?.pendingVersionId === undefined ? undefined : record;
    });
    // Each consumer reports for itself: its own access key, its own source (issue 13).
    for (const consumer of ['reporting-job', 'audit-export']) {
      const events = new EventBridgeClient(
        awsClientConfig(sandbox.awsEndpoint, await sandbox.consumerCredentials(consumer)),
      );
      try {
        const sent = await events.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: sandbox.eventBusName,
                Source: consumerSource(consumer),
                DetailType: 'Consumer Health Reported',
                Detail: JSON.stringify({
                  clientId,
                  rotationId: next.rotationId,
                  pendingVersionId: next.pendingVersionId,
                  consumer,
                  healthy: true,
                }),
              },
            ],
          }),
        );
        expect(sent.FailedEntryCount).toBe(0);
      } finally {
        events.destroy();
      }
    }

    // Assess
    expect(await rotation).toBe(0);
    expect(JSON.parse(io.stdout.text)).toMatchObject({ clientId, outcome: 'completed' });
    await expectWhole();
  });

  it('a missing resource is exit 2 with one line, and nothing is read or changed', async () => {
    // Prepare: Stytch has a next secret nobody holds, so an --apply that ran would cancel it.
    await rotateStartAtStytch();
    const before = await snapshot();
    const withoutCredentials = { ...env, ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: undefined };
    const withoutBus = { ...env, ROTATOR_EVENT_BUS_NAME: undefined };

    // Act
    const dry = await run(['repair', clientId], withoutCredentials);
    const applied = await run(['repair', clientId, '--apply'], withoutBus);

    // Assess
    for (const result of [dry, applied]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(dry.stderr).toMatch(/ROTATOR_STYTCH_CREDENTIALS_SECRET_ID or pass --stytch-credentials-secret/);
    expect(applied.stderr).toMatch(/ROTATOR_EVENT_BUS_NAME or pass --event-bus/);
    expect(await snapshot()).toEqual(before);
    expect((await run(['repair', clientId, '--apply'])).code).toBe(0);
    await expectWhole();
  });

  it('the kind: a Connected App is found as one by its id; taken for an M2M client it is exit 2, one line', async () => {
    // Prepare: never rotated, so the ledger says nothing of its kind.
    const app = sandbox.clientIdMap.get('connected-app-test-partner-portal') ?? '';

    // Act
    const found = await run(['repair', app, '--json']);
    const wrongKind = await run(['repair', app, '--kind', 'm2m']);
    const badKind = await run(['repair', app, '--kind', 'saml']);

    // Assess
    expect(found.code).toBe(0);
    expect(JSON.parse(found.stdout)).toMatchObject({ clientId: app, verdict: 'consistent' });
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stdout).toBe('');
    expect(wrongKind.stderr).toMatch(
      new RegExp(
        `^rotator: Stytch has no M2M client ${app} \\(.+\\): check the client id, or pass --kind connected_app\n$`,
      ),
    );
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toBe('rotator: --kind "saml" must be m2m or connected_app\n');
  });

  it('a client the deployment does not manage is exit 2, one line', async () => {
    const result = await run(['repair', 'm2m-client-test-nobody']);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^rotator: m2m-client-test-nobody is not managed by this deployment .*\n$/);
  });
});
