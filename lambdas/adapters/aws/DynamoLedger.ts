import type { FingerprintEntry } from '#core/fingerprint.js';
import type { FleetRotationSummary } from '#core/fleetRotation.js';
import type { FleetSweepRecord, FleetSweepStorePort } from '#core/fleetSweep.js';
import type {
  BeginResult,
  ConsumerReport,
  DecidedBy,
  DecisionAnswer,
  EscalationKind,
  LeakReportRecord,
  LedgerPort,
  LockResult,
  RefusedReport,
  RotationLock,
  RotationPatch,
  RotationRecord,
} from '#core/ports.js';
import type { ClientRegistration, ListRegistrationsOptions, RegistryPort } from '#core/registry.js';
import { ClientRegistryTable } from './ledger/ClientRegistryTable.js';
import { FingerprintIndex } from './ledger/FingerprintIndex.js';
import { FleetSweeps } from './ledger/FleetSweeps.js';
import { LeakReports } from './ledger/LeakReports.js';
import { LockTable } from './ledger/LockTable.js';
import type { LedgerTableProps } from './ledger/ledgerTable.js';
import { RotationRecords } from './ledger/RotationRecords.js';
import { RotationWrites } from './ledger/RotationWrites.js';

export { FLEET_PK, FLEET_SWEEP_SK } from './ledger/FleetSweeps.js';
export {
  BY_STARTED_AT_INDEX,
  FINGERPRINT_PK_PREFIX,
  FINGERPRINT_SK,
  LEAK_EVENT_SK_PREFIX,
  LEAK_REPORT_RETENTION_DAYS,
  LEAK_SK_PREFIX,
  LOCK_SK,
  ledgerTableDefinition,
  REGISTRY_CLIENT_PREFIX,
  REGISTRY_NAME_PREFIX,
  REGISTRY_PK,
  ROTATION_SK_PREFIX,
} from './ledger/ledgerTable.js';

/** Props of {@link DynamoLedger}: the document client and the table, as every ledger concern takes them. */
export type DynamoLedgerProps = LedgerTableProps;

/**
 * {@link LedgerPort} and {@link RegistryPort} over one DynamoDB table: the composition of the
 * ledger's concerns, each usable alone over the same table (`./ledger/`):
 *
 * - {@link LockTable}: the per-client lock (`sk=LOCK`);
 * - {@link RotationRecords}: the rotation records (`sk=ROTATION#<id>`, the `byStartedAt` LSI), with
 *   the consumer reports, the wait's decision, escalations and refused reports;
 * - {@link LeakReports}: accepted leak reports (`sk=LEAK#…`) and their guards (`sk=LEAKEVENT#…`);
 * - {@link ClientRegistryTable}: the run-time clients (`pk=REGISTRY#`);
 * - {@link FingerprintIndex}: the fingerprints of managed secrets (`pk=FINGERPRINT#<hex>`);
 * - {@link FleetSweeps}: the last hourly fleet sweep (`pk=FLEET#, sk=SWEEP`);
 * - {@link RotationWrites}: the steps' writes of the lock, the record and the index together, each
 *   one transaction (the same conditions), falling back to the separate writes when it is cancelled.
 *
 * Every write two actors could race on is a single conditional write in its concern (or a
 * transaction of those very writes), so the ledger is race-free. Reads after a conditional
 * failure are strongly consistent.
 */
export class DynamoLedger implements LedgerPort, RegistryPort, FleetSweepStorePort {
  readonly #locks: LockTable;
  readonly #rotations: RotationRecords;
  readonly #leaks: LeakReports;
  readonly #registry: ClientRegistryTable;
  readonly #fingerprints: FingerprintIndex;
  readonly #sweeps: FleetSweeps;
  readonly #writes: RotationWrites;

  public constructor(props: DynamoLedgerProps) {
    this.#locks = new LockTable(props);
    this.#rotations = new RotationRecords(props);
    this.#leaks = new LeakReports(props);
    this.#registry = new ClientRegistryTable(props);
    this.#fingerprints = new FingerprintIndex(props);
    this.#sweeps = new FleetSweeps(props);
    this.#writes = new RotationWrites(props);
  }

  /** See {@link LockTable.acquireLock}. */
  public acquireLock(lock: RotationLock, now: Date): Promise<LockResult> {
    return this.#locks.acquireLock(lock, now);
  }

  /** See {@link LockTable.takeOverLock}. */
  public takeOverLock(lock: RotationLock, staleRotationId: string): Promise<boolean> {
    return this.#locks.takeOverLock(lock, staleRotationId);
  }

  public releaseLock(clientId: string, rotationId: string): Promise<void> {
    return this.#locks.releaseLock(clientId, rotationId);
  }

  public getLock(clientId: string): Promise<RotationLock | null> {
    return this.#locks.getLock(clientId);
  }

  /** See {@link RotationRecords.createRotation}. */
  public createRotation(record: RotationRecord): Promise<RotationRecord> {
    return this.#rotations.createRotation(record);
  }

  public getRotation(clientId: string, rotationId: string): Promise<RotationRecord | null> {
    return this.#rotations.getRotation(clientId, rotationId);
  }

  /** See {@link RotationRecords.updateRotation}. */
  public updateRotation(clientId: string, rotationId: string, patch: RotationPatch): Promise<RotationRecord> {
    return this.#rotations.updateRotation(clientId, rotationId, patch);
  }

