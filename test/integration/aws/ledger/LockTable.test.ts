import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LockTable } from '#adapters/aws/ledger/LockTable.js';
import { at, newClientId, T0, useMotoLedger } from './motoLedger.js';

describe('Class: LockTable (moto)', () => {
  let ledger: LockTable;
  useMotoLedger('rotator-ledger-locks', (props) => {
    ledger = new LockTable(props);
  });

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

  it('is taken over only from the stale holder named, and kept by a retried takeover', async () => {
    // Prepare
    const clientId = newClientId();
    const stale = randomUUID();
    const successor = randomUUID();
    await ledger.acquireLock({ clientId, rotationId: stale, expiresAt: at(30) }, T0);

    // Act
    const wrongStale = await ledger.takeOverLock(
      { clientId, rotationId: successor, expiresAt: at(60) },
      randomUUID(),
    );
    const taken = await ledger.takeOverLock(
      { clientId, rotationId: successor, expiresAt: at(60), executionId: 'exec-2' },
      stale,
    );
    const afterTakeover = await ledger.getLock(clientId);
    const retried = await ledger.takeOverLock({ clientId, rotationId: successor, expiresAt: at(60) }, stale);

    // Assess
    expect([wrongStale, taken, retried]).toEqual([false, true, true]);
    expect(afterTakeover).toEqual({
      clientId,
      rotationId: successor,
      expiresAt: at(60),
      executionId: 'exec-2',
    });
    expect(await ledger.getLock(clientId)).toEqual({ clientId, rotationId: successor, expiresAt: at(60) });
  });
});
