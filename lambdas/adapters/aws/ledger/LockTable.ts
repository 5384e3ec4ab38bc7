import * as z from 'zod';
import type { LockPort, LockResult, RotationLock } from '#core/ports.js';
import { AwsAdapterError, LedgerItemFormatError } from '../errors.js';
import { LedgerTable, type LedgerTableProps, LOCK_SK, parseItem } from './ledgerTable.js';

const LockItemSchema = z.object({
  pk: z.string(),
  rotationId: z.string(),
  expiresAt: z.string(),
  executionId: z.string().optional(),
});

// Attempts of acquireLock when the holder vanishes between the failed put and the read.
const LOCK_ATTEMPTS = 3;

/**
 * {@link LockPort} over the ledger table: `pk=<clientId>, sk=LOCK` with `rotationId`, `expiresAt`
 * (ISO) and `expiresAtMs` (epoch ms, what the conditions compare, so timestamps in other offsets
 * compare right). Every change is one conditional write, so the lock is race-free.
 */
export class LockTable implements LockPort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
  }

  /**
   * One conditional PutItem: succeeds when there is no lock, the lock is ours already (a retried
   * step: the expiry is renewed), or the holder's lock has expired.
   */
  public async acquireLock(lock: RotationLock, now: Date): Promise<LockResult> {
    const write = acquireLockPut(lock, now);
    for (let attempt = 1; ; attempt += 1) {
      const put = await this.#table.put(write);
      if (put.written) return { acquired: true };
      const heldBy = await this.getLock(lock.clientId);
      if (heldBy !== null) return { acquired: false, heldBy };
      // Released between our put and our read: try again (the race is over in one round trip).
      if (attempt >= LOCK_ATTEMPTS) {
        throw new AwsAdapterError(`The lock of client ${lock.clientId} kept changing hands; try again`, {
          retryable: true,
        });
      }
    }
  }

  /** One conditional PutItem: replaces the lock only while `staleRotationId` still holds it. */
  public async takeOverLock(lock: RotationLock, staleRotationId: string): Promise<boolean> {
    const put = await this.#table.put({
      Item: lockItem(lock),
      ConditionExpression: 'rotationId = :stale OR rotationId = :me',
      ExpressionAttributeValues: { ':stale': staleRotationId, ':me': lock.rotationId },
    });
    return put.written;
  }

  /** One conditional DeleteItem: not held, or held by another rotation, leaves nothing of ours to release. */
  public async releaseLock(clientId: string, rotationId: string): Promise<void> {
    await this.#table.delete(releaseLockDelete(clientId, rotationId));
  }

  public async getLock(clientId: string): Promise<RotationLock | null> {
    const item = await this.#table.get(clientId, LOCK_SK);
    if (item === undefined) return null;
    const stored = parseItem(LockItemSchema, item, `${clientId}/LOCK`);
    return {
      clientId,
      rotationId: stored.rotationId,
      expiresAt: stored.expiresAt,
      ...(stored.executionId === undefined ? {} : { executionId: stored.executionId }),
    };
  }
}

/**
 * The conditional put that takes the lock (see {@link LockTable.acquireLock}): there is no lock,
 * the lock is ours already, or the holder's has expired. Also a write of a transaction.
 */
export function acquireLockPut(lock: RotationLock, now: Date) {
  return {
    Item: lockItem(lock),
    ConditionExpression: 'attribute_not_exists(pk) OR rotationId = :me OR expiresAtMs < :now',
    ExpressionAttributeValues: { ':me': lock.rotationId, ':now': now.getTime() },
  };
}

/** The conditional delete that releases the lock only if `rotationId` holds it. Also a write of a transaction. */
export function releaseLockDelete(clientId: string, rotationId: string) {
  return {
    Key: { pk: clientId, sk: LOCK_SK },
    ConditionExpression: 'rotationId = :me',
    ExpressionAttributeValues: { ':me': rotationId },
  };
}

/**
 * The lock's item: `expiresAtMs` (epoch ms) is what the conditions compare, so timestamps written
 * with other offsets compare right; an expiry that is not a date is refused before any write.
 */
function lockItem(lock: RotationLock): Record<string, unknown> {
  const expiresAtMs = Date.parse(lock.expiresAt);
  if (Number.isNaN(expiresAtMs)) {
    throw new LedgerItemFormatError(`lock of ${lock.clientId}`, ['expiresAt: invalid_date']);
  }
  return {
    pk: lock.clientId,
    sk: LOCK_SK,
    rotationId: lock.rotationId,
    expiresAt: lock.expiresAt,
    expiresAtMs,
    ...(lock.executionId === undefined ? {} : { executionId: lock.executionId }),
  };
}
