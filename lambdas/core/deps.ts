import type { FingerprintPort } from './fingerprint.js';
import type { ClientKind, Trigger } from './model.js';
import type { ClientPolicy } from './policy.js';
import type {
  Clock,
  EventBusPort,
  ExecutionStatusPort,
  LedgerPort,
  SecretStorePort,
  StytchPort,
  TaskCallbackPort,
} from './ports.js';
import type { WorkflowInput } from './workflow.js';

/** A managed client as the workflow uses it: its kind and policy (from its registration). */
export interface ManagedClientSettings {
  readonly kind: ClientKind;
  readonly policy: ClientPolicy;
}

/** The managed clients the rotator may rotate, by client id. */
export interface ClientDirectory {
  find(clientId: string): Promise<ManagedClientSettings | undefined>;
  /** Every managed client id (the leak intake matches an unindexed fingerprint against them). */
  ids(): Promise<readonly string[]>;
}

/** Minimal structured logger (Powertools' Logger satisfies it). */
export interface StepLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/** How a rotation ended, as metrics count it. */
export type RotationOutcomeKind = 'completed' | 'cancelled' | 'failed';

/**
 * The rotator's metrics (EMF through Powertools in a Lambda; captured in the sandbox and tests).
 * Dimensions are low-cardinality on purpose: trigger and outcome, never a client id.
 */
export interface RotationMetricsPort {
  /** A rotation ended: its outcome and why, its trigger, how long it ran. */
  rotationEnded(metric: {
    readonly trigger: Trigger;
    readonly outcome: RotationOutcomeKind;
    readonly reason: string;
    readonly durationMs: number;
  }): void;
  /** The first consumer report of a rotation arrived `afterMs` after its pending secret was stored. */
  firstConsumerReport(metric: { readonly trigger: Trigger; readonly afterMs: number }): void;
}

/** Starts the rotation workflow (Step Functions StartExecution); the leak intake's way in. */
export interface WorkflowStarterPort {
  /**
   * Starts an execution named `name`. Starting the same name again (a redelivered event) starts
   * nothing new and reports `alreadyStarted`.
   */
  start(name: string, input: WorkflowInput): Promise<{ executionArn: string; alreadyStarted: boolean }>;
}

/** Everything a step may touch, injected. */
export interface StepDeps {
  readonly stytch: StytchPort;
  readonly secrets: SecretStorePort;
  readonly ledger: LedgerPort;
  readonly events: EventBusPort;
  readonly callbacks: TaskCallbackPort;
  readonly clock: Clock;
  readonly clients: ClientDirectory;
  readonly logger: StepLogger;
  /** Fingerprints of secrets under the deployment's key (the ledger keeps them, never the secrets). */
  readonly fingerprints: FingerprintPort;
  readonly metrics: RotationMetricsPort;
  readonly workflow: WorkflowStarterPort;
  /** Whether a lock's holder is still running (a stopped or failed execution leaves its lock behind). */
  readonly executions: ExecutionStatusPort;
}

/** A lock outlives the rotation's deadline by this much, so a crashed rotation frees its client. */
export const LOCK_GRACE_SECONDS = 3600;
