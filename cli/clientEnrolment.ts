import type { AwsClients } from '#adapters/aws/awsClients.js';
import { budgetedSecretsManagerWrites } from '#adapters/aws/clients/budgetedWrites.js';
import type { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SchedulerSchedules } from '#adapters/aws/SchedulerSchedules.js';
import type { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import type { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { type StytchClient, StytchNetworkError, StytchTimeoutError } from '#adapters/stytch/index.js';
import { fingerprintEntry } from '#core/fingerprintedSecrets.js';
import type { ClientRef } from '#core/ports.js';
import {
  BUDGET_NAMES,
  DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND,
  DEFAULT_STYTCH_REQUESTS_PER_SECOND,
  PER_SECOND_PROBLEM,
  parsePerSecond,
  RateBudget,
  rateBudgetLimits,
} from '#core/rateBudget.js';
import { rotationScheduleName, scheduledRotationInput } from '#core/registry.js';
import type { Secret } from '#core/secret.js';
import { CliError } from './errors.js';
import type { CliIo } from './io.js';
import {
  optionalResource,
  RESOURCES,
  type ResourceFlags,
  type ResourceName,
  usageError,
} from './resources.js';

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
  'stytchRequestsPerSecond',
  'secretsManagerWritesPerSecond',
] as const satisfies readonly ResourceName[];

/**
 * An enrolling command waits for budget in the process (it is no Lambda with a timeout), for up to
 * a minute per call: far more than a window of one second.
 */
const CLI_MAX_BUDGET_WAIT_MS = 60_000;

/** The deployment's shared budgets as an enrolling command takes from them, and its clients made to. */
export interface CliBudget {
  readonly budget: RateBudget;
  /** `aws.secretsManager` with every write taking from the write budget first. */
  readonly secretsManager: AwsClients['secretsManager'];
}

/**
 * The budgets the functions keep (core/rateBudget.ts), shared through the ledger table: their sizes
 * come from the stack's outputs (or the flags, or the variables); the defaults are the deployment
 * config's.
 */
export function cliBudget(aws: AwsClients, table: string, flags: ResourceFlags, io: CliIo): CliBudget {
  const perSecond = (name: 'stytchRequestsPerSecond' | 'secretsManagerWritesPerSecond', fallback: number) => {
    const text = optionalResource(name, flags, io);
    if (text === undefined) return fallback;
    const value = parsePerSecond(text);
    if (value === null) throw usageError(`${RESOURCES[name].flag} ${PER_SECOND_PROBLEM}`);
    return value;
  };
  const budget = new RateBudget({
    store: aws.rateBudgetStore(table),
    limits: rateBudgetLimits({
      stytchRequestsPerSecond: perSecond('stytchRequestsPerSecond', DEFAULT_STYTCH_REQUESTS_PER_SECOND),
      secretsManagerWritesPerSecond: perSecond(
        'secretsManagerWritesPerSecond',
        DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND,
      ),
    }),
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    maxInlineWaitMs: CLI_MAX_BUDGET_WAIT_MS,
  });
  return {
    budget,
    secretsManager: budgetedSecretsManagerWrites(aws.secretsManager, () =>
      budget.acquire(BUDGET_NAMES.secretsManagerWrites),
    ),
  };
}

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
