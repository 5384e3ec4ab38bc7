import type { AwsClients } from '#adapters/aws/awsClients.js';
import type { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SchedulerSchedules } from '#adapters/aws/SchedulerSchedules.js';
import type { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import type { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { type StytchClient, StytchNetworkError, StytchTimeoutError } from '#adapters/stytch/index.js';
import { fingerprintEntry } from '#core/fingerprintedSecrets.js';
import type { ClientRef } from '#core/ports.js';
import { rotationScheduleName, scheduledRotationInput } from '#core/registry.js';
import type { Secret } from '#core/secret.js';
import { CliError } from './errors.js';
import type { CliIo } from './io.js';
import { optionalResource, type ResourceFlags, type ResourceName } from './resources.js';

/*
 * What `rotator register` and `rotator apply` both do to bring a client under rotation: keep its
 * secret in Secrets Manager with its fingerprint in the ledger, and give it a rotation schedule.
 */

/** The resources enrolling a client needs (`register`, `apply`): its secret, fingerprint, schedule, registration. */
export const ENROLMENT_RESOURCES = [
  'table',
  'secretPrefix',
  'fingerprintKeySecret',
  'stytchCredentialsSecret',
  'stytchBaseUrl',
  'kmsKey',
  'stateMachineArn',
  'scheduleGroup',
  'schedulerRoleArn',
  'deadLetterQueueArn',
] as const satisfies readonly ResourceName[];

/** What the rotator writes into a client's `trusted_metadata` at Stytch: the mark of a client it created. */
export const MANAGED_BY = { managed_by: 'stytch-m2m-rotator' } as const;

/** Where a client's rotation schedule goes and what it starts. */
export interface RotationScheduling {
  readonly stateMachineArn: string;
  /** The stack's registered-clients schedule group. */
  readonly group: string;
  /** The role Scheduler starts executions with. */
  readonly roleArn: string;
  /** Where a start that failed after Scheduler's retries goes (the stack's dead-letter queue). */
  readonly deadLetterQueueArn?: string;
}

/**
 * Runs `body`'s Stytch calls; a Stytch that cannot be reached is the user's setup (exit 2), named
 * as Stytch with its URL (the AWS wording of `withAws` would blame the wrong endpoint).
 */
export async function atStytch<T>(stytch: StytchClient, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof StytchNetworkError || error instanceof StytchTimeoutError) {
      const why = error instanceof StytchNetworkError ? (error.code ?? 'network error') : 'timed out';
      throw new CliError(
        `cannot reach Stytch at ${stytch.baseUrl} (${why}): is it running, is ROTATOR_STYTCH_BASE_URL (--stytch-base-url) right?`,
        { code: 'stytch_unreachable', cause: error },
      );
    }
    throw error;
  }
}

/** What storing a client's secret needs. */
export interface SecretEnrolment {
  readonly store: SecretsManagerStore;
  readonly ledger: Pick<DynamoLedger, 'putFingerprint'>;
  readonly fingerprints: SecretsManagerFingerprints;
  readonly projectId: string;
  readonly tokenUrl: string;
  readonly kmsKeyId?: string;
  readonly description: string;
}

/**
 * Stores `secret` as the client's AWSCURRENT secret (`<prefix>/<clientId>`, created or a new
 * version) and indexes its fingerprint, so a leak report finds the client from that moment.
 * @returns the version id that holds it
 */
export async function storeCurrentSecret(
  enrolment: SecretEnrolment,
  client: ClientRef,
  secret: Secret,
): Promise<string> {
  const versionId = await enrolment.store.createCurrent(
    client,
    {
      projectId: enrolment.projectId,
      clientId: client.clientId,
      clientSecret: secret,
      tokenUrl: enrolment.tokenUrl,
    },
    {
      description: enrolment.description,
      ...(enrolment.kmsKeyId === undefined ? {} : { kmsKeyId: enrolment.kmsKeyId }),
    },
  );
  await indexCurrentSecret(enrolment, client, secret, versionId);
  return versionId;
}

/** Indexes the fingerprint of the client's current secret (idempotent: one entry per version). */
export async function indexCurrentSecret(
  enrolment: Pick<SecretEnrolment, 'ledger' | 'fingerprints'>,
  client: ClientRef,
  secret: Secret,
  versionId: string,
): Promise<void> {
  await enrolment.ledger.putFingerprint(
    await fingerprintEntry(enrolment.fingerprints, client, secret, versionId, 'current', new Date()),
  );
}

/** The stack's dead-letter queue for the schedules, when known (flag, environment or stack output). */
export function optionalDeadLetterQueue(
  flags: ResourceFlags,
  io: CliIo,
): { readonly deadLetterQueueArn?: string } {
  const arn = optionalResource('deadLetterQueueArn', flags, io);
  return arn === undefined ? {} : { deadLetterQueueArn: arn };
}

/** Creates or replaces the client's rotation schedule (the name is the client's: a re-run converges). */
export async function putRotationSchedule(
  scheduler: AwsClients['scheduler'],
  clientId: string,
  schedule: {
    readonly expression: string;
    readonly timeZone: string;
    readonly flexibleWindowMinutes?: number;
  },
  scheduling: RotationScheduling,
): Promise<string> {
  const name = rotationScheduleName(clientId);
  await new SchedulerSchedules({ client: scheduler }).putRotationSchedule({
    name,
    group: scheduling.group,
    description: `Scheduled rotation of ${clientId}`,
    expression: schedule.expression,
    timeZone: schedule.timeZone,
    ...(schedule.flexibleWindowMinutes === undefined
      ? {}
      : { flexibleWindowMinutes: schedule.flexibleWindowMinutes }),
    stateMachineArn: scheduling.stateMachineArn,
    roleArn: scheduling.roleArn,
    ...(scheduling.deadLetterQueueArn === undefined
      ? {}
      : { deadLetterQueueArn: scheduling.deadLetterQueueArn }),
    input: scheduledRotationInput(clientId),
  });
  return name;
}
