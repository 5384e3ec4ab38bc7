import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FingerprintIndex } from '#adapters/aws/ledger/FingerprintIndex.js';
import { LockTable } from '#adapters/aws/ledger/LockTable.js';
import { RotationRecords } from '#adapters/aws/ledger/RotationRecords.js';
import { RotationWrites } from '#adapters/aws/ledger/RotationWrites.js';
import type { FingerprintEntry } from '#core/fingerprint.js';
import { at, newClientId, rotationRecord, T0, useMotoLedger } from './motoLedger.js';

function entry(
  clientId: string,
  stage: FingerprintEntry['stage'],
  versionId: string = randomUUID(),
): FingerprintEntry {
  return {
    fingerprint: randomUUID().replaceAll('-', '').repeat(2),
    clientId,
    clientKind: 'm2m',
    stage,
    versionId,
    lastFour: 'ab12',
    updatedAt: at(0),
  };
}

describe('Class: RotationWrites (moto)', () => {
  let writes: RotationWrites;
  let locks: LockTable;
  let records: RotationRecords;
  let index: FingerprintIndex;
  useMotoLedger('rotator-ledger-writes', (props) => {
    writes = new RotationWrites(props);
    locks = new LockTable(props);
    records = new RotationRecords(props);
    index = new FingerprintIndex(props);
  });

  it('begins a rotation in one write: the lock, the record and the entries; a retry finds them', async () => {
    // Prepare
    const clientId = newClientId();
    const record = rotationRecord(clientId);
    const lock = { clientId, rotationId: record.rotationId, expiresAt: at(30) };
    const current = entry(clientId, 'current');

    // Act
    const first = await writes.beginRotation(lock, record, [current], T0);
    await records.updateRotation(clientId, record.rotationId, { steps: { announced: at(1) } });
    const retried = await writes.beginRotation(lock, record, [current], new Date(at(2)));

    // Assess
    expect(first).toEqual({ acquired: true, record });
    expect(retried).toMatchObject({ acquired: true, record: { steps: { announced: at(1) } } });
    expect(await locks.getLock(clientId)).toMatchObject({ rotationId: record.rotationId });
    expect(await index.findFingerprint(current.fingerprint)).toEqual(current);
  });

  it('writes nothing while another rotation holds the lock, and names the holder', async () => {
    // Prepare
    const clientId = newClientId();
    const holder = randomUUID();
    await locks.acquireLock({ clientId, rotationId: holder, expiresAt: at(30) }, T0);
    const record = rotationRecord(clientId);
    const current = entry(clientId, 'current');

    // Act
    const result = await writes.beginRotation(
      { clientId, rotationId: record.rotationId, expiresAt: at(40) },
      record,
      [current],
      new Date(at(5)),
    );

    // Assess
    expect(result).toMatchObject({ acquired: false, heldBy: { rotationId: holder } });
    expect(await records.getRotation(clientId, record.rotationId)).toBeNull();
    expect(await index.findFingerprint(current.fingerprint)).toBeNull();
  });

  it('records a step with its entries, and refuses (writing no entry) a record that does not exist', async () => {
    // Prepare
    const clientId = newClientId();
    const record = rotationRecord(clientId);
    await records.createRotation(record);
    const pending = entry(clientId, 'pending', record.rotationId);
    const orphan = entry(clientId, 'pending');

    // Act
    await writes.recordStep(
      clientId,
      record.rotationId,
      { pendingLastFour: 'ab12', steps: { stored: at(3) } },
      [pending],
    );
    const missing = writes.recordStep(clientId, randomUUID(), { steps: { stored: at(3) } }, [orphan]);

    // Assess
    await expect(missing).rejects.toMatchObject({ name: 'RotationNotFoundError' });
    expect(await index.findFingerprint(orphan.fingerprint)).toBeNull();
    expect(await records.getRotation(clientId, record.rotationId)).toMatchObject({
      pendingLastFour: 'ab12',
      steps: { started: record.steps.started, stored: at(3) },
    });
    expect(await index.findFingerprint(pending.fingerprint)).toEqual(pending);
  });

  it('records the stored step with its entry and claims the wait in one write when no consumer is expected, once', async () => {
    // Prepare
    const clientId = newClientId();
    const record = rotationRecord(clientId, { expectedConsumers: [] });
    await records.createRotation(record);
    const pending = entry(clientId, 'pending', record.rotationId);
    const patch = {
      status: 'pending',
      pendingLastFour: 'ab12',
      steps: { stored: at(3), pending: at(3) },
    } as const;
    const answer = { kind: 'succeed', reason: 'no_consumers_expected' } as const;

    // Act
    const first = await writes.recordStepAndClaim(
      clientId,
      record.rotationId,
      patch,
      [pending],
      at(3),
      answer,
    );
    const retried = await writes.recordStepAndClaim(
      clientId,
      record.rotationId,
      patch,
      [pending],
      at(4),
      answer,
    );

    // Assess
    expect([first, retried]).toEqual([true, false]);
    expect(await records.getRotation(clientId, record.rotationId)).toMatchObject({
      status: 'pending',
      pendingLastFour: 'ab12',
      steps: { started: record.steps.started, stored: at(3), pending: at(3) },
      decidedAt: at(3),
      decision: answer,
      decidedBy: 'waiter',
    });
    expect(await index.findFingerprint(pending.fingerprint)).toEqual(pending);
  });

  it.each([
    ['a consumer is expected', { expectedConsumers: ['billing-api'] }],
    ['a leak of the pending secret escalated it', { expectedConsumers: [], escalatedCancel: at(1) }],
  ] as const)('writes nothing, the entry included (false), when %s', async (_label, overrides) => {
    // Prepare
    const clientId = newClientId();
    const record = rotationRecord(clientId, overrides);
    await records.createRotation(record);
    const pending = entry(clientId, 'pending', record.rotationId);

    // Act
    const claimed = await writes.recordStepAndClaim(
      clientId,
      record.rotationId,
      { status: 'pending', steps: { stored: at(3), pending: at(3) } },
      [pending],
      at(3),
      { kind: 'succeed', reason: 'no_consumers_expected' },
    );

    // Assess
    expect(claimed).toBe(false);
    expect(await records.getRotation(clientId, record.rotationId)).toMatchObject({ status: 'started' });
    expect(await records.getRotation(clientId, record.rotationId)).not.toHaveProperty('decidedAt');
    expect(await index.findFingerprint(pending.fingerprint)).toBeNull();
  });

  it('ends a rotation in one write (null: no escalation), or returns the ended record when a leak escalated it', async () => {
    // Prepare
    const clientId = newClientId();
    const quiet = rotationRecord(clientId);
    await writes.beginRotation({ clientId, rotationId: quiet.rotationId, expiresAt: at(30) }, quiet, [], T0);
    const other = newClientId();
    const escalated = rotationRecord(other);
    await writes.beginRotation(
      { clientId: other, rotationId: escalated.rotationId, expiresAt: at(30) },
      escalated,
      [],
      T0,
    );
    await records.escalateRotation(other, escalated.rotationId, 'cancel', at(4));
    const entries = [entry(clientId, 'current'), entry(clientId, 'previous')];
    const patch = { status: 'completed', steps: { completed: at(5) } } as const;

    // Act
    const quietEnd = await writes.endRotation(clientId, quiet.rotationId, patch, entries);
    const escalatedEnd = await writes.endRotation(other, escalated.rotationId, patch, []);

    // Assess
    expect(quietEnd).toBeNull();
    expect(await locks.getLock(clientId)).toBeNull();
    expect(await records.getRotation(clientId, quiet.rotationId)).toMatchObject({ status: 'completed' });
    for (const written of entries) expect(await index.findFingerprint(written.fingerprint)).toEqual(written);
    expect(escalatedEnd).toMatchObject({ status: 'completed', escalatedCancel: at(4) });
    expect(await locks.getLock(other)).toBeNull();
  });

  it('ends a rotation whose lock another took: the record and entries written, that lock left alone', async () => {
    // Prepare
    const clientId = newClientId();
    const record = rotationRecord(clientId);
    await records.createRotation(record);
    const taker = randomUUID();
    await locks.acquireLock({ clientId, rotationId: taker, expiresAt: at(30) }, T0);
    const current = entry(clientId, 'current');

    // Act
    const ended = await writes.endRotation(
      clientId,
      record.rotationId,
      { status: 'completed', steps: { completed: at(5) } },
      [current],
    );

    // Assess
    expect(ended).toMatchObject({ status: 'completed' });
    expect(await locks.getLock(clientId)).toMatchObject({ rotationId: taker });
    expect(await index.findFingerprint(current.fingerprint)).toEqual(current);
  });
});
