import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger, ledgerTableDefinition, RotationNotFoundError } from '#adapters/aws/index.js';
import { decideWait } from '#core/decision.js';
import type { StepDeps } from '#core/deps.js';
import { consumerSource } from '#core/events.js';
import type { LeakReportRecord, RotationRecord } from '#core/ports.js';
import { recordHealthReport } from '#core/steps/recordHealthReport.js';
import { fakeDeps } from '../../support/fakes.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

const TABLE = 'rotator-ledger';
const T0 = new Date('2030-01-01T00:00:00.000Z');
// The ledger never sees a secret; the leak check proves nothing carried one in by accident.
const NEXT_SECRET = 'LEAK-ledger-next-secret-93ab';

function at(minutes: number): string {
  return new Date(T0.getTime() + minutes * 60_000).toISOString();
}

function record(clientId: string, overrides: Partial<RotationRecord> = {}): RotationRecord {
  return {
    clientId,
    rotationId: randomUUID(),
    clientKind: 'm2m',
    trigger: 'schedule',
    executionId: `arn:aws:states:us-east-1:123456789012:execution:rotator:${randomUUID()}`,
    status: 'started',
    steps: { started: at(0) },
    expectedConsumers: ['billing-api', 'search-api'],
    reports: {},
    ...overrides,
  };
}

/** The answer a claimed decision owes the task, as the aggregator stores it. */
const SUCCEED = { kind: 'succeed', reason: 'all_consumers_healthy' } as const;

