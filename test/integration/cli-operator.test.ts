import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import { consumerSource } from '#core/events.js';
import type { RotationRecord } from '#core/ports.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';
import { waitFor } from '../support/waitFor.js';

/**
 * Whether `printed` holds a character that rewrites a terminal or forges a line when printed raw:
 * a control (C0 but the line feed the CLI ends its own lines with, DEL, C1), a format character
 * (bidi overrides and isolates, LRM/RLM, zero-width), or a Unicode line or paragraph separator.
 */
const hasRawControls = (printed: string): boolean =>
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(printed.replaceAll('\n', ''));

/** Outsider text as the ledger can hold it (a leak source, a report detail, an error message). */
const HOSTILE = {
  reason: 'quarterly\u001b[2J\u001b[1;1H\rrotator: all secrets revoked\u0007',
  requestedBy: 'github:acme/\u202eevil\u2066x\u2069',
  error: 'boom\nrotator: rotation completed\u0000\u009b31m',
  detail: 'ok\u001b]8;;http://evil.example\u0007link\u001b]8;;\u0007\u2028next line',
};

describe('CLI: operator commands (rotate, emergency, status, cancel, history) against the sandbox', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;
  const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;

  const run = async (argv: string[], overrides: Record<string, string | undefined> = env) => {
    const io = bufferedIo(overrides);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  /** Runs `send` with an EventBridge client signed with consumer `name`'s own access key. */
  const asConsumer = async <T>(name: string, send: (events: EventBridgeClient) => Promise<T>): Promise<T> => {
    const events = new EventBridgeClient({
      endpoint: sandbox.awsEndpoint,
      region: 'us-east-1',
      credentials: await sandbox.consumerCredentials(name),
    });
    try {
      return await send(events);
    } finally {
      events.destroy();
    }
  };

  const secretValues = async (): Promise<string[]> => {
    const values = sandbox.secrets.map((secret) => secret.reveal());
    for (const client of sandbox.config.clients) {
      const { SecretString } = await sandbox.aws.secretsManager.send(
        new GetSecretValueCommand({ SecretId: `stytch/m2m/${client.clientId}`, VersionStage: 'AWSCURRENT' }),
      );
      values.push((JSON.parse(SecretString ?? '{}') as { client_secret: string }).client_secret);
    }
    return values;
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
  });
  afterAll(() => sandbox?.stop());

  it('rotate --wait --json on the Connected App (no consumers) completes and exits 0', async () => {
    // Act
    const result = await run([
      'rotate',
      id('connected-app-test-partner-portal'),
      '--reason',
      'test',
      '--wait',
      '--json',
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as Record<string, unknown> & {
      steps: { name: string; ms: number }[];
    };
    expect(output).toMatchObject({
      clientId: id('connected-app-test-partner-portal'),
      trigger: 'manual',
      outcome: 'completed',
      executionArn: expect.stringMatching(/^arn:aws:states:/),
    });
    const names = output.steps.map((step) => step.name);
    expect(names).not.toContain('AwaitConsumers');
    expect(names).toEqual(
      // No consumer expected: StartRotation decides the wait, and no task token is kept.
      expect.arrayContaining([
        'StartRotation',
        'Complete: decided at start',
        'CompleteRotation',
        'Completed',
      ]),
    );
    for (const step of output.steps) expect(step.ms).toBeGreaterThanOrEqual(0);
  });

  it('rotate --wait (human) prints each state entered and the outcome', async () => {
    const result = await run(['rotate', id('connected-app-test-partner-portal'), '--wait']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s+\d+\.\d\ds {2}StartRotation$/m);
    expect(result.stdout).toMatch(/^Rotation completed \(no_consumers_expected\) after \d+\.\d\ds$/m);
  });

  it('emergency --wait follows the rotation and shows the consumer report as it arrives', async () => {
    // Prepare
    const clientId = id('m2m-client-test-search-indexer');
    const io = bufferedIo(env);
    const exitCode = exec(['emergency', clientId, '--reason', 'leaked in a log', '--wait'], io);
    // Report once the pending secret is stored (a report for a version not yet stored is rejected).
    const lock = await waitFor(async () => {
      const held = await ledger.getLock(clientId);
      const record = held === null ? null : await ledger.getRotation(clientId, held.rotationId);
      return record?.pendingVersionId === undefined ? undefined : (held ?? undefined);
    });

    // Act: the consumer reports for itself, with its own credentials and source.
    await asConsumer('indexer', (events) =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: sandbox.eventBusName,
              Source: consumerSource('indexer'),
              DetailType: 'Consumer Health Reported',
              Detail: JSON.stringify({
                clientId,
                rotationId: lock.rotationId,
                pendingVersionId: lock.rotationId,
                consumer: 'indexer',
                healthy: true,
              }),
            },
          ],
        }),
      ),
    );

    // Assess
    expect(await exitCode).toBe(0);
    expect(io.stdout.text).toMatch(/^Rotating \S+ \(leak\): arn:aws:states:/);
    expect(io.stdout.text).toMatch(/^\s+\d+\.\d\ds {2}consumer indexer healthy$/m);
    expect(io.stdout.text).toMatch(/^Rotation completed \(all_consumers_healthy\) after /m);
  });

  it('emergency without --reason is a usage error: exit 2, one line', async () => {
    const result = await run(['emergency', id('m2m-client-test-search-indexer')]);

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--reason/);
    expect(result.stdout).toBe('');
  });

  it.each([
    ['rotate --no-wait', ['rotate', 'm2m-client-test-nobody', '--no-wait']],
    ['rotate --wait', ['rotate', 'm2m-client-test-nobody', '--wait', '--json']],
    ['emergency --no-wait', ['emergency', 'm2m-client-test-nobody', '--reason', 'leaked', '--no-wait']],
    ['emergency --wait', ['emergency', 'm2m-client-test-nobody', '--reason', 'leaked', '--wait']],
  ])(
    '%s of a client the deployment does not manage is refused before anything starts: exit 2, one line',
    async (_, argv) => {
      // Prepare
      const listExecutions = async () =>
        (
          await sandbox.aws.sfn.send(
            new ListExecutionsCommand({ stateMachineArn: sandbox.executor.stateMachineArn }),
          )
        ).executions?.map((execution) => execution.executionArn) ?? [];
      const before = await listExecutions();

      // Act
      const result = await run(argv);

      // Assess
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^rotator: m2m-client-test-nobody is not managed by this deployment \(no secret stytch\/m2m\/m2m-client-test-nobody\).*\n$/,
      );
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(await listExecutions()).toEqual(before);
    },
  );

  it('a secret under the prefix passes the check (it never refuses what the workflow may take): the workflow refuses it, exit 1', async () => {
    // Prepare: a secret put there by hand, for a client neither the config nor the registry names.
    const stray = 'm2m-client-test-stray';
    await sandbox.aws.secretsManager.send(
      new CreateSecretCommand({ Name: `stytch/m2m/${stray}`, SecretString: '{"enrolled":false}' }),
    );

    // Act
    const result = await run(['rotate', stray, '--wait', '--json']);
    await sandbox.aws.secretsManager.send(
      new DeleteSecretCommand({ SecretId: `stytch/m2m/${stray}`, ForceDeleteWithoutRecovery: true }),
    );

    // Assess
    expect(result.code).toBe(1);
    const output = JSON.parse(result.stdout) as { executionArn: string; outcome: string };
    expect(output.outcome).not.toBe('completed');
    expect(sandbox.executor.describeExecution(output.executionArn).input).toContain(stray);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('leak report --client-id and history of a client the deployment does not manage say so: exit 2', async () => {
    // Act
    const leak = await run(['leak', 'report', '--client-id', 'm2m-client-test-nobody']);
    const history = await run(['history', 'm2m-client-test-nobody']);

    // Assess
    for (const result of [leak, history]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^rotator: m2m-client-test-nobody is not managed by this deployment .*\n$/,
      );
    }
  });

  it('leak report --client-id, history and cancel refuse a client the deployment does not manage even without ROTATOR_SECRET_PREFIX: exit 2, one line, nothing sent', async () => {
    // Prepare: every resource but the prefix, which is what tells a managed client from a typo.
    const { ROTATOR_SECRET_PREFIX: _prefix, ...noPrefix } = env;
    // What the tests before sent is on the bus first (an execution's end is announced after it ends).
    await sandbox.settle();
    const eventsBefore = sandbox.events.length;
    const deliveriesBefore = sandbox.gatewayDeliveries.length;

    // Act
    const leak = await run(['leak', 'report', '--client-id', 'm2m-client-test-nobody'], noPrefix);
    const history = await run(['history', 'm2m-client-test-nobody'], noPrefix);
    const cancel = await run(['cancel', 'm2m-client-test-nobody'], env);

    // Assess
    for (const result of [leak, history, cancel]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(leak.stderr).toMatch(/set ROTATOR_SECRET_PREFIX or pass --secret-prefix/);
    expect(history.stderr).toMatch(
      /^rotator: m2m-client-test-nobody has no rotations and no leak reports in the ledger; .*ROTATOR_SECRET_PREFIX/,
    );
    expect(cancel.stderr).toMatch(/^rotator: m2m-client-test-nobody is not managed by this deployment /);
    await sandbox.settle();
    expect(sandbox.events.length).toBe(eventsBefore);
    expect(sandbox.gatewayDeliveries.length).toBe(deliveriesBefore);
  });

  it('status shows the current secret’s true age: the version’s creation time, not the time of the request', async () => {
    // Prepare: when Secrets Manager created the AWSCURRENT version (GetSecretValue's CreatedDate).
    const clientId = id('m2m-client-test-reporting');
    const current = await sandbox.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: `stytch/m2m/${clientId}`, VersionStage: 'AWSCURRENT' }),
    );

    // Act
    const result = await run(['status', clientId, '--json']);

    // Assess
    expect(result.code).toBe(0);
    const [status] = (
      JSON.parse(result.stdout) as { clients: { current: { createdAt: string; ageSeconds: number } }[] }
    ).clients;
    expect(status?.current.createdAt).toBe(current.CreatedDate?.toISOString());
    // The sandbox created it seconds ago (moto alone answers the request time: 0 s).
    expect(status?.current.ageSeconds).toBeGreaterThan(0);
  });

  it('a malformed client id is a usage error (exit 2)', async () => {
    const result = await run(['rotate', '../etc', '--no-wait']);

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('status --json shows every managed client with last four only', async () => {
    // Act
    const result = await run(['status', '--json']);
    const one = await run(['status', id('m2m-client-test-billing-worker')]);

    // Assess
    expect(result.code).toBe(0);
    const { clients } = JSON.parse(result.stdout) as {
      clients: { clientId: string; state: string; current: { secret: string; ageSeconds: number | null } }[];
    };
    expect(clients.map((c) => c.clientId).sort()).toEqual(
      sandbox.config.clients.map((c) => c.clientId).sort(),
    );
    for (const client of clients) {
      expect(client.state).toBe('idle');
      expect(client.current.secret).toMatch(/^….{1,4}$/);
      expect(client.current.ageSeconds).toBeGreaterThanOrEqual(0);
    }
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^CLIENT\s+STATE\s+CURRENT\s+AGE \/ POLICY\s+NEXT ROTATION/);
    // The schedules: rate → due by the current secret's creation + the period; cron → next occurrence.
    const scheduled = JSON.parse(result.stdout) as {
      clients: {
        clientId: string;
        current: { createdAt: string };
        schedule: {
          expression: string;
          timeZone: string;
          nextRotation: string | null;
          maxAgeSeconds: number | null;
        } | null;
        overdue: boolean;
      }[];
    };
    const byId = new Map(scheduled.clients.map((c) => [c.clientId, c]));
    const billing = byId.get(id('m2m-client-test-billing-worker'));
    expect(billing?.schedule).toMatchObject({
      expression: 'rate(30 days)',
      timeZone: 'UTC',
      maxAgeSeconds: 30 * 86_400,
    });
    expect(Date.parse(billing?.schedule?.nextRotation ?? '')).toBe(
      Date.parse(billing?.current.createdAt ?? '') + 30 * 86_400_000,
    );
    expect(billing?.overdue).toBe(false);
    const reporting = byId.get(id('m2m-client-test-reporting'));
    expect(reporting?.schedule).toMatchObject({
      expression: 'cron(0 3 ? * MON *)',
      timeZone: 'Europe/Berlin',
      maxAgeSeconds: 7 * 86_400,
    });
    const nextReporting = new Date(reporting?.schedule?.nextRotation ?? '');
    expect(nextReporting.getTime()).toBeGreaterThan(Date.now());
    expect(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(nextReporting),
    ).toBe('Mon 03:00');
    const text = result.stdout + result.stderr + one.stdout + one.stderr;
    for (const value of await secretValues()) expect(text).not.toContain(value);
  });

  it('--stack finds every resource from the stack outputs (the sandbox has them as a stack in moto)', async () => {
    // Prepare: only the SDK settings; every ROTATOR_* variable comes from the stack.
    const sdkOnly = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('ROTATOR_')));

    // Act
    const viaFlag = await run(['status', '--stack', sandbox.stackName, '--json'], sdkOnly);
    const viaEnv = await run(['history', id('m2m-client-test-payments'), '--json'], {
      ...sdkOnly,
      ROTATOR_STACK_NAME: sandbox.stackName,
    });
    const missing = await run(['status', '--stack', 'NoSuchStack'], sdkOnly);
    const without = await run(['status'], sdkOnly);

    // Assess
    expect(viaFlag.stderr).toBe('');
    expect(viaFlag.code).toBe(0);
    expect((JSON.parse(viaFlag.stdout) as { clients: unknown[] }).clients).toHaveLength(
      sandbox.config.clients.length,
    );
    expect(viaEnv.code).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ clientId: id('m2m-client-test-payments') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^rotator: the stack NoSuchStack does not exist/);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/ROTATOR_TABLE_NAME/);
  });

  it('cancel of a rotation waiting for consumers removes AWSPENDING and keeps the old secret current', async () => {
    // Prepare
    const clientId = id('m2m-client-test-billing-worker');
    const secretId = `stytch/m2m/${clientId}`;
    const before = await sandbox.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    );
    const started = await run(['rotate', clientId, '--no-wait', '--json', '--reason', 'cancel test']);
    expect(started.code).toBe(0);
    const { executionArn, rotationId } = JSON.parse(started.stdout) as {
      executionArn: string;
      rotationId: string;
    };
    const waiting = await waitFor(async () => {
      const record = await ledger.getRotation(clientId, rotationId);
      return record?.taskToken === undefined ? undefined : record;
    });
    const rotating = await run(['status', clientId, '--json']);

    // Act
    const result = await run(['cancel', clientId, '--reason', 'frozen', '--json']);

    // Assess
    expect(JSON.parse(rotating.stdout)).toMatchObject({
      clients: [
        { state: 'rotating', step: 'awaiting consumers', rotationId, pending: { versionId: rotationId } },
      ],
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      executionArn,
      outcome: 'cancelled',
      reason: 'operator',
    });
    expect(result.stdout).not.toContain((waiting as RotationRecord).taskToken);
    const execution = await sandbox.aws.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution.status).toBe('SUCCEEDED');
    const described = await sandbox.aws.secretsManager.send(
      new DescribeSecretCommand({ SecretId: secretId }),
    );
    const stages = Object.values(described.VersionIdsToStages ?? {}).flat();
    expect(stages).not.toContain('AWSPENDING');
    expect(described.VersionIdsToStages?.[before.VersionId ?? '']).toContain('AWSCURRENT');
    const after = await sandbox.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    );
    expect(after.SecretString).toBe(before.SecretString);
    const record = await ledger.getRotation(clientId, rotationId);
    expect(record).toMatchObject({ status: 'cancelled', outcomeReason: 'operator' });
  });

  it('cancel with nothing in progress exits 1 with one line', async () => {
    const result = await run(['cancel', id('m2m-client-test-search-indexer')]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^rotator: no rotation in progress for \S+\n$/);
  });

  it('cancel of a rotation its start already decided (no consumer expected, no task token) says it is finishing, exit 1', async () => {
    // Prepare: the lock and the record of a rotation between StartRotation and CompleteRotation
    const clientId = id('m2m-client-test-search-indexer');
    const rotationId = randomUUID();
    const at = new Date().toISOString();
    await ledger.acquireLock(
      { clientId, rotationId, expiresAt: new Date(Date.now() + 600_000).toISOString() },
      new Date(),
    );
    await ledger.createRotation({
      clientId,
      rotationId,
      clientKind: 'm2m',
      trigger: 'manual',
      executionId: `arn:aws:states:us-east-1:123456789012:execution:StytchM2MRotator:${rotationId}`,
      status: 'pending',
      steps: { started: at, stored: at, pending: at },
      expectedConsumers: [],
      reports: {},
      decidedAt: at,
      decision: { kind: 'succeed', reason: 'no_consumers_expected' },
      decidedBy: 'waiter',
    });

    try {
      // Act
      const result = await run(['cancel', clientId]);

      // Assess
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `rotator: the wait of rotation ${rotationId} is already decided; it is finishing\n`,
      );
    } finally {
      await ledger.updateRotation(clientId, rotationId, { status: 'completed' });
      await ledger.releaseLock(clientId, rotationId);
    }
  });

  it('history shows the rotations newest first, without task tokens', async () => {
    // Act
    const json = await run(['history', id('m2m-client-test-billing-worker'), '--json']);
    const human = await run(['history', id('connected-app-test-partner-portal')]);

    // Assess
    expect(json.code).toBe(0);
    const { rotations } = JSON.parse(json.stdout) as { rotations: Record<string, unknown>[] };
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({
      trigger: 'manual',
      requestedBy: expect.stringMatching(/^cli:/),
      reason: 'cancel test',
      status: 'cancelled',
      outcomeReason: 'operator',
      expectedConsumers: ['billing-api', 'invoice-worker'],
      error: { name: 'OperatorCancelled' },
    });
    expect(json.stdout).not.toMatch(/taskToken/);
    expect(human.code).toBe(0);
    expect(human.stdout.match(/^\S+ {2}manual {2}completed \(no_consumers_expected\)/gm)).toHaveLength(2);
    const text = json.stdout + human.stdout;
    for (const value of await secretValues()) expect(text).not.toContain(value);
  });

  it('a missing resource is a setup error: exit 2, one line naming the variable', async () => {
    const { ROTATOR_TABLE_NAME: _table, ...rest } = env;

    const result = await run(['history', id('m2m-client-test-billing-worker')], rest);
    const rotate = await run(['rotate', 'x', '--no-wait'], { ...env, ROTATOR_STATE_MACHINE_ARN: undefined });

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^rotator: .*set ROTATOR_TABLE_NAME or pass --table\n$/);
    expect(rotate.code).toBe(2);
    expect(rotate.stderr).toMatch(/ROTATOR_STATE_MACHINE_ARN/);
  });

  it('history and status print outsider text from the ledger escaped, on the line it belongs to', async () => {
    // Prepare: a finished rotation whose free text carries terminal controls and forged lines.
    const clientId = id('m2m-client-test-reporting');
    const started = new Date(Date.now() - 60_000).toISOString();
    await ledger.createRotation({
      clientId,
      rotationId: 'hostile-1',
      clientKind: 'm2m',
      trigger: 'leak',
      reason: HOSTILE.reason,
      requestedBy: HOSTILE.requestedBy,
      executionId: `${sandbox.executor.stateMachineArn.replace(':stateMachine:', ':execution:')}:hostile-1`,
      status: 'failed',
      steps: { started, failed: new Date().toISOString() },
      expectedConsumers: ['reporting-job'],
      reports: { 'reporting-job': { healthy: false, detail: HOSTILE.detail, reportedAt: started } },
      outcomeReason: `stytch_error${HOSTILE.reason}`,
      error: { name: 'StytchApiError\u001b[31m', message: HOSTILE.error },
    });

    // Act
    const human = await run(['history', clientId, '--limit', '1']);
    const json = await run(['history', clientId, '--limit', '1', '--json']);
    const status = await run(['status', clientId]);

    // Assess: nothing raw reaches the terminal; each field stays on its own line, visibly escaped.
    for (const result of [human, json, status]) {
      expect(result.code).toBe(0);
      expect(hasRawControls(result.stdout + result.stderr)).toBe(false);
      expect(result.stdout).not.toMatch(/^rotator:/m);
    }
    expect(human.stdout.split('\n').filter(Boolean)).toHaveLength(6);
    expect(human.stdout).toContain('\\x1b[2J');
    expect(human.stdout).toContain('\\u202e');
    expect(human.stdout).toMatch(
      /^ {2}error StytchApiError\\x1b\[31m: boom\\nrotator: rotation completed\\x00\\x9b31m$/m,
    );
    expect(human.stdout).toMatch(/reporting-job UNHEALTHY \(ok\\x1b\]8;;http:\/\/evil\.example\\x07link/);
    // JSON keeps the exact text (a program reads it), with every control as a JSON escape.
    const { rotations } = JSON.parse(json.stdout) as { rotations: Record<string, unknown>[] };
    expect(rotations[0]).toMatchObject({
      reason: HOSTILE.reason,
      requestedBy: HOSTILE.requestedBy,
      error: { message: HOSTILE.error },
      reports: { 'reporting-job': { detail: HOSTILE.detail } },
    });
    expect(json.stdout).toContain('\\u202e');
    expect(json.stdout).toContain('\\u009b');
    expect(status.stdout).toMatch(/leak failed/);
  });

  it('rotate --wait prints a consumer report detail escaped, on the report line', async () => {
    // Prepare
    const clientId = id('m2m-client-test-payments');
    const io = bufferedIo(env);
    const exitCode = exec(['rotate', clientId, '--reason', 'hostile report', '--wait'], io);
    const lock = await waitFor(async () => {
      const held = await ledger.getLock(clientId);
      const record = held === null ? null : await ledger.getRotation(clientId, held.rotationId);
      return record?.taskToken === undefined ? undefined : (held ?? undefined);
    });

    // Act: the consumer chooses its report's detail, which is outsider text to the CLI.
    await asConsumer('payments-api', (events) =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: sandbox.eventBusName,
              Source: consumerSource('payments-api'),
              DetailType: 'Consumer Health Reported',
              Detail: JSON.stringify({
                clientId,
                rotationId: lock.rotationId,
                pendingVersionId: lock.rotationId,
                consumer: 'payments-api',
                healthy: false,
                detail: HOSTILE.detail,
              }),
            },
          ],
        }),
      ),
    );

    // Assess
    expect(await exitCode).toBe(1);
    expect(hasRawControls(io.stdout.text + io.stderr.text)).toBe(false);
    expect(io.stdout.text).toMatch(
      /^\s+\d+\.\d\ds {2}consumer payments-api UNHEALTHY: ok\\x1b\]8;;http:\/\/evil\.example\\x07link\\x1b\]8;;\\x07\\u2028next line$/m,
    );
    expect(io.stdout.text).toMatch(/^Rotation cancelled/m);
  });

  it('history of a client with rotations needs no prefix (it keeps its history after it leaves the deployment)', async () => {
    // Prepare
    const { ROTATOR_SECRET_PREFIX: _prefix, ...noPrefix } = env;
    const clientId = id('connected-app-test-partner-portal');
    expect((await run(['rotate', clientId, '--wait', '--json'])).code).toBe(0);

    // Act
    const result = await run(['history', clientId, '--json'], noPrefix);

    // Assess
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { rotations: unknown[] }).rotations.length).toBeGreaterThan(0);
  });

  it('rotate --wait and history give one rotation the same duration (the ledger’s, one function)', async () => {
    // Act
    const clientId = id('connected-app-test-partner-portal');
    const live = await run(['rotate', clientId, '--reason', 'duration', '--wait', '--json']);
    const human = await run(['rotate', clientId, '--reason', 'duration', '--wait']);
    const history = await run(['history', clientId, '--limit', '2', '--json']);
    const historyText = await run(['history', clientId, '--limit', '2']);

    // Assess
    expect(live.code).toBe(0);
    expect(human.code).toBe(0);
    const followed = JSON.parse(live.stdout) as { rotationId: string; durationMs: number };
    const { rotations } = JSON.parse(history.stdout) as {
      rotations: { rotationId: string; durationMs?: number }[];
    };
    const recorded = rotations.find((rotation) => rotation.rotationId === followed.rotationId);
    expect(recorded?.durationMs).toBe(followed.durationMs);
    // And as text: "after 0.42s" live, "in 0.42s" in history, for the same rotation.
    const liveSeconds = /^Rotation completed .* after (\d+\.\d\ds)$/m.exec(human.stdout)?.[1];
    expect(liveSeconds).toBeDefined();
    expect(historyText.stdout).toMatch(
      new RegExp(`completed \\(no_consumers_expected\\) in ${liveSeconds}  rotation`),
    );
  });

  it('--help of each command documents the exit codes', async () => {
    for (const command of ['rotate', 'emergency', 'status', 'history', 'cancel']) {
      const result = await run([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Exit codes: 0 ok; 1 .*; 2 usage/s);
    }
  });
});
