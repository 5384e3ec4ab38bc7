import * as z from 'zod';
import { RotatorError } from '#core/errors.js';
import { SecretPrefixSchema } from '#core/model.js';
import {
  DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND,
  DEFAULT_STYTCH_REQUESTS_PER_SECOND,
  PER_SECOND_PROBLEM,
  parsePerSecond,
} from '#core/rateBudget.js';

/*
 * The one contract between the CDK app, which sets the functions' environment, and the wiring,
 * which reads it: the variable names, the schema of each kind of function, and the builders lib/
 * calls. It imports zod and the core only, so lib/ can import it without pulling an SDK.
 * Secrets are never here: only the ids of the Secrets Manager secrets that hold them.
 */

/** The name of every variable a function reads. */
export const ENV = {
  tableName: 'ROTATOR_TABLE_NAME',
  eventBusName: 'ROTATOR_EVENT_BUS_NAME',
  secretPrefix: 'ROTATOR_SECRET_PREFIX',
  stytchCredentialsSecretId: 'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
  fingerprintKeySecretId: 'ROTATOR_FINGERPRINT_KEY_SECRET_ID',
  stateMachineArn: 'ROTATOR_STATE_MACHINE_ARN',
  stytchBaseUrl: 'ROTATOR_STYTCH_BASE_URL',
  githubWebhookSecretId: 'ROTATOR_GITHUB_WEBHOOK_SECRET_ID',
  githubTokenSecretId: 'ROTATOR_GITHUB_TOKEN_SECRET_ID',
  githubApiUrl: 'ROTATOR_GITHUB_API_URL',
  stytchRequestsPerSecond: 'ROTATOR_STYTCH_REQUESTS_PER_SECOND',
  secretsManagerWritesPerSecond: 'ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND',
} as const;

/** Where managed secrets are named when the deployment says nothing (`<prefix>/<client_id>`). */
const DEFAULT_ENV_SECRET_PREFIX = 'stytch/m2m';

import { DEFAULT_GITHUB_API_URL } from '#core/githubWebhook.js';

export { DEFAULT_GITHUB_API_URL };

/** A missing or malformed environment variable: the function cannot start. */
export class EnvironmentError extends RotatorError {
  public readonly issues: readonly string[];

  public constructor(issues: readonly string[]) {
    super(`Invalid Lambda environment: ${issues.join('; ')}`);
    this.name = 'EnvironmentError';
    this.issues = issues;
  }
}

const SecretPrefixEnvSchema = SecretPrefixSchema.default(DEFAULT_ENV_SECRET_PREFIX);

/** A per-second limit as `String(number)` writes it: a whole number of at least 1. */
function perSecondEnvSchema(fallback: number) {
  return z
    .string()
    .refine((text) => parsePerSecond(text) !== null, PER_SECOND_PROBLEM)
    .transform(Number)
    .default(fallback);
}

/** The shared rate budgets (core/rateBudget.ts) every function that calls Stytch or writes a secret keeps. */
const RateBudgetEnvShape = {
  [ENV.stytchRequestsPerSecond]: perSecondEnvSchema(DEFAULT_STYTCH_REQUESTS_PER_SECOND),
  [ENV.secretsManagerWritesPerSecond]: perSecondEnvSchema(DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND),
};

