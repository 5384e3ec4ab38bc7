import type { RotatorEvent } from './events.js';
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
  /** Mints a token with `secret` and verifies it against the project's JWKS; throws when either fails. */
  selfTest(client: ClientRef, secret: Secret): Promise<void>;
  /** Whether the token endpoint accepts `secret` now (false on `invalid_client`). */
  authenticates(client: ClientRef, secret: Secret): Promise<boolean>;
}

/** The JSON a managed secret holds; `clientSecret` is the only secret part. */
export interface ManagedSecretValue {
  readonly projectId: string;
  readonly clientId: string;
  readonly clientSecret: Secret;
  readonly tokenUrl: string;
}

/** Which versions carry the standard staging labels. */
export interface SecretVersions {
  readonly currentVersionId: string | null;
  readonly pendingVersionId: string | null;
  readonly previousVersionId: string | null;
}

/** Secrets Manager, as the rotation sees it: one secret per managed client. */
export interface SecretStorePort {
  /** The secret's name or ARN for a client (what consumers read). */
  secretIdOf(client: ClientRef): string;
  versions(client: ClientRef): Promise<SecretVersions>;
  /** Reads the version with `stage`, or null when no version carries it. */
  read(client: ClientRef, stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<ManagedSecretValue | null>;
  /** Stores `value` as version `versionId` labelled AWSPENDING; a retry with the same id is a no-op. */
  putPending(client: ClientRef, versionId: string, value: ManagedSecretValue): Promise<void>;
  /** Moves AWSCURRENT to `versionId` (AWSPREVIOUS follows) and removes AWSPENDING from it. */
  promotePending(client: ClientRef, versionId: string): Promise<void>;
  /** Removes AWSPENDING from `versionId`; nothing to do when it is not there. */
  removePending(client: ClientRef, versionId: string): Promise<void>;
}

/** Publishes validated events to the rotator's bus. */
export interface EventBusPort {
  publish(...events: RotatorEvent[]): Promise<void>;
}

/** The time, injected so tests control deadlines and durations. */
export interface Clock {
  now(): Date;
}
