import type { RotatorEvent } from './events.js';
import type { FingerprintEntry, FingerprintIndexPort } from './fingerprint.js';
import type { ClientKind } from './model.js';
import type { Secret } from './secret.js';

/**
 * The narrow interfaces the rotation steps need from the outside world. Adapters implement them
 * over Stytch, Secrets Manager, DynamoDB and EventBridge; unit tests implement them in memory.
 */

/** A managed client as the steps address it. */
export interface ClientRef {
  readonly clientId: string;
  readonly kind: ClientKind;
}

/** What Stytch says about a client's secrets (never the secrets themselves). */
export interface StytchSecretState {
  readonly currentLastFour: string;
  /** Null when no rotation is pending at Stytch. */
  readonly nextLastFour: string | null;
}

/**
 * Stytch, as the rotation sees it. Implementations translate Stytch's rotation-state errors into
 * {@link AlreadyRotatingError} and {@link NotRotatingError} (see `./rotationErrors.ts`).
 */
export interface StytchPort {
  /** rotate/start: returns the one-time next secret. */
  startRotation(
    client: ClientRef,
  ): Promise<{ readonly nextSecret: Secret; readonly state: StytchSecretState }>;
  /** rotate (complete): the next secret becomes the only valid one. */
  completeRotation(client: ClientRef): Promise<StytchSecretState>;
  /** rotate/cancel: the next secret stops working. */
  cancelRotation(client: ClientRef): Promise<StytchSecretState>;
  getSecretState(client: ClientRef): Promise<StytchSecretState>;
  /**
   * Proves a just-issued `secret` works: mints a token with it and verifies the token against the
   * project's JWKS. A refusal or a failed verification is re-checked for a bounded consistency
   * grace (Stytch may take a moment to apply a rotation) before it throws; a retryable failure is
   * thrown as it is.
   */
  selfTest(client: ClientRef, secret: Secret): Promise<void>;
  /**
   * Used to prove a just-replaced `secret` is dead: false as soon as the token endpoint refuses it
   * (any client-authentication refusal, not only `invalid_client`); true only if it is still
   * accepted when a bounded consistency grace has passed.
   */
  authenticates(client: ClientRef, secret: Secret): Promise<boolean>;
}

/** The JSON a managed secret holds; `clientSecret` is the only secret part. */
export interface ManagedSecretValue {
  readonly projectId: string;
  readonly clientId: string;
  readonly clientSecret: Secret;
  readonly tokenUrl: string;
}

/**
 * A value as {@link SecretStorePort.read} found it: the version it was read from and the labels
 * that version carried then (what GetSecretValue answers beside the value, so a step that reads a
 * label needs no DescribeSecret to learn which version holds it).
 */
export interface StoredSecretValue extends ManagedSecretValue {
  readonly versionId: string;
  readonly versionStages: readonly string[];
}

/** The standard staging labels, as AWS's native rotation uses them. */
export type VersionStage = 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS';

/** Which versions carry the standard staging labels. */
export interface SecretVersions {
  readonly currentVersionId: string | null;
  readonly pendingVersionId: string | null;
  readonly previousVersionId: string | null;
}

/** The holders of AWSCURRENT and AWSPENDING, as the caller read them in this step with nothing moved since. */
export type KnownLabels = Pick<SecretVersions, 'currentVersionId' | 'pendingVersionId'>;

/** How a caller asks for a change of a secret's versions. */
export interface SecretChangeOptions {
  /**
   * The caller writes the fingerprint index entries of this change itself, in its own ledger
   * write (e.g. with the rotation record): a store that indexes what it changes
   * (`fingerprintedSecrets`) then leaves them to it.
   */
  readonly indexedByCaller?: boolean;
}

/** Options of {@link SecretStorePort.putPending}. */
export interface PutPendingOptions extends SecretChangeOptions {
  /**
   * The label holders the caller read in this step with nothing moved since (it spares a read). A
   * version that holds no label may still exist: the store still finds that out.
   */
  readonly known?: KnownLabels;
}

