import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { RotationNotFoundError } from '#adapters/aws/errors.js';
import { LockTable } from '#adapters/aws/ledger/LockTable.js';
import { RotationRecords } from '#adapters/aws/ledger/RotationRecords.js';
import { at, newClientId, rotationRecord, T0, useMotoLedger } from './motoLedger.js';

// The ledger never sees a secret; the leak check proves nothing carried one in by accident.
const NEXT_SECRET = 'LEAK-ledger-next-secret-93ab';

/** The answer a claimed decision owes the task, as the aggregator stores it. */
const SUCCEED = { kind: 'succeed', reason: 'all_consumers_healthy' } as const;

describe('Class: RotationRecords (moto)', () => {
  let ledger: RotationRecords;
  // The lock shares the table: listing rotations must pass it by.
  let locks: LockTable;
  const observed: unknown[] = [];
  const table = useMotoLedger('rotator-ledger-rotations', (props) => {
    ledger = new RotationRecords(props);
    locks = new LockTable(props);
  });

  describe('rotation records', () => {
    it('creates a record and reads it back unchanged', async () => {
      // Prepare
      const created = rotationRecord(newClientId(), {
        reason: 'quarterly',
        requestedBy: 'ops',
        deadline: at(60),
      });

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
      const first = rotationRecord(newClientId());
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
      const created = await ledger.createRotation(rotationRecord(newClientId()));

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
        starts.map((m) => ledger.createRotation(rotationRecord(clientId, { steps: { started: at(m) } }))),
      );
      await locks.acquireLock({ clientId, rotationId: randomUUID(), expiresAt: at(30) }, T0);
      await ledger.createRotation(rotationRecord(newClientId(), { steps: { started: at(100) } }));

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
    it.each([
      ['pending', 'records a report while the rotation is pending and returns the new record', 3],
      [
        'started',
        'records a report that arrives while the rotation is still started (before PublishPending)',
        2,
      ],
    ] as const)('%s: %s', async (status, _title, minute) => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), { status }));

      // Act
      const updated = await ledger.recordReport(created.clientId, created.rotationId, 'billing-api', {
        healthy: true,
        reportedAt: at(minute),
      });

      // Assess
      expect(updated?.reports).toEqual({ 'billing-api': { healthy: true, reportedAt: at(minute) } });
    });

    it('ignores a report (null) once the rotation is not pending, or for an unknown rotation', async () => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), { status: 'completed' }));
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
        rotationRecord(newClientId(), { status: 'pending', expectedConsumers: consumers }),
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
      const created = await ledger.createRotation(rotationRecord(newClientId(), { status: 'pending' }));

      // Act
      const first = await ledger.claimDecision(created.clientId, created.rotationId, at(5), SUCCEED);
      const second = await ledger.claimDecision(created.clientId, created.rotationId, at(6), SUCCEED);

      // Assess
      expect([first, second]).toEqual([true, false]);
      expect((await ledger.getRotation(created.clientId, created.rotationId))?.decidedAt).toBe(at(5));
    });

    it('goes to exactly one of 20 concurrent claimants', async () => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), { status: 'pending' }));

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

  describe("the waiter's claim with its token (keepTokenAndClaim)", () => {
    /** AwaitConsumers' patch: marked pending, the task token kept. */
    const WAIT = {
      status: 'pending',
      taskToken: 'task-token-1',
      steps: { pending: at(4), awaiting: at(4) },
    } as const;
    const NO_CONSUMERS = { kind: 'succeed', reason: 'no_consumers_expected' } as const;

    it('writes the patch and the claim as the waiter in one write, once', async () => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), { expectedConsumers: [] }));

      // Act
      const first = await ledger.keepTokenAndClaim(
        created.clientId,
        created.rotationId,
        WAIT,
        at(4),
        NO_CONSUMERS,
      );
      const second = await ledger.keepTokenAndClaim(
        created.clientId,
        created.rotationId,
        { ...WAIT, taskToken: 'task-token-2' },
        at(5),
        NO_CONSUMERS,
      );

      // Assess
      expect([first, second]).toEqual([true, false]);
      expect(await ledger.getRotation(created.clientId, created.rotationId)).toEqual({
        ...created,
        status: 'pending',
        taskToken: 'task-token-1',
        steps: { started: at(0), pending: at(4), awaiting: at(4) },
        decidedAt: at(4),
        decision: NO_CONSUMERS,
        decidedBy: 'waiter',
      });
    });

    it.each([
      ['a consumer is expected', { expectedConsumers: ['billing-api'] }],
      ['a leak of the pending secret escalated it', { expectedConsumers: [], escalatedCancel: at(1) }],
      ['a leak of the current secret escalated it', { expectedConsumers: [], escalatedComplete: at(1) }],
      ['the wait is decided', { expectedConsumers: [], decidedAt: at(1), decision: NO_CONSUMERS }],
      ['the rotation has ended', { expectedConsumers: [], status: 'cancelled' }],
    ] as const)('writes nothing (false) when %s', async (_label, overrides) => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), overrides));

      // Act
      const claimed = await ledger.keepTokenAndClaim(
        created.clientId,
        created.rotationId,
        WAIT,
        at(4),
        NO_CONSUMERS,
      );

      // Assess
      expect(claimed).toBe(false);
      expect(await ledger.getRotation(created.clientId, created.rotationId)).toEqual(created);
    });

    it('writes nothing (false) for an unknown rotation, without creating a stub item', async () => {
      // Prepare
      const clientId = newClientId();
      const rotationId = randomUUID();

      // Act
      const claimed = await ledger.keepTokenAndClaim(clientId, rotationId, WAIT, at(4), NO_CONSUMERS);

      // Assess
      expect(claimed).toBe(false);
      expect(await ledger.getRotation(clientId, rotationId)).toBeNull();
    });

    it('goes to exactly one of the waiter and 10 concurrent claimants, and an escalation racing it never lands unseen', async () => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), { expectedConsumers: [] }));
      const { clientId, rotationId } = created;

      // Act
      const [waiter, escalated, ...others] = await Promise.all([
        ledger.keepTokenAndClaim(clientId, rotationId, WAIT, at(4), NO_CONSUMERS),
        ledger.escalateRotation(clientId, rotationId, 'cancel', at(3)),
        ...Array.from({ length: 10 }, (_, i) => ledger.claimDecision(clientId, rotationId, at(i), SUCCEED)),
      ]);

      // Assess
      expect([waiter, ...others].filter(Boolean)).toHaveLength(1);
      const stored = await ledger.getRotation(clientId, rotationId);
      expect(stored?.escalatedCancel).toBe(at(3));
      expect(escalated?.escalatedCancel).toBe(at(3));
      expect(stored?.decidedBy).toBe(waiter ? 'waiter' : undefined);
    });

    it('keeps who claimed a decision when the claimant says so', async () => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), { status: 'pending' }));

      // Act
      await ledger.claimDecision(created.clientId, created.rotationId, at(5), SUCCEED, 'waiter');

      // Assess
      expect(await ledger.getRotation(created.clientId, created.rotationId)).toMatchObject({
        decidedAt: at(5),
        decision: SUCCEED,
        decidedBy: 'waiter',
      });
    });
  });

  describe('answer and escalation', () => {
    it('marks the answer once (a repeated answer keeps the first time); refuses an unknown rotation', async () => {
      // Prepare
      const created = await ledger.createRotation(rotationRecord(newClientId(), { status: 'pending' }));

      // Act
      await ledger.markAnswered(created.clientId, created.rotationId, at(5));
      await ledger.markAnswered(created.clientId, created.rotationId, at(6));
      const error = await ledger.markAnswered(created.clientId, randomUUID(), at(5)).catch((e: unknown) => e);

      // Assess
      expect((await ledger.getRotation(created.clientId, created.rotationId))?.answeredAt).toBe(at(5));
      expect(error).toBeInstanceOf(RotationNotFoundError);
      observed.push(error);
    });

    it('records the first escalation of each kind while live, and none (null) once ended', async () => {
      // Prepare
      const live = await ledger.createRotation(rotationRecord(newClientId(), { status: 'pending' }));
      const ended = await ledger.createRotation(rotationRecord(newClientId(), { status: 'completed' }));

      // Act
      await ledger.escalateRotation(live.clientId, live.rotationId, 'complete', at(1));
      const escalated = await ledger.escalateRotation(live.clientId, live.rotationId, 'complete', at(2));
      const refused = await ledger.escalateRotation(ended.clientId, ended.rotationId, 'cancel', at(1));

      // Assess
      expect(escalated).toEqual({ ...live, escalatedComplete: at(1) });
      expect(refused).toBeNull();
      expect(await ledger.getRotation(ended.clientId, ended.rotationId)).toEqual(ended);
    });
  });

  it('never lets a secret value into an item or an error', async () => {
    // Prepare: everything in the table, as stored.
    const { Items } = await table.doc.send(new ScanCommand({ TableName: table.props.tableName }));
    observed.push(Items);

    // Assess
    expect(Items?.length).toBeGreaterThan(10);
    for (const value of observed) {
      const text = `${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })} ${JSON.stringify(value)}`;
      expect(text).not.toContain(NEXT_SECRET);
    }
  });
});
