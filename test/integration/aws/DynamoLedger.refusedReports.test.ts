import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger, ledgerTableDefinition } from '#adapters/aws/index.js';
import type { StepDeps } from '#core/deps.js';
import { consumerSource } from '#core/events.js';
import { MAX_REFUSED_REPORTS, type RefusedReport, type RotationRecord } from '#core/ports.js';
import { recordHealthReport } from '#core/steps/recordHealthReport.js';
import { fakeDeps } from '../../support/fakes.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

const TABLE = 'rotator-ledger-refused';
const T0 = '2030-01-01T00:00:00.000Z';

function pendingRecord(clientId: string, overrides: Partial<RotationRecord> = {}): RotationRecord {
  const rotationId = randomUUID();
  return {
    clientId,
    rotationId,
    clientKind: 'm2m',
    trigger: 'schedule',
    executionId: `arn:aws:states:us-east-1:123456789012:execution:rotator:${rotationId}`,
    status: 'pending',
    steps: { started: T0 },
    pendingVersionId: rotationId,
    expectedConsumers: ['billing-api', 'search-api'],
    reports: {},
    taskToken: 'token-1',
    ...overrides,
  };
}

function refused(n: number, overrides: Partial<RefusedReport> = {}): RefusedReport {
  return {
    claimed: 'billing-api',
    source: `forger-${n}`,
    healthy: n % 2 === 0,
    at: new Date(Date.parse(T0) + n * 1000).toISOString(),
    ...overrides,
  };
}

describe('Class: DynamoLedger refused health reports (moto)', () => {
  let moto: MotoServer;
  let doc: DynamoDBDocumentClient;
  let ledger: DynamoLedger;

  beforeAll(async () => {
    moto = await startMoto();
    const raw = moto.clients.dynamoDb();
    await raw.send(new CreateTableCommand(ledgerTableDefinition(TABLE)));
    raw.destroy();
    doc = moto.clients.dynamoDbDocument();
    ledger = new DynamoLedger({ client: doc, tableName: TABLE });
  });

  afterAll(async () => {
    doc?.destroy();
    await moto?.stop();
  });

  it('appends a refused report and counts it, leaving the reports map as it was', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const record = await ledger.createRotation(pendingRecord(clientId));
    const withReport = await ledger.recordReport(clientId, record.rotationId, 'search-api', {
      healthy: true,
      reportedAt: T0,
    });

    // Act
    const kept = await ledger.recordRefusedReport(clientId, record.rotationId, refused(1));

    // Assess
    expect(kept).toBe(true);
    const stored = await ledger.getRotation(clientId, record.rotationId);
    expect(stored?.refusedReports).toEqual([refused(1)]);
    expect(stored?.refusedReportCount).toBe(1);
    expect(stored?.reports).toEqual(withReport?.reports);
    expect(stored?.status).toBe('pending');
  });

  it(`keeps the latest ${MAX_REFUSED_REPORTS}, oldest first, and counts every one`, async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const record = await ledger.createRotation(pendingRecord(clientId));

    // Act
    for (let n = 0; n < MAX_REFUSED_REPORTS + 3; n += 1) {
      await ledger.recordRefusedReport(clientId, record.rotationId, refused(n));
    }

    // Assess
    const stored = await ledger.getRotation(clientId, record.rotationId);
    expect(stored?.refusedReportCount).toBe(MAX_REFUSED_REPORTS + 3);
    expect(stored?.refusedReports).toEqual(
      Array.from({ length: MAX_REFUSED_REPORTS }, (_, index) => refused(index + 3)),
    );
  });

  it('lands every one of concurrent refusals (the count guards the list)', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const record = await ledger.createRotation(pendingRecord(clientId));

    // Act
    const results = await Promise.all(
      [0, 1, 2, 3].map((n) => ledger.recordRefusedReport(clientId, record.rotationId, refused(n))),
    );

    // Assess
    expect(results).toEqual([true, true, true, true]);
    const stored = await ledger.getRotation(clientId, record.rotationId);
    expect(stored?.refusedReportCount).toBe(4);
    expect(new Set(stored?.refusedReports?.map((entry) => entry.source))).toEqual(
      new Set(['forger-0', 'forger-1', 'forger-2', 'forger-3']),
    );
  });

  it('records on an ended rotation too (the responder reads it afterwards)', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const record = await ledger.createRotation(pendingRecord(clientId, { status: 'completed' }));

    // Act
    const kept = await ledger.recordRefusedReport(clientId, record.rotationId, refused(1));

    // Assess
    expect(kept).toBe(true);
    expect((await ledger.getRotation(clientId, record.rotationId))?.status).toBe('completed');
  });

  it('answers false, and writes no stub item, for a rotation that does not exist', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const rotationId = randomUUID();

    // Act
    const kept = await ledger.recordRefusedReport(clientId, rotationId, refused(1));

    // Assess
    expect(kept).toBe(false);
    const { Item } = await doc.send(
      new GetCommand({ TableName: TABLE, Key: { pk: clientId, sk: `ROTATION#${rotationId}` } }),
    );
    expect(Item).toBeUndefined();
  });

  it('through the aggregator: a report for billing-api from search-api is kept as refused and never counts', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const fakes = fakeDeps({
      [clientId]: { kind: 'm2m', policy: { expectedConsumers: ['billing-api', 'search-api'] } },
    });
    fakes.clock.current = new Date(T0);
    const deps: StepDeps = { ...fakes.deps, ledger };
    const record = await ledger.createRotation(pendingRecord(clientId));
    const detail = (consumer: string) => ({
      clientId,
      rotationId: record.rotationId,
      pendingVersionId: record.rotationId,
      consumer,
      healthy: true,
    });
    await recordHealthReport(deps, detail('search-api'), { source: consumerSource('search-api') });

    // Act
    const result = await recordHealthReport(deps, detail('billing-api'), {
      source: consumerSource('search-api'),
    });

    // Assess
    expect(result).toEqual({ accepted: false, rejection: 'source_mismatch' });
    const stored = await ledger.getRotation(clientId, record.rotationId);
    expect(Object.keys(stored?.reports ?? {})).toEqual(['search-api']);
    expect(stored?.refusedReports).toEqual([
      { claimed: 'billing-api', source: consumerSource('search-api'), healthy: true, at: T0 },
    ]);
    expect(stored).not.toHaveProperty('decidedAt');
    expect(fakes.callbacks.calls).toEqual([]);
  });
});
