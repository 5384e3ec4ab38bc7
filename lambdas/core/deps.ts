import type { ClientKind } from './model.js';
import type { ClientPolicy } from './policy.js';
import type {
  Clock,
  EventBusPort,
  LedgerPort,
  SecretStorePort,
  StytchPort,
  TaskCallbackPort,
} from './ports.js';

/** A managed client as the deployment config declares it. */
export interface ManagedClientSettings {
  readonly kind: ClientKind;
  readonly policy: ClientPolicy;
}

/** The managed clients the rotator may rotate, by client id. */
export interface ClientDirectory {
  find(clientId: string): ManagedClientSettings | undefined;
}

/** Minimal structured logger (Powertools' Logger satisfies it). */
export interface StepLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
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
}

/** A lock outlives the rotation's deadline by this much, so a crashed rotation frees its client. */
export const LOCK_GRACE_SECONDS = 3600;