/** Secrets Manager, as the rotation sees it: one secret per managed client. */
export interface SecretStorePort {
  /** The secret's name or ARN for a client (what consumers read). */
  secretIdOf(client: ClientRef): string;
  versions(client: ClientRef): Promise<SecretVersions>;
  /** Reads the version with `stage` (and says which version that is), or null when no version carries it. */
  read(client: ClientRef, stage: VersionStage): Promise<StoredSecretValue | null>;
  /** Stores `value` as version `versionId` labelled AWSPENDING; a retry with the same id is a no-op. */
  putPending(
    client: ClientRef,
    versionId: string,
    value: ManagedSecretValue,
    options?: PutPendingOptions,
  ): Promise<void>;
  /**
   * Moves AWSCURRENT to `versionId` (AWSPREVIOUS follows) and removes AWSPENDING from it. `known`:
   * the label holders the caller read in this step with nothing moved since (it spares a read).
   */
  promotePending(
    client: ClientRef,
    versionId: string,
    known?: KnownLabels,
    options?: SecretChangeOptions,
  ): Promise<void>;
  /** Removes AWSPENDING from `versionId`; nothing to do when it is not there. */
  removePending(client: ClientRef, versionId: string): Promise<void>;
}

/** Publishes validated events to the rotator's bus. */
export interface EventBusPort {
  /** Resolves once every event is on the bus (with whatever the bus says of them, e.g. event ids; steps ignore it). */
  publish(...events: RotatorEvent[]): Promise<unknown>;
}

/** The time, injected so tests control deadlines and durations. */
export interface Clock {
  now(): Date;
}

/** Where a rotation is in its life; terminal states never change again. */
export const ROTATION_STATUSES = ['started', 'pending', 'completed', 'cancelled', 'failed'] as const;
export type RotationStatus = (typeof ROTATION_STATUSES)[number];

/** One consumer's report on the pending secret. */
export interface ConsumerReport {
  readonly healthy: boolean;
  readonly detail?: string;
  readonly reportedAt: string;
}

/**
 * A health report the aggregator refused because its sender may not speak for the consumer it
 * named: the envelope `source` was another consumer's, or no consumer's at all. Kept on the
 * rotation for the responder; never counted.
 */
export interface RefusedReport {
  /** The consumer the report claimed to be (a valid consumer name). */
  readonly claimed: string;
  /** The envelope `source` it came with, bounded and scrubbed (`boundedSource` in events.ts). */
  readonly source: string;
  /** What it said: a forged healthy report would have completed the rotation, an unhealthy one cancelled it. */
  readonly healthy: boolean;
  /** When the aggregator refused it (ISO). */
  readonly at: string;
}

/** How many refused reports a rotation record keeps: the latest ones (the count says how many came). */
export const MAX_REFUSED_REPORTS = 20;