describe('Class: DynamoLedger (moto)', () => {
  let moto: MotoServer;
  let doc: DynamoDBDocumentClient;
  let ledger: DynamoLedger;
  const observed: unknown[] = [];

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

  function newClientId(): string {
    return `m2m-client-test-${randomUUID()}`;
  }

  describe('lock', () => {
    it('is acquired when free, and again by the same rotation (a retried step)', async () => {
      // Prepare
      const clientId = newClientId();
      const rotationId = randomUUID();

      // Act
      const first = await ledger.acquireLock({ clientId, rotationId, expiresAt: at(30) }, T0);
      const again = await ledger.acquireLock({ clientId, rotationId, expiresAt: at(45) }, new Date(at(5)));

      // Assess
      expect(first).toEqual({ acquired: true });
      expect(again).toEqual({ acquired: true });
      expect(await ledger.getLock(clientId)).toEqual({ clientId, rotationId, expiresAt: at(45) });
    });

    it('is refused to another rotation while unexpired, naming the holder', async () => {
      // Prepare
      const clientId = newClientId();
      const holder = randomUUID();
      await ledger.acquireLock({ clientId, rotationId: holder, expiresAt: at(30) }, T0);

      // Act
      const result = await ledger.acquireLock(
        { clientId, rotationId: randomUUID(), expiresAt: at(40) },
        new Date(at(10)),
      );

      // Assess
      expect(result).toEqual({
        acquired: false,
        heldBy: { clientId, rotationId: holder, expiresAt: at(30) },
      });
    });

    it('is taken over once the holder has expired, also when expiry times use another offset', async () => {
      // Prepare: 00:30Z written as 01:30+01:00.
      const clientId = newClientId();
      await ledger.acquireLock(
        { clientId, rotationId: randomUUID(), expiresAt: '2030-01-01T01:30:00+01:00' },
        T0,
      );
      const successor = randomUUID();

      // Act
      const early = await ledger.acquireLock(
        { clientId, rotationId: successor, expiresAt: at(90) },
        new Date(at(29)),
      );
      const late = await ledger.acquireLock(
        { clientId, rotationId: successor, expiresAt: at(90) },
        new Date(at(31)),
      );

      // Assess
      expect(early.acquired).toBe(false);
      expect(late).toEqual({ acquired: true });
      expect((await ledger.getLock(clientId))?.rotationId).toBe(successor);
    });

    it('is released only by its holder; releasing a free lock does nothing', async () => {
      // Prepare
      const clientId = newClientId();
      const holder = randomUUID();
      await ledger.acquireLock({ clientId, rotationId: holder, expiresAt: at(30) }, T0);

      // Act
      await ledger.releaseLock(clientId, randomUUID());
      const afterStranger = await ledger.getLock(clientId);
      await ledger.releaseLock(clientId, holder);
      await ledger.releaseLock(clientId, holder);

      // Assess
      expect(afterStranger?.rotationId).toBe(holder);
      expect(await ledger.getLock(clientId)).toBeNull();
    });

    it('goes to exactly one of 50 concurrent rotations', async () => {
      // Prepare
      const clientId = newClientId();
      const rotationIds = Array.from({ length: 50 }, () => randomUUID());

      // Act
      const results = await Promise.all(
        rotationIds.map((rotationId) => ledger.acquireLock({ clientId, rotationId, expiresAt: at(30) }, T0)),
      );

      // Assess
      const winners = rotationIds.filter((_, i) => results[i]?.acquired);
      expect(winners).toHaveLength(1);
      const holder = (await ledger.getLock(clientId))?.rotationId;
      expect(holder).toBe(winners[0]);
      for (const result of results) {
        if (!result.acquired) expect(result.heldBy.rotationId).toBe(holder);
      }
    });
  });

  describe('rotation records', () => {
    it('creates a record and reads it back unchanged', async () => {
      // Prepare
      const created = record(newClientId(), { reason: 'quarterly', requestedBy: 'ops', deadline: at(60) });

      // Act
      const stored = await ledger.createRotation(created);
      const read = await ledger.getRotation(created.clientId, created.rotationId);

      // Assess
      expect(stored).toEqual(created);
      expect(read).toEqual(created);
      observed.push(read);
    });

    it('keeps the first record when one with the same id is created again', async () => {
      // Prepare
      const first = record(newClientId());
      await ledger.createRotation(first);

      // Act
      const second = await ledger.createRotation({ ...first, trigger: 'leak', steps: { started: at(9) } });

      // Assess
      expect(second).toEqual(first);
    });

    it('returns null for a rotation that does not exist', async () => {
      // Act & Assess
      expect(await ledger.getRotation(newClientId(), randomUUID())).toBeNull();
    });

    it('applies a patch field by field and merges step timestamps', async () => {
      // Prepare
      const created = await ledger.createRotation(record(newClientId()));

      // Act
      await ledger.updateRotation(created.clientId, created.rotationId, {
        status: 'pending',
        pendingVersionId: created.rotationId,
        pendingLastFour: 'a1b2',
        steps: { pending: at(1) },
      });
      const updated = await ledger.updateRotation(created.clientId, created.rotationId, {
        taskToken: 'task-token-1',
        steps: { awaiting: at(2) },
        error: { name: 'StytchApiError', message: 'HTTP 503' },
      });

      // Assess
      expect(updated).toEqual({
        ...created,
        status: 'pending',
        pendingVersionId: created.rotationId,
        pendingLastFour: 'a1b2',
        taskToken: 'task-token-1',
        error: { name: 'StytchApiError', message: 'HTTP 503' },
        steps: { started: at(0), pending: at(1), awaiting: at(2) },
      });
      expect(await ledger.getRotation(created.clientId, created.rotationId)).toEqual(updated);
    });

    it('refuses to update a rotation that does not exist, without creating it', async () => {
      // Prepare
      const clientId = newClientId();
      const rotationId = randomUUID();

      // Act
      const error = await ledger
        .updateRotation(clientId, rotationId, { status: 'failed' })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RotationNotFoundError);
      expect(error).toMatchObject({ retryable: false });
      expect(await ledger.getRotation(clientId, rotationId)).toBeNull();
      observed.push(error);
    });

    it('lists a client’s rotations newest first, up to the limit, without the lock or other clients', async () => {
      // Prepare
      const clientId = newClientId();
      const starts = [5, 1, 9, 3, 7];
      const records = await Promise.all(
        starts.map((m) => ledger.createRotation(record(clientId, { steps: { started: at(m) } }))),
      );
      await ledger.acquireLock({ clientId, rotationId: randomUUID(), expiresAt: at(30) }, T0);
      await ledger.createRotation(record(newClientId(), { steps: { started: at(100) } }));

      // Act
      const top3 = await ledger.listRotations(clientId, 3);
      const all = await ledger.listRotations(clientId, 50);

      // Assess
      const byStart = (m: number) => records[starts.indexOf(m)]?.rotationId;
      expect(top3.map((r) => r.rotationId)).toEqual([byStart(9), byStart(7), byStart(5)]);
      expect(all.map((r) => r.steps.started)).toEqual([at(9), at(7), at(5), at(3), at(1)]);
    });
  });

  describe('consumer reports', () => {
    it('records a report while the rotation is pending and returns the new record', async () => {
      // Prepare
      const created = await ledger.createRotation(record(newClientId(), { status: 'pending' }));

      // Act
      const updated = await ledger.recordReport(created.clientId, created.rotationId, 'billing-api', {
        healthy: true,
        reportedAt: at(3),
      });

      // Assess
      expect(updated?.reports).toEqual({ 'billing-api': { healthy: true, reportedAt: at(3) } });
    });

    it('records a report that arrives while the rotation is still started (before PublishPending)', async () => {
      // Prepare
      const created = await ledger.createRotation(record(newClientId(), { status: 'started' }));

      // Act
      const updated = await ledger.recordReport(created.clientId, created.rotationId, 'billing-api', {
        healthy: true,
        reportedAt: at(2),
      });

      // Assess
      expect(updated?.reports).toEqual({ 'billing-api': { healthy: true, reportedAt: at(2) } });
    });

    it('ignores a report (null) once the rotation is not pending, or for an unknown rotation', async () => {
      // Prepare
      const created = await ledger.createRotation(record(newClientId(), { status: 'completed' }));
      const report = { healthy: false, detail: 'invalid_client', reportedAt: at(3) };

      // Act
      const late = await ledger.recordReport(created.clientId, created.rotationId, 'billing-api', report);
      const unknown = await ledger.recordReport(created.clientId, randomUUID(), 'billing-api', report);

      // Assess
      expect(late).toBeNull();
      expect(unknown).toBeNull();
      expect((await ledger.getRotation(created.clientId, created.rotationId))?.reports).toEqual({});
    });

    it('keeps all 20 of 20 concurrent reports from different consumers', async () => {
      // Prepare
      const consumers = Array.from({ length: 20 }, (_, i) => `consumer-${i}`);
      const created = await ledger.createRotation(
        record(newClientId(), { status: 'pending', expectedConsumers: consumers }),
      );

      // Act
      await Promise.all(
        consumers.map((consumer, i) =>
          ledger.recordReport(created.clientId, created.rotationId, consumer, {
            healthy: i % 7 !== 3,
            detail: `report ${i}`,
            reportedAt: at(i),
          }),
        ),
      );

      // Assess
      const stored = await ledger.getRotation(created.clientId, created.rotationId);
      expect(Object.keys(stored?.reports ?? {}).sort()).toEqual([...consumers].sort());
      expect(stored?.reports['consumer-3']).toEqual({
        healthy: false,
        detail: 'report 3',
        reportedAt: at(3),
      });
    });
  });

  describe('decision', () => {
    it('is claimed once: true, then false', async () => {
      // Prepare
      const created = await ledger.createRotation(record(newClientId(), { status: 'pending' }));

      // Act
      const first = await ledger.claimDecision(created.clientId, created.rotationId, at(5), SUCCEED);
      const second = await ledger.claimDecision(created.clientId, created.rotationId, at(6), SUCCEED);

      // Assess
      expect([first, second]).toEqual([true, false]);
      expect((await ledger.getRotation(created.clientId, created.rotationId))?.decidedAt).toBe(at(5));
    });

    it('goes to exactly one of 20 concurrent claimants', async () => {
      // Prepare
      const created = await ledger.createRotation(record(newClientId(), { status: 'pending' }));

      // Act
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          ledger.claimDecision(created.clientId, created.rotationId, at(i), SUCCEED),
        ),
      );

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await ledger.getRotation(created.clientId, created.rotationId))?.decidedAt).toBe(at(winner));
    });

    it('is refused for an unknown rotation, without creating a stub item', async () => {
      // Prepare
      const clientId = newClientId();
      const rotationId = randomUUID();

      // Act
      const error = await ledger.claimDecision(clientId, rotationId, at(1), SUCCEED).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RotationNotFoundError);
      expect(await ledger.getRotation(clientId, rotationId)).toBeNull();
      observed.push(error);
    });
  });

  it('never lets a secret value into an item or an error', async () => {
    // Prepare: everything in the table, as stored.
    const { Items } = await doc.send(new ScanCommand({ TableName: TABLE }));
    observed.push(Items);

    // Assess
    expect(Items?.length).toBeGreaterThan(10);
    for (const value of observed) {
      const text = `${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })} ${JSON.stringify(value)}`;
      expect(text).not.toContain(NEXT_SECRET);
    }
  });
});

