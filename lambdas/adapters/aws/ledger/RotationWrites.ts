import type { FingerprintEntry } from '#core/fingerprint.js';
import type {
  BeginResult,
  DecisionAnswer,
  RotationLock,
  RotationPatch,
  RotationRecord,
  RotationWritesPort,
} from '#core/ports.js';
import { RotationNotFoundError } from '../errors.js';
import { FingerprintIndex, fingerprintPut } from './FingerprintIndex.js';
import { acquireLockPut, LockTable, releaseLockDelete } from './LockTable.js';
import { LedgerTable, type LedgerTableProps, type TransactWrite } from './ledgerTable.js';
import {
  claimByContextUpdate,
  RotationRecords,
  rotationItem,
  rotationPatchUpdate,
  toRecord,
} from './RotationRecords.js';

/** The condition under which a rotation may end in one write: no leak has escalated it (see preemption.ts). */
const NOT_ESCALATED = 'attribute_not_exists(escalatedCancel) AND attribute_not_exists(escalatedComplete)';

/**
 * {@link RotationWritesPort} over the ledger table: each write of a step that touches the lock, the
 * record and the fingerprint index is one TransactWriteItems (all or nothing) with the very
 * conditions of the separate writes ({@link LockTable}, {@link RotationRecords},
 * {@link FingerprintIndex}). A cancelled transaction (a condition failed, or a concurrent write
 * conflicted) changed nothing: the separate writes are then made one by one, and settle it as
 * they always did (a lock held by another, a record that exists already, an escalation to report).
 * So the common case costs one round trip, and every other case what it cost before, plus one.
 *
 * Transactions need no IAM action of their own: each write is authorized as the PutItem,
 * UpdateItem or DeleteItem it is (no ConditionCheck is used).
 */
export class RotationWrites implements RotationWritesPort {
  readonly #table: LedgerTable;
  readonly #locks: LockTable;
  readonly #rotations: RotationRecords;
  readonly #fingerprints: FingerprintIndex;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
    this.#locks = new LockTable(props);
    this.#rotations = new RotationRecords(props);
    this.#fingerprints = new FingerprintIndex(props);
  }

  /** One transaction: the lock's conditional put, the record's `attribute_not_exists(sk)` put, the entries. */
  public async beginRotation(
    lock: RotationLock,
    record: RotationRecord,
    entries: readonly FingerprintEntry[],
    now: Date,
  ): Promise<BeginResult> {
    const item = rotationItem(record);
    const written = await this.#table.transact(
      [
        { put: acquireLockPut(lock, now) },
        { put: { Item: item, ConditionExpression: 'attribute_not_exists(sk)' } },
        ...entryPuts(entries),
      ],
      `${lock.clientId}/LOCK+ROTATION#${record.rotationId}`,
    );
    if (written.written) return { acquired: true, record: toRecord(item) };
    // Another's lock, or our record already there (a retried step): the separate writes tell which.
    const acquired = await this.#locks.acquireLock(lock, now);
    if (!acquired.acquired) return acquired;
    await this.#putEntries(entries);
    return { acquired: true, record: await this.#rotations.createRotation(record) };
  }

  /**
   * One transaction: the record's update (conditional on it existing) and the entries.
   * @throws {RotationNotFoundError} when the record does not exist (permanent)
   */
  public async recordStep(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<void> {
    const update = rotationPatchUpdate(clientId, rotationId, patch);
    if (update !== null && entries.length > 0) {
      const written = await this.#table.transact(
        [{ update }, ...entryPuts(entries)],
        `${clientId}/ROTATION#${rotationId}`,
      );
      if (written.written) return;
      if (written.reasons[0] === 'ConditionalCheckFailed') {
        throw new RotationNotFoundError(clientId, rotationId, { cause: written.refusal });
      }
    }
    await this.#rotations.updateRotation(clientId, rotationId, patch);
    await this.#putEntries(entries);
  }

  /**
   * One transaction: the record's update with the waiter's claim of the decision (see
   * {@link claimByContextUpdate}) and the entries. False, with nothing written, when the record does
   * not decide the wait by its context any more (a leak escalated it, a retry finds its claim made)
   * or the transaction met another write: the caller then makes {@link recordStep}'s writes.
   */
  public async recordStepAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
    decidedAt: string,
    answer: DecisionAnswer,
  ): Promise<boolean> {
    const written = await this.#table.transact(
      [
        { update: claimByContextUpdate(clientId, rotationId, patch, decidedAt, answer) },
        ...entryPuts(entries),
      ],
      `${clientId}/ROTATION#${rotationId}`,
    );
    return written.written;
  }

  /**
   * One transaction: the record's update, conditional on no escalation being on it; the lock's
   * delete, conditional on it being ours; the entries. Cancelled (an escalation landed, the lock
   * is not ours, a conflict), the writes are made one by one and the ended record returned.
   */
  public async endRotation(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<RotationRecord | null> {
    const update = rotationPatchUpdate(clientId, rotationId, patch, NOT_ESCALATED);
    if (update !== null) {
      const written = await this.#table.transact(
        [{ update }, { delete: releaseLockDelete(clientId, rotationId) }, ...entryPuts(entries)],
        `${clientId}/ROTATION#${rotationId}+LOCK`,
      );
      if (written.written) return null;
    }
    await this.#putEntries(entries);
    const ended = await this.#rotations.updateRotation(clientId, rotationId, patch);
    await this.#locks.releaseLock(clientId, rotationId);
    return ended;
  }

  async #putEntries(entries: readonly FingerprintEntry[]): Promise<void> {
    for (const entry of distinct(entries)) await this.#fingerprints.putFingerprint(entry);
  }
}

/** The puts of the entries, one per fingerprint (a transaction may write an item only once: the last entry wins). */
function entryPuts(entries: readonly FingerprintEntry[]): TransactWrite[] {
  return distinct(entries).map((entry) => ({ put: fingerprintPut(entry) }));
}

function distinct(entries: readonly FingerprintEntry[]): FingerprintEntry[] {
  return [...new Map(entries.map((entry) => [entry.fingerprint, entry])).values()];
}
