import { RotatorError } from './errors.js';

/**
 * Errors of the rotation steps. Their `name`s are what the state machine's Retry/Catch match:
 * retryable ones are retried with backoff, permanent ones go straight to the cancel path.
 */

/** Stytch already has a rotation pending for this client. */
export class AlreadyRotatingError extends RotatorError {
  public constructor(clientId: string, options: ErrorOptions = {}) {
    super(`Stytch already has a secret rotation pending for client ${clientId}`, options);
    this.name = 'AlreadyRotatingError';
  }
}

/** Stytch has no rotation pending for this client. */
export class NotRotatingError extends RotatorError {
  public constructor(clientId: string, options: ErrorOptions = {}) {
    super(`Stytch has no secret rotation pending for client ${clientId}`, options);
    this.name = 'NotRotatingError';
  }
}

/** Another rotation of the same client holds the lock. Permanent: one rotation per client. */
export class RotationInProgressError extends RotatorError {
  public readonly clientId: string;
  public readonly heldBy: string;

  public constructor(clientId: string, heldBy: string) {
    super(`Rotation ${heldBy} of client ${clientId} is still in progress; one rotation per client at a time`);
    this.name = 'RotationInProgressError';
    this.clientId = clientId;
    this.heldBy = heldBy;
  }
}

/** The new secret was stored but does not mint a verifiable token. Permanent: cancel. */
export class SelfTestFailedError extends RotatorError {
  public constructor(clientId: string, lastFour: string, options: ErrorOptions = {}) {
    super(`The pending secret …${lastFour} of client ${clientId} failed its self-test`, options);
    this.name = 'SelfTestFailedError';
  }
}

/** Stytch and Secrets Manager disagree in a way no step can repair alone. Permanent. */
export class InconsistentStateError extends RotatorError {
  public constructor(message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = 'InconsistentStateError';
  }
}

/** Input that does not match its schema. Permanent. */
export class InvalidInputError extends RotatorError {
  public readonly issues: readonly string[];

  public constructor(what: string, issues: readonly string[]) {
    super(`Invalid ${what}: ${issues.join('; ')}`);
    this.name = 'InvalidInputError';
    this.issues = issues;
  }
}

/** The client is not managed by this deployment. Permanent. */
export class UnknownClientError extends RotatorError {
  public constructor(clientId: string) {
    super(`Client ${clientId} is not managed by this deployment (not in the deployment config)`);
    this.name = 'UnknownClientError';
  }
}

/** The client's secret has no AWSCURRENT value in the rotator's format yet. Permanent. */
export class NotEnrolledError extends RotatorError {
  public constructor(clientId: string, secretId: string) {
    super(`Client ${clientId} is not enrolled: secret ${secretId} has no valid AWSCURRENT value`);
    this.name = 'NotEnrolledError';
  }
}

/** After completion Stytch still accepts the previous secret. Retryable: Stytch may lag. */
export class OldSecretStillValidError extends RotatorError {
  public constructor(clientId: string, lastFour: string) {
    super(`Stytch still accepts the previous secret …${lastFour} of client ${clientId} after completion`, {
      retryable: true,
    });
    this.name = 'OldSecretStillValidError';
  }
}

/**
 * After the moves of the reconciliation rule the client is still not consistent. Retryable:
 * Stytch may be slow to show a change, or another actor moved meanwhile; the next look decides.
 */
export class RepairIncompleteError extends RotatorError {
  public constructor(clientId: string, finding: string) {
    super(`Client ${clientId} is not yet consistent after repair: ${finding}`, { retryable: true });
    this.name = 'RepairIncompleteError';
  }
}

/**
 * AWSCURRENT already moved to the new secret, but completing at Stytch (or proving the old secret
 * dead) has not succeeded yet. Forward-only: the state machine retries it under this name for
 * hours and never sends it to the cancel path (cancelling would revoke what readers use).
 */
export class CompletionPendingError extends RotatorError {
  public constructor(clientId: string, cause: unknown) {
    super(
      `Client ${clientId}: AWSCURRENT holds the new secret; completing at Stytch has not succeeded yet (${
        cause instanceof Error ? `${cause.name}: ${cause.message}` : 'unknown error'
      })`,
      { cause, retryable: true },
    );
    this.name = 'CompletionPendingError';
  }
}

/**
 * The client needs an operator: AWSCURRENT does not authenticate and no stored secret does
 * (`rotator repair` explains; a rotation issues a fresh secret). Permanent.
 */
export class NeedsOperatorError extends RotatorError {
  public constructor(clientId: string, finding: string) {
    super(`Client ${clientId} needs an operator: ${finding}`);
    this.name = 'NeedsOperatorError';
  }
}

/**
 * A leak rotation found the client's lock held by a rotation that still runs. Retryable: a leak is
 * never dropped; the holder ends soon (the leak intake escalates it) and the lock frees.
 */
export class LeakWaitingForLockError extends RotatorError {
  public constructor(clientId: string, heldBy: string) {
    super(`Leak rotation of client ${clientId} waits for rotation ${heldBy} to end`, { retryable: true });
    this.name = 'LeakWaitingForLockError';
  }
}