/** The environment of the workflow steps and the event targets (leak intake, health, reconciler). */
const RotatorEnvSchema = z.object({
  [ENV.tableName]: z.string().min(1),
  [ENV.eventBusName]: z.string().min(1),
  [ENV.secretPrefix]: SecretPrefixEnvSchema,
  [ENV.stytchCredentialsSecretId]: z.string().min(1),
  /** The secret holding the fingerprint key (HMAC-SHA256 of stored and leaked secrets). */
  [ENV.fingerprintKeySecretId]: z.string().min(1),
  /** The rotation state machine; only the functions that start it or reconcile it are given it. */
  [ENV.stateMachineArn]: z.string().min(1).optional(),
  /** Overrides Stytch's base URL (the sandbox's emulator); unset in a deployment. */
  [ENV.stytchBaseUrl]: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  ...RateBudgetEnvShape,
});
export type RotatorEnv = z.infer<typeof RotatorEnvSchema>;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The API URL carries the token in every request: https, or plain http on loopback only (the
 * sandbox's GitHub emulator). No credentials, query or fragment, which a path join would mangle.
 */
const GitHubApiUrlSchema = z
  .url()
  .refine(
    (text) => {
      const url = new URL(text);
      return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
    },
    { message: 'must be an https URL (http only on loopback)' },
  )
  .refine(
    (text) => {
      const url = new URL(text);
      return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
    },
    { message: 'must not hold credentials, a query or a fragment' },
  );

/** The environment of the GitHub webhook receiver. */
const GitHubWebhookEnvSchema = z.object({
  [ENV.tableName]: z.string().min(1),
  [ENV.eventBusName]: z.string().min(1),
  /** The secret holding the fingerprint key (the same the rotation functions use). */
  [ENV.fingerprintKeySecretId]: z.string().min(1),
  /** SecretString = the webhook's shared secret, as entered in GitHub's webhook settings. */
  [ENV.githubWebhookSecretId]: z.string().min(1),
  /** SecretString = a GitHub token that may read secret-scanning alerts. */
  [ENV.githubTokenSecretId]: z.string().min(1),
  [ENV.githubApiUrl]: GitHubApiUrlSchema.default(DEFAULT_GITHUB_API_URL),
});
export type GitHubWebhookEnv = z.infer<typeof GitHubWebhookEnvSchema>;

/**
 * The names of the variables only the secret-age publisher reads (it reads ENV's table, prefix,
 * Stytch credentials secret and base URL too).
 */
export const SECRET_AGE_ENV = {
  /** Days past a client's rotation period and window before its secret is overdue. */
  marginDays: 'ROTATOR_SECRET_AGE_MARGIN_DAYS',
  /** The rotation period, in days, of a client whose schedule is not `rate(N unit)`. */
  defaultPeriodDays: 'ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS',
} as const;

/** A number of days as `String(number)` writes it: at least `min`, or above it when not `inclusive`. */
function daysEnvSchema(min: number, inclusive: boolean) {
  return z
    .string()
    .trim()
    .min(1)
    .transform(Number)
    .pipe(inclusive ? z.number().min(min) : z.number().gt(min));
}

/**
 * The environment of the secret-age publisher, the hourly fleet sweep: the ledger (its registry
 * lists the clients, read on every run, so the environment holds none; its locks; the sweep's
 * item), the managed secrets' prefix, the rule that makes a secret overdue, and Stytch (the
 * project credentials' secret, read at run time; the base URL outside AWS) for the drift. It reads
 * version metadata of the managed secrets, never a value.
 */
const SecretAgeEnvSchema = z.object({
  [ENV.tableName]: z.string().min(1),
  [ENV.secretPrefix]: SecretPrefixEnvSchema,
  [SECRET_AGE_ENV.marginDays]: daysEnvSchema(0, true),
  [SECRET_AGE_ENV.defaultPeriodDays]: daysEnvSchema(0, false),
  [ENV.stytchCredentialsSecretId]: z.string().min(1),
  /** Overrides Stytch's base URL (the sandbox's emulator); unset in a deployment. */
  [ENV.stytchBaseUrl]: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** Its searches take from the Stytch budget; it writes no secret. */
  [ENV.stytchRequestsPerSecond]: RateBudgetEnvShape[ENV.stytchRequestsPerSecond],
});
export type SecretAgeEnv = z.infer<typeof SecretAgeEnvSchema>;

/** The process environment, or a record standing in for it. */
export type EnvironmentSource = Readonly<Record<string, string | undefined>>;

/**
 * Validates a function's environment against its schema; throws {@link EnvironmentError} naming
 * every problem at once.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: EnvironmentSource): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new EnvironmentError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
  );
}

/** Reads and validates a workflow function's environment; throws {@link EnvironmentError} naming every problem. */
export function readRotatorEnv(env: EnvironmentSource = process.env): RotatorEnv {
  return parseEnv(RotatorEnvSchema, env);
}

/** Reads and validates the webhook receiver's environment; throws {@link EnvironmentError} naming every problem. */
export function readGitHubWebhookEnv(env: EnvironmentSource = process.env): GitHubWebhookEnv {
  return parseEnv(GitHubWebhookEnvSchema, env);
}

/** Reads and validates the publisher's environment; throws {@link EnvironmentError} naming every problem. */
export function readSecretAgeEnv(env: EnvironmentSource = process.env): SecretAgeEnv {
  return parseEnv(SecretAgeEnvSchema, env);
}

/** What a workflow function is configured with (CDK tokens welcome: nothing is validated here). */
export interface WorkflowEnvironmentValues {
  readonly tableName: string;
  readonly eventBusName: string;
  readonly secretPrefix: string;
  readonly stytchCredentialsSecretId: string;
  readonly fingerprintKeySecretId: string;
  /** Only for the functions that start the workflow or reconcile its executions. */
  readonly stateMachineArn?: string;
  /** Only outside AWS (the sandbox's Stytch emulator). */
  readonly stytchBaseUrl?: string;
  /** @default DEFAULT_STYTCH_REQUESTS_PER_SECOND (read when unset) */
  readonly stytchRequestsPerSecond?: number;
  /** @default DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND (read when unset) */
  readonly secretsManagerWritesPerSecond?: number;
}

/** The rate budgets' variables, for the values given. */
function rateBudgetEnvironment(values: {
  readonly stytchRequestsPerSecond?: number;
  readonly secretsManagerWritesPerSecond?: number;
}): Record<string, string> {
  return {
    ...(values.stytchRequestsPerSecond === undefined
      ? {}
      : { [ENV.stytchRequestsPerSecond]: String(values.stytchRequestsPerSecond) }),
    ...(values.secretsManagerWritesPerSecond === undefined
      ? {}
      : { [ENV.secretsManagerWritesPerSecond]: String(values.secretsManagerWritesPerSecond) }),
  };
}

/** The `environment` of a workflow step or event target, as {@link readRotatorEnv} reads it. */
export function workflowFunctionEnvironment(values: WorkflowEnvironmentValues): Record<string, string> {
  return {
    [ENV.tableName]: values.tableName,
    [ENV.eventBusName]: values.eventBusName,
    [ENV.secretPrefix]: values.secretPrefix,
    [ENV.stytchCredentialsSecretId]: values.stytchCredentialsSecretId,
    [ENV.fingerprintKeySecretId]: values.fingerprintKeySecretId,
    ...(values.stateMachineArn === undefined ? {} : { [ENV.stateMachineArn]: values.stateMachineArn }),
    ...(values.stytchBaseUrl === undefined ? {} : { [ENV.stytchBaseUrl]: values.stytchBaseUrl }),
    ...rateBudgetEnvironment(values),
  };
}

/** What the GitHub webhook receiver is configured with. */
export interface GitHubWebhookEnvironmentValues {
  readonly tableName: string;
  readonly eventBusName: string;
  readonly fingerprintKeySecretId: string;
  readonly githubWebhookSecretId: string;
  readonly githubTokenSecretId: string;
  /** @default DEFAULT_GITHUB_API_URL */
  readonly githubApiUrl?: string;
}

/** The `environment` of the GitHub webhook receiver, as {@link readGitHubWebhookEnv} reads it. */
export function githubWebhookFunctionEnvironment(
  values: GitHubWebhookEnvironmentValues,
): Record<string, string> {
  return {
    [ENV.tableName]: values.tableName,
    [ENV.eventBusName]: values.eventBusName,
    [ENV.fingerprintKeySecretId]: values.fingerprintKeySecretId,
    [ENV.githubWebhookSecretId]: values.githubWebhookSecretId,
    [ENV.githubTokenSecretId]: values.githubTokenSecretId,
    [ENV.githubApiUrl]: values.githubApiUrl ?? DEFAULT_GITHUB_API_URL,
  };
}

/** What the secret-age publisher is configured with (CDK tokens welcome: nothing is validated here). */
export interface SecretAgeEnvironmentValues {
  /** The ledger table, whose registry holds the clients. */
  readonly tableName: string;
  readonly secretPrefix: string;
  /** Days past a client's rotation period and window before its secret is overdue. */
  readonly marginDays: number;
  /** The rotation period, in days, of a client whose schedule is not `rate(N unit)`. */
  readonly defaultPeriodDays: number;
  /** The secret holding the Stytch project credentials (the sweep searches Stytch's clients). */
  readonly stytchCredentialsSecretId: string;
  /** Only outside AWS (the sandbox's Stytch emulator). */
  readonly stytchBaseUrl?: string;
  /** @default DEFAULT_STYTCH_REQUESTS_PER_SECOND (read when unset) */
  readonly stytchRequestsPerSecond?: number;
}

/** The `environment` of the secret-age publisher, as {@link readSecretAgeEnv} reads it. */
export function secretAgePublisherEnvironment(values: SecretAgeEnvironmentValues): Record<string, string> {
  return {
    [ENV.tableName]: values.tableName,
    [ENV.secretPrefix]: values.secretPrefix,
    [SECRET_AGE_ENV.marginDays]: String(values.marginDays),
    [SECRET_AGE_ENV.defaultPeriodDays]: String(values.defaultPeriodDays),
    [ENV.stytchCredentialsSecretId]: values.stytchCredentialsSecretId,
    ...(values.stytchBaseUrl === undefined ? {} : { [ENV.stytchBaseUrl]: values.stytchBaseUrl }),
    ...rateBudgetEnvironment(values),
  };
}
