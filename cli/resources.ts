import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { type AwsClientSettings, AwsClients } from '#adapters/aws/awsClients.js';
import { SecretPrefixSchema } from '#core/model.js';
import { CliError, setupError } from './errors.js';
import type { CliIo } from './io.js';

/**
 * Where the rotator's AWS resources are, and the AWS clients (an adapter, ../lambdas/adapters/aws/
 * awsClients.ts) to reach them. Each resource comes from its flag, else its environment variable,
 * else (with `--stack` / ROTATOR_STACK_NAME) the stack's output, which `exec` turns into the
 * variable before the command runs (see ./stack.ts).
 */

/** The resources an operator command may need. */
export type ResourceName =
  | 'stateMachineArn'
  | 'fleetStateMachineArn'
  | 'fleetBucket'
  | 'table'
  | 'eventBus'
  | 'secretPrefix'
  | 'fingerprintKeySecret'
  | 'stytchCredentialsSecret'
  | 'stytchBaseUrl'
  | 'scheduleGroup'
  | 'schedulerRoleArn'
  | 'kmsKey'
  | 'deadLetterQueueArn'
  | 'stytchRequestsPerSecond'
  | 'secretsManagerWritesPerSecond';

interface ResourceSpec {
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  /** The stack output (lib/RotatorStack.ts) that holds it, when the stack has one. */
  readonly output?: string;
}

/** Each resource's flag (commander names it after the key), variable and stack output. */
export const RESOURCES: Readonly<Record<ResourceName, ResourceSpec>> = {
  stateMachineArn: {
    flag: '--state-machine-arn',
    env: 'ROTATOR_STATE_MACHINE_ARN',
    description: 'the rotation state machine',
    output: 'StateMachineArn',
  },
  fleetStateMachineArn: {
    flag: '--fleet-state-machine-arn',
    env: 'ROTATOR_FLEET_STATE_MACHINE_ARN',
    description: 'the fleet rotation state machine',
    output: 'FleetStateMachineArn',
  },
  fleetBucket: {
    flag: '--fleet-bucket',
    env: 'ROTATOR_FLEET_BUCKET',
    description: "the bucket of fleet runs' selections",
    output: 'FleetBucketName',
  },
  table: {
    flag: '--table',
    env: 'ROTATOR_TABLE_NAME',
    description: 'the ledger table',
    output: 'LedgerTableName',
  },
  eventBus: {
    flag: '--event-bus',
    env: 'ROTATOR_EVENT_BUS_NAME',
    description: 'the rotator event bus',
    output: 'EventBusName',
  },
  secretPrefix: {
    flag: '--secret-prefix',
    env: 'ROTATOR_SECRET_PREFIX',
    description: 'the prefix of the managed secrets',
    output: 'SecretPrefix',
  },
  fingerprintKeySecret: {
    flag: '--fingerprint-key-secret',
    env: 'ROTATOR_FINGERPRINT_KEY_SECRET_ID',
    description: 'the secret holding the fingerprint key',
    output: 'FingerprintKeySecretArn',
  },
  stytchCredentialsSecret: {
    flag: '--stytch-credentials-secret',
    env: 'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
    description: 'the Stytch project credentials secret',
    output: 'StytchCredentialsSecretArn',
  },
  stytchBaseUrl: {
    flag: '--stytch-base-url',
    env: 'ROTATOR_STYTCH_BASE_URL',
    description: "Stytch's API base URL (unset: Stytch's own; the sandbox's stack has its emulator's)",
    output: 'StytchBaseUrl',
  },
  scheduleGroup: {
    flag: '--schedule-group',
    env: 'ROTATOR_SCHEDULE_GROUP',
    description: 'the schedule group of registered clients',
    output: 'RegisteredSchedulesGroup',
  },
  schedulerRoleArn: {
    flag: '--scheduler-role-arn',
    env: 'ROTATOR_SCHEDULER_ROLE_ARN',
    description: 'the role their schedules start rotations with',
    output: 'RegisteredSchedulesRoleArn',
  },
  kmsKey: {
    flag: '--kms-key',
    env: 'ROTATOR_KMS_KEY_ID',
    description: "the KMS key for new secrets (unset: the account's default key)",
    output: 'EncryptionKeyArn',
  },
  deadLetterQueueArn: {
    flag: '--dead-letter-queue-arn',
    env: 'ROTATOR_DEAD_LETTER_QUEUE_ARN',
    description: 'where a schedule puts a rotation start that failed (unset: none)',
    output: 'DeadLetterQueueArn',
  },
  stytchRequestsPerSecond: {
    flag: '--stytch-requests-per-second',
    env: 'ROTATOR_STYTCH_REQUESTS_PER_SECOND',
    description: "the Stytch project's budget the CLI shares with the functions (unset: 20)",
    output: 'StytchRequestsPerSecond',
  },
  secretsManagerWritesPerSecond: {
    flag: '--secrets-manager-writes-per-second',
    env: 'ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND',
    description: 'the Secrets Manager write budget the CLI shares with the functions (unset: 25)',
    output: 'SecretsManagerWritesPerSecond',
  },
};