/** The ledger's item for one rotation: the audit trail (who, why, when, what each consumer said). */
export interface RotationRecord {
  readonly clientId: string;
  readonly rotationId: string;
  readonly clientKind: ClientKind;
  readonly trigger: 'schedule' | 'leak' | 'manual';
  readonly reason?: string;
  readonly requestedBy?: string;
  /** The fleet run that started it, if one did: the ledger's byFleetRun index counts a run's progress by it. */
  readonly fleetRun?: string;
  readonly executionId: string;
  readonly status: RotationStatus;
  /** ISO timestamps per step, e.g. `{ started, pending, awaiting, completed }`. */
  readonly steps: Readonly<Record<string, string>>;
  readonly deadline?: string;
  readonly pendingVersionId?: string;
  readonly pendingLastFour?: string;
  readonly previousLastFour?: string;
  readonly expectedConsumers: readonly string[];
  readonly reports: Readonly<Record<string, ConsumerReport>>;
  /** The AwaitConsumers task token, once the workflow waits. */
  readonly taskToken?: string;
  /** Set once, by whoever first decides the wait (the aggregator or the waiter): makes the decision race-free. */
  readonly decidedAt?: string;
  /** The answer the decider owes the waiting task, kept with the claim so anyone can send it if it died. */
  readonly decision?: DecisionAnswer;
  /**
   * `waiter` when the waiting step itself (AwaitConsumers) claimed the decision: it sends the answer,
   * and Step Functions retries it until it has (or the task fails), so nobody else sends it and no
   * `answeredAt` is kept. Absent when a report, a leak or an operator claimed it.
   */
  readonly decidedBy?: DecidedBy;
  /**
   * When the task was sent its answer (absent: the decider may have died between claim and send,
   * or the waiter decided: see `decidedBy`).
   */
  readonly answeredAt?: string;
  readonly outcomeReason?: string;
  readonly error?: { readonly name: string; readonly message: string };
  /** When a leak of the current secret asked this rotation to complete at once (preemption). */
  readonly escalatedComplete?: string;
  /** When a leak of this rotation's pending secret asked it to cancel (a new leak rotation follows). */
  readonly escalatedCancel?: string;
  /** The latest {@link MAX_REFUSED_REPORTS} refused health reports, oldest first (absent: none). */
  readonly refusedReports?: readonly RefusedReport[];
  /** How many health reports were refused in all (the list keeps only the latest). */
  readonly refusedReportCount?: number;
}

/** The callback a decided wait is answered with (SendTaskSuccess or SendTaskFailure). */
export type DecisionAnswer =
  | { readonly kind: 'succeed'; readonly reason: string }
  | { readonly kind: 'fail'; readonly error: string; readonly cause: string };

/** Who claimed a decision, when it matters to the others (see {@link RotationRecord.decidedBy}). */
export type DecidedBy = 'waiter';

/** What a leak asks of the rotation in progress: complete it now, or cancel it. */
export type EscalationKind = 'complete' | 'cancel';

/** The fields a step may change on a rotation record. */
export type RotationPatch = Partial<
  Pick<
    RotationRecord,
    | 'status'
    | 'deadline'
    | 'pendingVersionId'
    | 'pendingLastFour'
    | 'previousLastFour'
    | 'taskToken'
    | 'outcomeReason'
    | 'error'
  >
> & {
  /** Step timestamps to add (merged into `steps`). */
  readonly steps?: Readonly<Record<string, string>>;
};

/** The per-client lock: who holds it and until when (a crashed rotation's lock expires). */
export interface RotationLock {
  readonly clientId: string;
  readonly rotationId: string;
  readonly expiresAt: string;
  /** The execution holding it, so a lock whose execution is no longer running can be recovered. */
  readonly executionId?: string;
}

/** The outcome of asking for the lock. */
export type LockResult =
  | { readonly acquired: true }
  | { readonly acquired: false; readonly heldBy: RotationLock };

/** The per-client lock: at most one rotation of a client at a time (a conditional write in the adapter). */
export interface LockPort {
  /**
   * Takes the client's lock for `rotationId` unless another unexpired rotation holds it. Taking
   * a lock already held by the same rotation succeeds (a retried step).
   */
  acquireLock(lock: RotationLock, now: Date): Promise<LockResult>;
  /**
   * Takes the client's lock for `lock.rotationId` only if `staleRotationId` still holds it (the
   * holder's execution has ended and its client was made whole); false if anyone else holds it now.
   */
  takeOverLock(lock: RotationLock, staleRotationId: string): Promise<boolean>;
  /** Releases the lock if `rotationId` holds it; otherwise does nothing. */
  releaseLock(clientId: string, rotationId: string): Promise<void>;
  getLock(clientId: string): Promise<RotationLock | null>;
}

/**
 * The rotation records: the audit trail of each rotation and the wait's race-free decision. Every
 * write that two actors could race on is a conditional write in the adapter; the contract says which.
 */
