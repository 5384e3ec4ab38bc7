import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RotatorError } from '../../lambdas/core/errors.js';
import { SecretPrefixSchema } from '../../lambdas/core/model.js';
import {
  DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND,
  DEFAULT_STYTCH_REQUESTS_PER_SECOND,
} from '../../lambdas/core/rateBudget.js';

const SECRETS_MANAGER_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * A scanner's EventBridge `source`: what its `Secret Leak Detected` reports carry, and what IAM lets
 * it use. Letters, digits and `. _ - /`, starting with a letter or digit: no `*` or `?`, which
 * would read as wildcards in a policy someone copies it into.
 */
const LEAK_SCANNER_SOURCE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$/;
/** Sources a scanner must not use: the rotator's own (its functions, webhook, operators, consumers) and AWS's. */
const RESERVED_SOURCE_PREFIXES = ['stytch-m2m-rotator', 'aws.'] as const;

const LeakScannerSchema = z.strictObject({
  /** The `source` its leak reports carry; it reports by fingerprint only (a report by client id needs the operator grant). */
  source: z
    .string()
    .regex(
      LEAK_SCANNER_SOURCE,
      'must be 1-256 characters of letters, digits and . _ - /, starting with a letter or digit',
    )
    .superRefine((source, context) => {
      const reserved = RESERVED_SOURCE_PREFIXES.find((prefix) =>
        source.toLowerCase().startsWith(prefix.toLowerCase()),
      );
      if (reserved !== undefined) {
        context.addIssue({ code: 'custom', message: `must not start with "${reserved}" (reserved)` });
      }
    }),
  /** Who the scanner is, for the people reading the template and the audit trail. */
  description: z.string().trim().min(1).max(200).optional(),
});

const ACCOUNT_ID = /^\d{12}$/;

/**
 * Reports every repeated value of a list (a second entry would only repeat a bus-policy statement
 * or a rule source: it is a typo), naming the first occurrence. In a list's own refinement, so it
 * runs alongside the other problems of the config.
 */
function refuseRepeats(
  values: readonly string[],
  list: string,
  pathOf: (index: number) => (string | number)[],
  what: string,
  context: z.RefinementCtx,
): void {
  const first = new Map<string, number>();
  values.forEach((value, index) => {
    const earlier = first.get(value);
    if (earlier === undefined) {
      first.set(value, index);
      return;
    }
    context.addIssue({
      code: 'custom',
      path: pathOf(index),
      message: `${what} "${value}" is already listed at ${list}[${earlier}]`,
    });
  });
}

/**
 * The deployment config file: the settings of the whole deployment. The clients it manages are
 * not here: they are data in the registry (`rotator apply -f clients.yaml`, docs/fleet.md), so a
 * fleet of any size is one stack whose template does not grow with it.
 */
export const DeploymentConfigSchema = z.strictObject({
  stytch: z.strictObject({
    /** Secrets Manager secret holding `{"project_id","secret"}` of the Stytch project. */
    projectCredentialsSecretArn: z
      .string()
      .regex(SECRETS_MANAGER_ARN, 'must be a Secrets Manager secret ARN'),
    /**
     * The project's limit, shared by every function and the CLI (windows of one second, counted
     * in the ledger table); each of Stytch's groups (management routes, token endpoint) gets it.
     * Stytch publishes no M2M numbers: set what your project is allowed.
     */
    requestsPerSecond: z.number().int().min(1).max(100_000).default(DEFAULT_STYTCH_REQUESTS_PER_SECOND),
  }),
  /**
   * Writes to the managed secrets per second, shared by every function and the CLI (Secrets
   * Manager allows 50 per second per account and region, all writers together).
   */
  secretsManagerWritesPerSecond: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND),
  /**
   * Marks config/rotator.sample.json: its Stytch credentials are made up, so the stack synthesized from it
   * carries a CloudFormation rule that refuses to deploy it (lib/RotatorStack.ts, `allowSample`).
   */
  sample: z.boolean().optional(),
  /** Managed secrets are named `<secretPrefix>/<client_id>`. */
  secretPrefix: SecretPrefixSchema.default('stytch/m2m'),
  /** Refused with the way out: the clients of an older config move to the registry. */
  clients: z
    .unknown()
    .optional()
    .superRefine((clients, context) => {
      if (clients === undefined) return;
      context.addIssue({
        code: 'custom',
        message:
          'clients are no longer part of the deployment config: move them to the registry with ' +
          '`rotator apply -f <this file>` (docs/fleet.md), then delete this key',
      });
    }),
  /**
   * Scanners allowed to report leaks (`Secret Leak Detected`, by fingerprint) under their own
   * `source`, besides the GitHub webhook and the operators: the leak rule matches these sources.
   */
  leakScanners: z
    .array(LeakScannerSchema)
    .max(20)
    .default([])
    .superRefine((scanners, context) =>
      refuseRepeats(
        scanners.map((scanner) => scanner.source),
        'leakScanners',
        (index) => [index, 'source'],
        'source',
        context,
      ),
    ),
  /**
   * Accounts whose principals may publish consumer health reports to the bus (the bus policy names
   * them); each account's own IAM decides which of its roles speak for which consumer.
   */
  crossAccountConsumerAccounts: z
    .array(z.string().regex(ACCOUNT_ID, 'must be a 12-digit AWS account id'))
    .max(50)
    .default([])
    .superRefine((accounts, context) =>
      refuseRepeats(accounts, 'crossAccountConsumerAccounts', (index) => [index], 'account', context),
    ),
});

/** A valid deployment config (`clients`, refused when present, is never in one). */
export type DeploymentConfig = Omit<z.infer<typeof DeploymentConfigSchema>, 'clients'>;

/** A deployment config that failed validation; `issues` holds every problem with its path. */
export class DeploymentConfigError extends RotatorError {
  public readonly issues: readonly string[];

  public constructor(source: string, issues: readonly string[], options?: ErrorOptions) {
    super(`Invalid deployment config ${source}:\n- ${issues.join('\n- ')}`, options);
    this.name = 'DeploymentConfigError';
    this.issues = issues;
  }
}

/** Validates a parsed config, reporting every problem at once. */
export function parseDeploymentConfig(value: unknown, source = '(inline)'): DeploymentConfig {
  const result = DeploymentConfigSchema.safeParse(value);
  if (result.success) {
    const { clients: _refused, ...config } = result.data;
    return config;
  }
  const issues = result.error.issues.flatMap(describeIssue);
  throw new DeploymentConfigError(source, issues, { cause: result.error });
}

/**
 * One zod issue as `path: problem` lines: an unknown key gets a line of its own with the key in
 * its path, and zod's generic prefixes ("Invalid input: ") go, so each line reads as a fix.
 */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map(
      (key) => `${formatPath([...issue.path, key])}: unknown key (not a deployment config field)`,
    );
  }
  const message =
    issue.code === 'invalid_type' && /received undefined$/.test(issue.message)
      ? `missing (expected ${issue.expected})`
      : issue.message.replace(/^Invalid (input|option): /, '');
  return [`${formatPath(issue.path)}: ${message}`];
}

/** Reads and validates a JSON config file. */
export function loadDeploymentConfig(path: string): DeploymentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeploymentConfigError(
      path,
      [`cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`],
      {
        cause: error,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DeploymentConfigError(path, [`is not valid JSON: ${(error as Error).message}`], {
      cause: error,
    });
  }
  return parseDeploymentConfig(value, path);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}