  /** See {@link RotationWrites.beginRotation}. */
  public beginRotation(
    lock: RotationLock,
    record: RotationRecord,
    entries: readonly FingerprintEntry[],
    now: Date,
  ): Promise<BeginResult> {
    return this.#writes.beginRotation(lock, record, entries, now);
  }

  /** See {@link RotationWrites.recordStep}. */
  public recordStep(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<void> {
    return this.#writes.recordStep(clientId, rotationId, patch, entries);
  }

  /** See {@link RotationWrites.recordStepAndClaim}. */
  public recordStepAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
    decidedAt: string,
    answer: DecisionAnswer,
  ): Promise<boolean> {
    return this.#writes.recordStepAndClaim(clientId, rotationId, patch, entries, decidedAt, answer);
  }

  /** See {@link RotationWrites.endRotation}. */
  public endRotation(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<RotationRecord | null> {
    return this.#writes.endRotation(clientId, rotationId, patch, entries);
  }

  /** See {@link RotationRecords.recordReport}. */
  public recordReport(
    clientId: string,
    rotationId: string,
    consumer: string,
    report: ConsumerReport,
  ): Promise<RotationRecord | null> {
    return this.#rotations.recordReport(clientId, rotationId, consumer, report);
  }

  /** See {@link RotationRecords.recordRefusedReport}. */
  public recordRefusedReport(clientId: string, rotationId: string, refused: RefusedReport): Promise<boolean> {
    return this.#rotations.recordRefusedReport(clientId, rotationId, refused);
  }

  /** See {@link RotationRecords.claimDecision}. */
  public claimDecision(
    clientId: string,
    rotationId: string,
    decidedAt: string,
    answer: DecisionAnswer,
    decidedBy?: DecidedBy,
  ): Promise<boolean> {
    return this.#rotations.claimDecision(clientId, rotationId, decidedAt, answer, decidedBy);
  }

  /** See {@link RotationRecords.keepTokenAndClaim}. */
  public keepTokenAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    decidedAt: string,
    answer: DecisionAnswer,
  ): Promise<boolean> {
    return this.#rotations.keepTokenAndClaim(clientId, rotationId, patch, decidedAt, answer);
  }

  /** See {@link RotationRecords.markAnswered}. */
  public markAnswered(clientId: string, rotationId: string, answeredAt: string): Promise<void> {
    return this.#rotations.markAnswered(clientId, rotationId, answeredAt);
  }

  /** See {@link RotationRecords.escalateRotation}. */
  public escalateRotation(
    clientId: string,
    rotationId: string,
    kind: EscalationKind,
    at: string,
  ): Promise<RotationRecord | null> {
    return this.#rotations.escalateRotation(clientId, rotationId, kind, at);
  }

  /** See {@link RotationRecords.listRotations}. */
  public listRotations(clientId: string, limit: number): Promise<readonly RotationRecord[]> {
    return this.#rotations.listRotations(clientId, limit);
  }

  /** See {@link RotationRecords.listFleetRunRotations}. */
  public listFleetRunRotations(fleetRun: string): Promise<readonly FleetRotationSummary[]> {
    return this.#rotations.listFleetRunRotations(fleetRun);
  }

  /** See {@link LeakReports.recordLeakReport}. */
  public recordLeakReport(report: LeakReportRecord): Promise<boolean> {
    return this.#leaks.recordLeakReport(report);
  }

  /** See {@link LeakReports.listLeakReports}. */
  public listLeakReports(clientId: string, limit: number): Promise<readonly LeakReportRecord[]> {
    return this.#leaks.listLeakReports(clientId, limit);
  }

  /** See {@link ClientRegistryTable.putRegistration}. */
  public putRegistration(registration: ClientRegistration): Promise<ClientRegistration> {
    return this.#registry.putRegistration(registration);
  }

  /** See {@link ClientRegistryTable.replaceRegistration}. */
  public replaceRegistration(registration: ClientRegistration, previousName?: string): Promise<void> {
    return this.#registry.replaceRegistration(registration, previousName);
  }

  /** See {@link ClientRegistryTable.removeRegistration}. */
  public removeRegistration(registration: Pick<ClientRegistration, 'name' | 'clientId'>): Promise<void> {
    return this.#registry.removeRegistration(registration);
  }

  public findRegistrationByName(name: string): Promise<ClientRegistration | null> {
    return this.#registry.findRegistrationByName(name);
  }

  public getRegistration(clientId: string): Promise<ClientRegistration | null> {
    return this.#registry.getRegistration(clientId);
  }

  public listRegistrations(options?: ListRegistrationsOptions): Promise<readonly ClientRegistration[]> {
    return this.#registry.listRegistrations(options);
  }

  /** See {@link FingerprintIndex.putFingerprint}. */
  public putFingerprint(entry: FingerprintEntry): Promise<void> {
    return this.#fingerprints.putFingerprint(entry);
  }

  public findFingerprint(fingerprint: string): Promise<FingerprintEntry | null> {
    return this.#fingerprints.findFingerprint(fingerprint);
  }

  /** See {@link FleetSweeps.putFleetSweep}. */
  public putFleetSweep(record: FleetSweepRecord): Promise<boolean> {
    return this.#sweeps.putFleetSweep(record);
  }

  /** See {@link FleetSweeps.getFleetSweep}. */
  public getFleetSweep(): Promise<FleetSweepRecord | null> {
    return this.#sweeps.getFleetSweep();
  }
}