export interface RotationLedgerPort {
  /** Creates the record unless it exists; returns the stored record either way. */
  createRotation(record: RotationRecord): Promise<RotationRecord>;
  getRotation(clientId: string, rotationId: string): Promise<RotationRecord | null>;
  /** Applies `patch` and returns the new record; fails if the record does not exist. */
  updateRotation(clientId: string, rotationId: string, patch: RotationPatch): Promise<RotationRecord>;
  /**
   * Records one consumer's report atomically (concurrent reports of different consumers all
   * land) while the rotation is `started` (its pending secret stored) or `pending`; returns the
   * new record, or null when the rotation has ended (the report is then ignored).
   */
  recordReport(
    clientId: string,
    rotationId: string,
    consumer: string,
    report: ConsumerReport,
  ): Promise<RotationRecord | null>;
  /**
   * Marks the wait as decided if nobody has yet; true for exactly one caller, whoever comes
   * first, so the task token is answered once. `decidedBy` is kept with the claim.
   */
  claimDecision(
    clientId: string,
    rotationId: string,
    decidedAt: string,
    answer: DecisionAnswer,
    decidedBy?: DecidedBy,
  ): Promise<boolean>;
  /**
   * The waiting step's write when its own context decides the wait (no consumer expected):
   * {@link updateRotation} with `patch` and {@link claimDecision} of `answer` by the waiter, as one
   * conditional write, made only while the record is live (`started` or `pending`), expects no
   * consumer, carries no leak escalation and is not decided yet (so the record decides the wait
   * as the context does). False, with nothing written, otherwise (or when there is no record): the
   * caller then makes the separate writes.
   */
  keepTokenAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    decidedAt: string,
    answer: DecisionAnswer,
  ): Promise<boolean>;
  /** Records that the task was sent its answer (so nobody sends it again). */
  markAnswered(clientId: string, rotationId: string, answeredAt: string): Promise<void>;
  /**
   * Records a leak's escalation on a rotation still `started` or `pending` (the first time of
   * each kind is kept); returns the new record, or null when the rotation has ended or is absent.
   */
  escalateRotation(
    clientId: string,
    rotationId: string,
    kind: EscalationKind,
    at: string,
  ): Promise<RotationRecord | null>;
  /**
   * Appends a refused health report to the rotation's `refusedReports` (keeping the latest
   * {@link MAX_REFUSED_REPORTS}) and counts it, whatever the rotation's status, and never touches
   * `reports`: a conditional write, so concurrent refusals all land. False when there is no such
   * rotation (the refusal is then only logged).
   */
  recordRefusedReport(clientId: string, rotationId: string, refused: RefusedReport): Promise<boolean>;
  /** The client's rotations, newest first. */
  listRotations(clientId: string, limit: number): Promise<readonly RotationRecord[]>;
}

/** The accepted leak reports of each client, kept for the responder. */
export interface LeakReportLedgerPort {
  /**
   * Stores an accepted leak report once per `eventId`: a redelivered event adds nothing (the
   * first delivery's record is kept). True when this call stored it.
   */
  recordLeakReport(report: LeakReportRecord): Promise<boolean>;
  /** The client's leak reports, newest first (by `receivedAt`). */
  listLeakReports(clientId: string, limit: number): Promise<readonly LeakReportRecord[]>;
}

/** The outcome of {@link RotationWritesPort.beginRotation}. */
export type BeginResult =
  | { readonly acquired: true; readonly record: RotationRecord }
  | { readonly acquired: false; readonly heldBy: RotationLock };

/**
 * The writes of a rotation's steps that touch more than one item (the lock, the record, the
 * fingerprint index), each made as one write where the ledger can (all of it or none of it), so a
 * step pays one round trip where it would pay one per item. Each has the contract of the separate
 * writes it stands for, retries included.
 */
