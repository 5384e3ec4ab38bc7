import type { StepLogger } from './deps.js';
import { RotatorError, toError } from './errors.js';
import type { Clock } from './ports.js';

/**
 * The age of every managed secret, for the `SecretAgeDays` alarms: a secret older than its
 * rotation period says its rotations are not happening, whatever the workflow reports.
 */

/** When each managed secret's `AWSCURRENT` version was created. */
export interface SecretAgePort {
  /**
   * The creation date of the client's `AWSCURRENT` version.
   * @throws when the secret cannot be read or has no `AWSCURRENT` version
   */
  currentVersionCreatedAt(clientId: string): Promise<Date>;
}

/** Publishes one client's secret age (EMF `SecretAgeDays` in a Lambda; recorded in tests). */
export interface SecretAgeMetricsPort {
  secretAge(metric: SecretAge): void;
}

/** One client's measured age. */
export interface SecretAge {
  readonly clientId: string;
  /** Days since its `AWSCURRENT` version was created, to 2 decimals, never negative. */
  readonly ageDays: number;
}

/** A client whose age could not be measured (its alarm goes INSUFFICIENT_DATA after a few runs). */
export interface SecretAgeProblem {
  readonly clientId: string;
  /** The error's name, e.g. `AwsServiceError`. */
  readonly error: string;
  /** Our errors' messages name services, secrets and codes only; a foreign error gives its name only. */
  readonly message: string;
}

/** What one run measured and published, and what it could not. */
export interface SecretAgeSummary {
  readonly published: readonly SecretAge[];
  readonly problems: readonly SecretAgeProblem[];
}

/** What {@link publishSecretAges} needs. */
export interface SecretAgeDeps {
  readonly ages: SecretAgePort;
  readonly metrics: SecretAgeMetricsPort;
  readonly clock: Clock;
  readonly logger: StepLogger;
}

const MS_PER_DAY = 86_400_000;
/** Secrets read at once: a few, so a large fleet neither takes long nor meets Secrets Manager's rate limit. */
const CONCURRENCY = 4;

/**
 * Days from `createdAt` to `now`, to 2 decimals (≈ 15 minutes, finer than the hourly schedule).
 * A creation date in the future (clock skew) counts as 0.
 */
export function secretAgeDays(createdAt: Date, now: Date): number {
  const days = (now.getTime() - createdAt.getTime()) / MS_PER_DAY;
  return days <= 0 ? 0 : Math.round(days * 100) / 100;
}

/**
 * Measures and publishes the age of each client's secret, in the order given. A client whose
 * secret cannot be read is a problem of the run, logged and returned, never a failure of it: the
 * other clients are still measured, and that client's alarm notices the missing data.
 */
export async function publishSecretAges(
  deps: SecretAgeDeps,
  clientIds: readonly string[],
): Promise<SecretAgeSummary> {
  const now = deps.clock.now();
  type Measured = { readonly age: SecretAge } | { readonly problem: SecretAgeProblem };
  const results = await mapBounded(clientIds, CONCURRENCY, async (clientId): Promise<Measured> => {
    try {
      const createdAt = await deps.ages.currentVersionCreatedAt(clientId);
      return { age: { clientId, ageDays: secretAgeDays(createdAt, now) } };
    } catch (thrown) {
      const error = toError(thrown);
      const message = error instanceof RotatorError ? error.message : error.name;
      return { problem: { clientId, error: error.name, message } };
    }
  });
  const published: SecretAge[] = [];
  const problems: SecretAgeProblem[] = [];
  for (const result of results) {
    if ('age' in result) {
      deps.metrics.secretAge(result.age);
      published.push(result.age);
    } else {
      // `message` is the log line's own key (Powertools drops an attribute of that name): the
      // problem's text goes under `errorMessage`, as runStep logs failures.
      const { message, ...problem } = result.problem;
      deps.logger.warn('Secret age not measured', { ...problem, errorMessage: message });
      problems.push(result.problem);
    }
  }
  deps.logger.info('Secret ages published', { published: published.length, problems: problems.length });
  return { published, problems };
}

/** `items.map(fn)` with at most `limit` calls in flight; results in the order of `items`. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  // One iterator shared by every worker: each takes the next item when it is free.
  const entries = items.entries();
  const worker = async (): Promise<void> => {
    for (const [index, item] of entries) results[index] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
