import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import { consumerSource, EVENT_SOURCES } from '#core/events.js';
import type { RotationRecord } from '#core/ports.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';
import { waitFor } from '../support/waitFor.js';

const BILLING = 'm2m-client-test-billing-worker';
const REGION = 'us-east-1';

/** Whether anything a terminal would act on, but a line break, was printed raw. */
const hasRawControls = (printed: string): boolean =>
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(printed.replaceAll('\n', ''));

/**
 * Who the CLI speaks as (issue 13), end to end in the sandbox, whose gateway checks every PutEvents
 * against the template's grants: `leak report` and `consumer check --report` publish with the
 * operator's and the consumer's own source, which shows in what the leak intake and the health
 * aggregator made of them (a report by client id is accepted only from the operator; a health
 * report counts only from its consumer). A report a consumer sends for another is refused, kept
 * on the rotation, and `history` shows it.
 */
describe('CLI: the sources the CLI publishes with, and refused reports in history (sandbox)', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;
  const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;

  const run = async (argv: string[], overrides: Record<string, string> = {}) => {
    const io = bufferedIo({ ...env, ...overrides });
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  /** `consumer check` reads the standard SDK settings from the process: run it as `consumer`. */
  const checkAs = async (consumer: string, argv: string[]) => {
    const key = await sandbox.consumerCredentials(consumer);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: sandbox.awsEndpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      ROTATOR_EVENT_BUS_NAME: sandbox.eventBusName,
    });
    try {
      const io = bufferedIo({});
      const code = await exec(['consumer', 'check', ...argv], io);
      return { code, stdout: io.stdout.text, stderr: io.stderr.text };
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  };

  /** Starts a manual rotation and waits until it waits for its consumers. */
  const waitingRotation = async (clientId: string): Promise<RotationRecord> => {
    const started = await run(['rotate', clientId, '--reason', 'sources test', '--no-wait']);
    expect(started.code).toBe(0);
    return waitFor(async () => {
      await sandbox.settle();
      return (await ledger.listRotations(clientId, 10)).find(
        (record) => record.status === 'pending' && record.taskToken !== undefined,
      );
    }, 30_000);
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

  it('leak report --client-id speaks as the operator: the intake accepts it, the person in requestedBy', async () => {
    // Prepare
    const clientId = id('connected-app-test-partner-portal');

    // Act
    const reported = await run([
      'leak',
      'report',
      '--client-id',
      clientId,
      '--reference',
      'INC-13',
      '--json',
    ]);

    // Assess: only the operator's (or the rotator's) source may name a client; the intake did.
    expect(reported).toMatchObject({ code: 0, stderr: '' });
    const printed = JSON.parse(reported.stdout) as Record<string, string>;
    expect(printed).toMatchObject({
      clientId,
      source: 'rotator-cli',
      requestedBy: expect.stringMatching(/^cli:/),
    });
    const report = await waitFor(async () => {
      await sandbox.settle();
      return (await ledger.listLeakReports(clientId, 10)).find((found) => found.eventId === printed.eventId);
    }, 30_000);
    expect(report).toMatchObject({ source: 'rotator-cli', reference: 'INC-13', matchedBy: 'client_id' });
    const rotation = await waitFor(async () => {
      await sandbox.settle();
      return (await ledger.listRotations(clientId, 10)).find((found) => found.trigger === 'leak');
    }, 30_000);
    expect(rotation).toMatchObject({
      requestedBy: printed.requestedBy,
      reason: 'leak reported by rotator-cli: INC-13',
    });
  });

  it('a leak report by client id with a consumer’s credentials is refused, and nothing starts', async () => {
    // Prepare
    const clientId = id('m2m-client-test-search-indexer');
    const key = await sandbox.consumerCredentials('billing-api');
    const before = await ledger.listRotations(clientId, 10);

    // Act
    const reported = await run(['leak', 'report', '--client-id', clientId], {
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    });

    // Assess
    expect(reported.stderr).toMatch(/AccessDenied/);
    expect(reported.code).toBe(2);
    await sandbox.settle();
    expect(await ledger.listRotations(clientId, 10)).toEqual(before);
    expect(await ledger.listLeakReports(clientId, 10)).toEqual([]);
  });

  it('consumer check --report speaks as its consumer; a report one consumer sends for another is refused and shown by history', async () => {
    // Prepare: a rotation waiting for billing-api and invoice-worker.
    const rotation = await waitingRotation(BILLING);
    const version = rotation.pendingVersionId ?? rotation.rotationId;
    // invoice-worker, with its own credentials and source, says billing-api is healthy.
    const invoiceKey = await sandbox.consumerCredentials('invoice-worker');
    const asInvoiceWorker = new EventBridgeClient({
      endpoint: sandbox.awsEndpoint,
      region: REGION,
      credentials: invoiceKey,
    });
    const forged = await asInvoiceWorker.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: sandbox.eventBusName,
            Source: consumerSource('invoice-worker'),
            DetailType: 'Consumer Health Reported',
            Detail: JSON.stringify({
              clientId: BILLING,
              rotationId: rotation.rotationId,
              pendingVersionId: version,
              consumer: 'billing-api',
              healthy: true,
            }),
          },
        ],
      }),
    );
    asInvoiceWorker.destroy();
    expect(forged.FailedEntryCount ?? 0).toBe(0);
    const refused = await waitFor(async () => {
      await sandbox.settle();
      return (await ledger.getRotation(BILLING, rotation.rotationId))?.refusedReports?.[0];
    }, 30_000);

    // Act: each consumer reports for itself with its own credentials.
    const billing = await checkAs('billing-api', [
      '--secret-id',
      `stytch/m2m/${BILLING}`,
      '--consumer',
      'billing-api',
      '--report',
      '--json',
    ]);
    const invoice = await checkAs('invoice-worker', [
      '--secret-id',
      `stytch/m2m/${BILLING}`,
      '--consumer',
      'invoice-worker',
      '--report',
      '--json',
    ]);
    const ended = await waitFor(async () => {
      await sandbox.settle();
      const record = await ledger.getRotation(BILLING, rotation.rotationId);
      return record?.status === 'completed' ? record : undefined;
    }, 30_000);
    const human = await run(['history', BILLING, '--limit', '1']);
    const json = await run(['history', BILLING, '--limit', '1', '--json']);

    // Assess: the reports went out with each consumer's own source, and both counted.
    for (const [result, consumer] of [
      [billing, 'billing-api'],
      [invoice, 'invoice-worker'],
    ] as const) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toMatchObject({
        report: { sent: true, source: consumerSource(consumer) },
      });
    }
    expect(Object.keys(ended.reports).sort()).toEqual(['billing-api', 'invoice-worker']);
    expect(ended.outcomeReason).toBe('all_consumers_healthy');
    // The forged one did not count, and is on record.
    expect(refused).toMatchObject({
      claimed: 'billing-api',
      source: consumerSource('invoice-worker'),
      healthy: true,
    });
    expect(ended.refusedReportCount).toBe(1);
    // history: text and --json.
    for (const result of [human, json]) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(hasRawControls(result.stdout)).toBe(false);
    }
    expect(human.stdout).toContain(
      '  refused reports (1, not counted: the sender was not the consumer named)\n' +
        `    ${refused?.at}  claiming billing-api healthy  from source ${consumerSource('invoice-worker')}\n`,
    );
    const { rotations } = JSON.parse(json.stdout) as { rotations: Record<string, unknown>[] };
    expect(rotations[0]).toMatchObject({
      rotationId: rotation.rotationId,
      refusedReports: [refused],
      refusedReportCount: 1,
    });
  });

  it('rotate --wait shows a refused report live, as it is refused', async () => {
    // Prepare: a rotation of payments followed live; fraud-scorer never reports, so it waits.
    const clientId = id('m2m-client-test-payments');
    const io = bufferedIo(env);
    const following = exec(['rotate', clientId, '--reason', 'live refusal', '--wait'], io);
    const lock = await waitFor(async () => {
      const held = await ledger.getLock(clientId);
      const record = held === null ? null : await ledger.getRotation(clientId, held.rotationId);
      return record?.taskToken === undefined ? undefined : (held ?? undefined);
    }, 30_000);
    const asIndexer = new EventBridgeClient({
      endpoint: sandbox.awsEndpoint,
      region: REGION,
      credentials: await sandbox.consumerCredentials('indexer'),
    });

    // Act: indexer, as itself, says payments-api is unhealthy (which would cancel the rotation).
    await asIndexer.send(
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
              consumer: 'payments-api',
              healthy: false,
            }),
          },
        ],
      }),
    );
    asIndexer.destroy();
    await waitFor(async () => (io.stdout.text.includes('REFUSED') ? true : undefined), 30_000);
    io.controller.abort();
    await following;
    const cancelled = await run(['cancel', clientId, '--reason', 'test cleanup']);

    // Assess: shown, not counted (the rotation was still waiting, so an operator had to cancel it).
    expect(io.stdout.text).toMatch(
      /^\s+\d+\.\d\ds {2}REFUSED an unhealthy report claiming consumer payments-api from source stytch-m2m-rotator\.consumer\.indexer \(not counted\)$/m,
    );
    expect(cancelled.code).toBe(0);
    expect((await ledger.getRotation(clientId, lock.rotationId))?.reports).toEqual({});
  });

  it('consumer check --report with another consumer’s credentials is refused by the bus and says why', async () => {
    // Prepare
    const rotation = await waitingRotation(BILLING);

    // Act
    const result = await checkAs('invoice-worker', [
      '--secret-id',
      `stytch/m2m/${BILLING}`,
      '--consumer',
      'billing-api',
      '--report',
    ]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('AccessDeniedException');
    expect(result.stderr).toContain('rotator-consumer=billing-api');
    await sandbox.settle();
    const record = await ledger.getRotation(BILLING, rotation.rotationId);
    expect(record?.reports).toEqual({});
    expect(record?.status).toBe('pending');
    expect(EVENT_SOURCES.consumerPrefix).toBe('stytch-m2m-rotator.consumer.');
  });
});