export interface RotationWritesPort {
  /**
   * {@link LockPort.acquireLock}, then {@link RotationLedgerPort.createRotation} of `record` and
   * {@link FingerprintIndexPort.putFingerprint} of each entry. When the lock is held by another
   * unexpired rotation nothing is written and the holder is returned. `record` is the stored one
   * when it existed already (a retried step).
   */
  beginRotation(
    lock: RotationLock,
    record: RotationRecord,
    entries: readonly FingerprintEntry[],
    now: Date,
  ): Promise<BeginResult>;
  /**
   * {@link RotationLedgerPort.updateRotation} with `patch` and the entries put, without returning the
   * record; fails if the record does not exist (and then writes no entry).
   */
  recordStep(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<void>;
  /**
   * {@link recordStep} and the waiter's claim of `answer` as one write (the step that stores the
   * pending secret of a rotation that expects no consumer decides the wait itself, so the workflow
   * keeps no task token for it), made only on {@link RotationLedgerPort.keepTokenAndClaim}'s
   * conditions. False, with nothing written, otherwise: the caller then makes {@link recordStep}.
   */
  recordStepAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
    decidedAt: string,
    answer: DecisionAnswer,
  ): Promise<boolean>;
  /**
   * Ends the rotation: {@link RotationLedgerPort.updateRotation} with `patch`, the entries put, and
   * {@link LockPort.releaseLock}. Returns the ended record when a leak had escalated it (the caller
   * must answer the leak: see preemption.ts) or when it had to be read back for another reason;
   * null only when it ended with no escalation on it.
   */
  endRotation(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<RotationRecord | null>;
}

/**
 * The DynamoDB ledger, as the rotation sees it: every concern above, and the fingerprint index,
 * over one table. Steps take the whole ledger; an adapter may implement each part on its own.
 */
export interface LedgerPort
  extends LockPort,
    RotationLedgerPort,
    RotationWritesPort,
    LeakReportLedgerPort,
    FingerprintIndexPort {}

/** Answers a waiting Step Functions task (SendTaskSuccess/SendTaskFailure). */
export interface TaskCallbackPort {
  succeed(taskToken: string, output: unknown): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/** The status of a Step Functions execution, as DescribeExecution reports it. */
export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

/** Reads the status of the workflow's executions (Step Functions DescribeExecution). */
export interface ExecutionStatusPort {
  /** The execution's status, or `null` when Step Functions does not know the execution. */
  status(executionArn: string): Promise<ExecutionStatus | null>;
}

/** What the leak intake did with an accepted report, as the ledger keeps it. */
export type LeakReportOutcome =
  | { readonly result: 'rotation_started'; readonly executionArn: string }
  | { readonly result: 'escalated'; readonly rotationId: string; readonly escalation: EscalationKind }
  | { readonly result: 'already_dead' }
  /**
   * The current secret was reported leaked again while a leak rotation of the client runs (the
   * one this event started, or another's): recorded, and nothing changed (no escalation, so the
   * consumers keep their window).
   */
  | { readonly result: 'leak_rotation_running'; readonly rotationId: string };

/**
 * The ledger's record of one accepted leak report (one naming a managed client): what was
 * reported, by whom, how the client was found, and what came of it. Outsider text (`source`,
 * `reference`) is stored scrubbed of the client's secrets; it is still untrusted when printed.
 */
export interface LeakReportRecord {
  readonly clientId: string;
  /** The `Secret Leak Detected` event's id: the report's idempotency key. */
  readonly eventId: string;
  /** When the intake received the report (ISO). */
  readonly receivedAt: string;
  readonly source: string;
  readonly reference?: string;
  /** By the client id the report named, or by the fingerprint of the leaked value. */
  readonly matchedBy: 'client_id' | 'fingerprint';
  /** The fingerprint's first 12 hex characters (never the whole fingerprint), when matched by it. */
  readonly fingerprintPrefix?: string;
  /** Where the leaked secret was when the report came: `dead` if a rotation had already revoked it. */
  readonly leaked: 'current' | 'pending' | 'dead';
  readonly outcome: LeakReportOutcome;
}