/**
 * The reports map keyed by consumer names that are also members of `Object.prototype`, stored in
 * DynamoDB and read back through the document client: the health aggregator over the real ledger
 * waits for `constructor` and `toString`, and cancels on an unhealthy `valueOf`.
 */
describe('Class: DynamoLedger (moto), consumers named like Object.prototype members', () => {
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

  /** A pending rotation waiting on `expectedConsumers`, and the aggregator's deps over this ledger. */
  async function waitingRotation(expectedConsumers: string[]) {
    const clientId = `m2m-client-test-${randomUUID()}`;
    const fakes = fakeDeps({ [clientId]: { kind: 'm2m', policy: { expectedConsumers } } });
    fakes.clock.current = T0;
    const rotationId = randomUUID();
    await ledger.createRotation(
      record(clientId, {
        rotationId,
        status: 'pending',
        pendingVersionId: rotationId,
        expectedConsumers,
        taskToken: 'token-1',
      }),
    );
    const deps: StepDeps = { ...fakes.deps, ledger };
    const report = (consumer: string, healthy: boolean) =>
      recordHealthReport(
        deps,
        {
          clientId,
          rotationId,
          pendingVersionId: rotationId,
          consumer,
          healthy,
          ...(healthy ? {} : { detail: `${consumer}: token rejected` }),
        },
        { source: consumerSource(consumer) },
      );
    return { clientId, rotationId, callbacks: fakes.callbacks, report };
  }

  it('reads back an empty reports map as no report of "constructor" or "toString"', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString']);

    // Act
    const stored = await ledger.getRotation(t.clientId, t.rotationId);

    // Assess
    expect(stored?.reports).toEqual({});
    expect(stored === null ? 'missing' : decideWait(stored)).toEqual({ kind: 'waiting' });
  });

  it('waits for both "constructor" and "toString", and completes once both reported healthy', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString']);

    // Act
    const first = await t.report('constructor', true);
    const callbacksAfterFirst = [...t.callbacks.calls];
    const second = await t.report('toString', true);

    // Assess
    expect(first).toEqual({ accepted: true, decision: 'waiting' });
    expect(callbacksAfterFirst).toEqual([]);
    expect(second).toEqual({ accepted: true, decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
    const stored = await ledger.getRotation(t.clientId, t.rotationId);
    expect(Object.keys(stored?.reports ?? {}).sort()).toEqual(['constructor', 'toString']);
    expect(stored?.reports.toString).toEqual({ healthy: true, reportedAt: T0.toISOString() });
  });

  it('cancels when "valueOf" reports unhealthy', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString', 'valueOf']);
    await t.report('constructor', true);

    // Act
    const result = await t.report('valueOf', false);

    // Assess
    expect(result).toEqual({ accepted: true, decision: 'unhealthy' });
    expect(t.callbacks.calls).toHaveLength(1);
    expect(t.callbacks.calls[0]).toMatchObject({ kind: 'fail', payload: { error: 'ConsumerUnhealthy' } });
    const failure = t.callbacks.calls[0]?.payload as { cause: string } | undefined;
    expect(JSON.parse(failure?.cause ?? '{}')).toEqual({
      consumer: 'valueOf',
      detail: 'valueOf: token rejected',
    });
  });

  it('refuses to record a report under "__proto__", which no consumer name can be', async () => {
    // Prepare
    const created = await ledger.createRotation(
      record(`m2m-client-test-${randomUUID()}`, { status: 'pending' }),
    );

    // Act
    const error = await ledger
      .recordReport(created.clientId, created.rotationId, '__proto__', { healthy: true, reportedAt: at(1) })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect((await ledger.getRotation(created.clientId, created.rotationId))?.reports).toEqual({});
  });
});