/** A resource as messages and help name it: what it is, and its stack output. */
function label(spec: ResourceSpec): string {
  return spec.output === undefined ? spec.description : `${spec.description} (stack output ${spec.output})`;
}

/** Raw resource flags as commander hands them over. */
export type ResourceFlags = { readonly [name in ResourceName]?: string };

/** Adds the flags of `names` to `command`, and a help section on how resources are found. */
export function addResourceOptions(command: Command, names: readonly ResourceName[]): Command {
  for (const name of names) {
    const spec = RESOURCES[name];
    command.option(`${spec.flag} <value>`, `${label(spec)} (default: $${spec.env})`);
  }
  command.addHelpText(
    'after',
    '\nResources: each flag above, else its environment variable, else the output of the stack named\n' +
      'by --stack or $ROTATOR_STACK_NAME (the sandbox has its outputs as the stack StytchM2MRotator).\n' +
      'AWS is reached through the standard SDK configuration (AWS_REGION, AWS_ENDPOINT_URL for the\n' +
      'sandbox gateway, the usual credential chain).',
  );
  return command;
}

/**
 * Resolves one resource: flag > env (which `--stack` fills from the stack outputs, see ./stack.ts);
 * a missing one is a user error naming the variable.
 */
export function resolveResource(name: ResourceName, flags: ResourceFlags, io: CliIo): string {
  const spec = RESOURCES[name];
  const fromFlag = flags[name];
  if (fromFlag !== undefined) {
    if (fromFlag.trim() === '') throw usageError(`${spec.flag} must not be empty`);
    return fromFlag;
  }
  const fromEnv = io.env[spec.env];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim();
  throw new CliError(`${label(spec)} is not known: set ${spec.env} or pass ${spec.flag}`, {
    code: 'missing_resource',
    source: 'user',
  });
}

/**
 * The managed secrets' prefix (without a trailing "/"), checked: a prefix no secret name can have
 * is a usage error, not an empty answer.
 */
export function resolveSecretPrefix(flags: ResourceFlags, io: CliIo): string {
  const raw = resolveResource('secretPrefix', flags, io).replace(/\/+$/, '');
  const parsed = SecretPrefixSchema.safeParse(raw);
  if (!parsed.success) {
    throw usageError(
      `--secret-prefix (or ROTATOR_SECRET_PREFIX) "${raw.slice(0, 200)}" ${parsed.error.issues[0]?.message ?? 'is invalid'}`,
    );
  }
  return parsed.data;
}

/** {@link resolveSecretPrefix} when the prefix is known; undefined when it is not set at all. */
export function optionalSecretPrefix(flags: ResourceFlags, io: CliIo): string | undefined {
  return optionalResource('secretPrefix', flags, io) === undefined
    ? undefined
    : resolveSecretPrefix(flags, io);
}

/** A resource a command can do without: undefined when neither its flag nor its variable is set. */
export function optionalResource(name: ResourceName, flags: ResourceFlags, io: CliIo): string | undefined {
  const spec = RESOURCES[name];
  if (flags[name] === undefined && (io.env[spec.env] ?? '').trim() === '') return undefined;
  return resolveResource(name, flags, io);
}

/** SDK v3 settings from the CLI's environment (io.env, so tests need not touch process.env). */
export function awsClientConfig(io: CliIo): AwsClientSettings {
  const env = io.env;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpoint = env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && endpoint !== '' && !URL.canParse(endpoint)) {
    throw usageError(
      `AWS_ENDPOINT_URL "${endpoint.slice(0, 200)}" is not a URL (e.g. http://127.0.0.1:4566)`,
    );
  }
  return {
    ...(region !== undefined && region !== '' ? { region } : {}),
    ...(endpoint !== undefined && endpoint !== '' ? { endpoint } : {}),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}

/** Runs `body` with fresh clients and always closes them. */
export async function withAws<T>(io: CliIo, body: (aws: AwsClients) => Promise<T>): Promise<T> {
  const aws = new AwsClients(awsClientConfig(io));
  try {
    return await body(aws);
  } catch (error) {
    throw setupError(error, io) ?? error;
  } finally {
    aws.close();
  }
}

/** Who asks: `cli:<os user>` (USER/USERNAME when the OS cannot say). */
export function requestedBy(io: CliIo): string {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined;
  }
  user ||= io.env.USER ?? io.env.USERNAME ?? 'unknown';
  return `cli:${user}`.slice(0, 500);
}

/** A client id as the core accepts it; otherwise a usage error. */
export function parseClientId(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(raw)) {
    throw usageError(`client id "${raw.slice(0, 140)}" must be letters, digits, ".", "_" or "-" (1-128)`);
  }
  return raw;
}

export function usageError(message: string): CliError {
  return new CliError(message, { code: 'usage', source: 'user' });
}

/** `…abcd`: the only form in which a secret's characters are ever printed. */
export function masked(lastFour: string | undefined | null): string {
  return lastFour === undefined || lastFour === null ? '-' : `…${lastFour}`;
}
