/**
 * What one function of the rotator may do, as the IAM actions its code calls: the ledger's item
 * calls (lambdas/adapters/aws/DynamoLedger.ts: GetItem, PutItem, UpdateItem, DeleteItem, and Query
 * on the table for the registered clients; never Scan, never the index; a TransactWriteItems of
 * ledger/RotationWrites.ts is authorized as the PutItem, UpdateItem and DeleteItem it holds, and
 * the shared rate budgets' counters are UpdateItems), the managed secrets'
 * calls (SecretsManagerStore: DescribeSecret for the labels, GetSecretValue, PutSecretValue,
 * UpdateSecretVersionStage; never UpdateSecret), and which other secrets it reads.
 */
export interface FunctionAccess {
  /** Item calls on the ledger table. */
  readonly ledger: readonly string[];
  /** Publishes events (as {@link EVENT_SOURCES.rotator}, and only as that). */
  readonly publishes: boolean;
  /** Calls on the managed secrets (`<prefix>/*`). */
  readonly managedSecrets: readonly string[];
  /** Reads the Stytch project credentials: it talks to Stytch. */
  readonly stytchCredentials: boolean;
  /** Reads the fingerprint key: it fingerprints secrets (index writes, leak matching). */
  readonly fingerprintKey: boolean;
}

const GET = 'dynamodb:GetItem';
const PUT = 'dynamodb:PutItem';
const UPDATE = 'dynamodb:UpdateItem';
const DELETE = 'dynamodb:DeleteItem';
const QUERY = 'dynamodb:Query';
const DESCRIBE_SECRET = 'secretsmanager:DescribeSecret';
const READ_SECRET = 'secretsmanager:GetSecretValue';
const PUT_SECRET = 'secretsmanager:PutSecretValue';
const MOVE_LABEL = 'secretsmanager:UpdateSecretVersionStage';

/**
 * Each function's access, read off what its steps call (lambdas/core/steps/*, leakIntake.ts,
 * staleRotation.ts, reconcile.ts, decision.ts, fingerprintedSecrets.ts) through the adapters.
 * A registered client's settings are a ledger GetItem (`clients.find`); the leak intake also lists
 * them (`clients.ids`: a Query on the table).
 */
export const FUNCTION_ACCESS = {
  /** Lock (conditional put, takeover), rotation record, fingerprint index; the stale holder's cleanup (reconcile) too. */
  StartRotation: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, PUT_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
  /** Announces the pending secret; writes nothing (AwaitConsumers marks the rotation pending): no secret. */
  PublishPending: {
    ledger: [],
    publishes: true,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Stores the task token and answers it if the wait is already decided (decision.ts): no secret. */
  AwaitConsumers: {
    ledger: [GET, UPDATE],
    publishes: false,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Promotes AWSPENDING (labels, fingerprint index), completes at Stytch, proves the old secret dead. */
  CompleteRotation: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
  /** Drops AWSPENDING (or promotes it, reconcile.ts), cancels at Stytch. */
  CancelRotation: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
  /** Records the failure and announces it: no secret. */
  RecordFailure: {
    ledger: [GET, UPDATE],
    publishes: true,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Records a report and decides the wait (decision.ts): no secret, no event. */
  HealthAggregator: {
    ledger: [GET, UPDATE],
    publishes: false,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Matches a leak (fingerprint index, else every client's live secrets), records it, escalates or starts a rotation. */
  LeakIntake: {
    ledger: [GET, PUT, UPDATE, QUERY],
    publishes: false,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET],
    stytchCredentials: false,
    fingerprintKey: true,
  },
  /** What CompleteRotation or CancelRotation would have done for an execution that died (staleRotation.ts, reconcile.ts). */
  ExecutionReconciler: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
} as const satisfies Record<string, FunctionAccess>;

/** A function of {@link FUNCTION_ACCESS}. */
export type RotatorFunctionName = keyof typeof FUNCTION_ACCESS;