/** Leak reports: one item per accepted report, kept once per event id, listed newest first. */
describe('Class: DynamoLedger (moto), leak reports', () => {
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

  function leakReport(clientId: string, overrides: Partial<LeakReportRecord> = {}): LeakReportRecord {
    return {
      clientId,
      eventId: randomUUID(),
      receivedAt: at(0),
      source: 'github-secret-scanning',
      reference: 'https://github.com/acme/app/security/secret-scanning/1\u001b[2J',
      matchedBy: 'fingerprint',
      fingerprintPrefix: '0123456789ab',
      leaked: 'current',
      outcome: { result: 'rotation_started', executionArn: 'arn:aws:states:us-east-1:1:execution:r:leak-1' },
      ...overrides,
    };
  }

  async function itemsOf(clientId: string): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': clientId },
      }),
    );
    return Items;
  }

  it('stores a report as LEAK#<receivedAt>#<eventId> with a ttl 180 days on, once per event id', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const report = leakReport(clientId);

    // Act
    const first = await ledger.recordLeakReport(report);
    const redelivered = await ledger.recordLeakReport({
      ...report,
      receivedAt: at(5),
      outcome: { result: 'escalated', rotationId: randomUUID(), escalation: 'complete' },
    });

    // Assess: one report item (the first delivery's) and its guard; both expire in 180 days.
    expect([first, redelivered]).toEqual([true, false]);
    const ttl = Date.parse(at(0)) / 1000 + 180 * 24 * 60 * 60;
    const items = await itemsOf(clientId);
    expect(items).toHaveLength(2);
    expect(items).toContainEqual({
      ...report,
      outcome: { ...report.outcome },
      pk: clientId,
      sk: `LEAK#${at(0)}#${report.eventId}`,
      ttl,
    });
    expect(items).toContainEqual(
      expect.objectContaining({ sk: `LEAKEVENT#${report.eventId}`, ttl, receivedAt: at(0) }),
    );
    expect(await ledger.listLeakReports(clientId, 10)).toEqual([report]);
  });

  it('keeps one report of 10 concurrent deliveries of one event', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const report = leakReport(clientId);

    // Act
    const recorded = await Promise.all(
      Array.from({ length: 10 }, (_, minute) =>
        ledger.recordLeakReport({ ...report, receivedAt: at(minute) }),
      ),
    );

    // Assess
    expect(recorded.filter(Boolean)).toHaveLength(1);
    expect(await itemsOf(clientId)).toHaveLength(2);
    expect(await ledger.listLeakReports(clientId, 10)).toHaveLength(1);
  });

  it('lists the reports newest first, up to the limit, apart from the rotations', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    await ledger.createRotation(record(clientId));
    const reports = [0, 2, 1].map((minute) =>
      leakReport(clientId, {
        receivedAt: at(minute),
        matchedBy: 'client_id',
        fingerprintPrefix: undefined,
        reference: undefined,
        leaked: minute === 1 ? 'dead' : 'current',
        outcome:
          minute === 1 ? { result: 'already_dead' } : { result: 'rotation_started', executionArn: 'a' },
      }),
    );
    for (const report of reports) await ledger.recordLeakReport(report);

    // Act
    const listed = await ledger.listLeakReports(clientId, 2);
    const rotations = await ledger.listRotations(clientId, 10);

    // Assess
    expect(listed.map((report) => report.receivedAt)).toEqual([at(2), at(1)]);
    expect(listed[1]).toEqual({
      clientId,
      eventId: reports[2]?.eventId,
      receivedAt: at(1),
      source: 'github-secret-scanning',
      matchedBy: 'client_id',
      leaked: 'dead',
      outcome: { result: 'already_dead' },
    });
    expect(rotations).toHaveLength(1);
  });

  it('writes the report a delivery that died after its guard left unwritten, under the guard’s key', async () => {
    // Prepare: the first delivery wrote its guard, then died.
    const clientId = `m2m-client-test-${randomUUID()}`;
    const report = leakReport(clientId);
    const reportSk = `LEAK#${at(0)}#${report.eventId}`;
    await doc.send(
      new PutCommand({
        TableName: TABLE,
        Item: { pk: clientId, sk: `LEAKEVENT#${report.eventId}`, reportSk, receivedAt: at(0), ttl: 1 },
      }),
    );

    // Act
    const recorded = await ledger.recordLeakReport({ ...report, receivedAt: at(3) });

    // Assess
    expect(recorded).toBe(true);
    expect((await itemsOf(clientId)).map((item) => item.sk)).toContain(reportSk);
    expect(await ledger.listLeakReports(clientId, 10)).toEqual([report]);
  });
});
