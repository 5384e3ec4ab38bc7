import type { StepLogger } from './deps.js';
import { RotatorError, toError } from './errors.js';
import type { StytchDriftCounts } from './fleetDrift.js';
import type { Clock } from './ports.js';
import type { ClientRegistration, RegistryPort } from './registry.js';
import { ratePeriodSeconds } from './scheduleExpression.js';

/**
 * The age of every managed secret, for the `secrets-overdue` alarm: a secret older than its
 * rotation period says its rotations are not happening, whatever the workflow reports. The
 * clients are the registry's, read on every run, so the stack holds nothing per client: each
 * client's threshold is decided here, and only the fleet's counts become metrics (one custom
 * metric per client would cost more than the rotator at 10,000 clients).
 */

/** The metrics one run publishes, in the rotator's namespace, without dimensions (the alarm watches `overdue`). */
export const SECRET_AGE_METRICS = {
  /** Registered clients whose AWSCURRENT secret is older than their threshold. */
  overdue: 'SecretsOverdue',
  /** Registered clients the run looked at (the registry's count). */
  managedClients: 'ManagedClients',
  /** Registered clients whose age could not be measured (no secret, no access, no AWSCURRENT). */
  unmeasured: 'SecretsUnmeasured',
} as const;

/** When each managed secret's `AWSCURRENT` version was created. */
export interface SecretAgePort {
  /**
   * The creation date of the client's `AWSCURRENT` version.
   * @throws when the secret cannot be read or has no `AWSCURRENT` version
   */
  currentVersionCreatedAt(clientId: string): Promise<Date>;
}

/**
 * One run's counts, published once (EMF {@link SECRET_AGE_METRICS}, and fleetDrift.ts's `DRIFT_METRICS` when
 * `drift` is there, in a Lambda; recorded in tests).
 */
export interface SecretAgeCounts {
  readonly managedClients: number;
  readonly overdue: number;
  readonly unmeasured: number;
  /** The fleet sweep's Stytch-side counts; absent when Stytch could not be read this run. */
  readonly drift?: StytchDriftCounts;
}

/** Publishes one run's counts. */
export interface SecretAgeMetricsPort {
  secretAgeCounts(counts: SecretAgeCounts): void;
}

/**
 * How old a secret may be before it is overdue: its rotation period, plus its schedule's flexible
 * window, plus `marginDays`. What the deployment sets (RotatorMonitoring's props).
 */
export interface OverdueRule {
  /** Room past the period and window, e.g. for one cancelled scheduled rotation to be retried by hand. */
  readonly marginDays: number;
  /** The period of a client whose schedule is not `rate(N unit)`: a cron expression, or no schedule. */
  readonly defaultPeriodDays: number;
}

/** A client whose secret is older than its threshold. */
export interface OverdueSecret {
  readonly clientId: string;
  /** Days since its `AWSCURRENT` version was created, to 2 decimals. */
  readonly ageDays: number;
  /** Its threshold ({@link overdueThresholdDays}): overdue means `ageDays > thresholdDays`. */
  readonly thresholdDays: number;
}

/** A client whose age could not be measured: counted as `SecretsUnmeasured`, never a failure of the run. */
export interface SecretAgeProblem {
  readonly clientId: string;
  /** The error's name, e.g. `AwsServiceError`. */
  readonly error: string;
  /** Our errors' messages name services, secrets and codes only; a foreign error gives its name only. */
  readonly message: string;
}

/**
 * What one run measured: the handler's result. The lists are bounded (a run may measure 10,000
 * clients, and a Lambda response is at most 6 MB); the counts are whole.
 */
export interface SecretAgeSummary {
  /** Registered clients the run looked at. */
  readonly clients: number;
  /** How many of them are overdue (`SecretsOverdue`). */
  readonly overdueCount: number;
  /** The overdue ones, most overdue (age past threshold) first, at most {@link MAX_LISTED}. */
  readonly overdue: readonly OverdueSecret[];
  /** How many could not be measured (`SecretsUnmeasured`). */
  readonly problemCount: number;
  /** Those, in the registry's order (by client id), at most {@link MAX_LISTED}. */
  readonly problems: readonly SecretAgeProblem[];
}

/** What the secret-age part of the fleet sweep (fleetSweep.ts) needs. */
export interface SecretAgeDeps {
  /** The registered clients (the ledger's registry in a Lambda). */
  readonly registry: Pick<RegistryPort, 'listRegistrations'>;
  readonly ages: SecretAgePort;
  readonly metrics: SecretAgeMetricsPort;
  readonly clock: Clock;
  readonly logger: StepLogger;
}

const MS_PER_DAY = 86_400_000;
const SECONDS_PER_DAY = 86_400;
const MINUTES_PER_DAY = 1440;
/** Secrets read at once: a few, so a large fleet neither takes long nor meets Secrets Manager's rate limit. */
const CONCURRENCY = 4;
/** Entries in each list of the summary. */
export const MAX_LISTED = 100;
/** Entries in each warn line: enough to start from, short enough for one log event. */
export const MAX_LOGGED = 20;

/**
 * Days from `createdAt` to `now`, to 2 decimals (≈ 15 minutes, finer than the hourly schedule).
 * A creation date in the future (clock skew) counts as 0.
 */
export function secretAgeDays(createdAt: Date, now: Date): number {
  const days = (now.getTime() - createdAt.getTime()) / MS_PER_DAY;
  return days <= 0 ? 0 : Math.round(days * 100) / 100;
}

/**
 * How many days a client's secret may be old, to 3 decimals: the period of its `rate(N unit)`
 * schedule (else `defaultPeriodDays`: a cron's gaps vary, and an unscheduled client still rotates
 * on leaks and by hand), plus its flexible window, plus the margin. A scheduled rotation may start
 * as late as period + window after the last one.
 */
export function overdueThresholdDays(schedule: ClientRegistration['schedule'], rule: OverdueRule): number {
  const rateSeconds = schedule === undefined ? undefined : ratePeriodSeconds(schedule.expression);
  const periodDays = rateSeconds === undefined ? rule.defaultPeriodDays : rateSeconds / SECONDS_PER_DAY;
  const windowDays = (schedule?.flexibleWindowMinutes ?? 0) / MINUTES_PER_DAY;
  return Math.round((periodDays + windowDays + rule.marginDays) * 1000) / 1000;
}

/** What {@link measureSecretAges} found: every overdue secret (most overdue first) and every problem. */
export interface MeasuredAges {
  /** Most overdue (age past threshold) first, then by client id; the whole list. */
  readonly overdue: readonly OverdueSecret[];
  /** In the registry's order (by client id); the whole list. */
  readonly problems: readonly SecretAgeProblem[];
}

/**
 * Measures each registered client's secret age and decides which are overdue. A client whose
 * secret cannot be read is a problem of the run, never a failure of it: the other clients are
 * still measured. Publishes and logs nothing: the fleet sweep (fleetSweep.ts) does, once.
 */
export async function measureSecretAges(
  deps: Pick<SecretAgeDeps, 'ages' | 'clock'>,
  registrations: readonly ClientRegistration[],
  rule: OverdueRule,
): Promise<MeasuredAges> {
  const now = deps.clock.now();
  type Measured = { readonly age: OverdueSecret } | { readonly problem: SecretAgeProblem };
  const results = await mapBounded(registrations, CONCURRENCY, async (client): Promise<Measured> => {
    const { clientId } = client;
    const thresholdDays = overdueThresholdDays(client.schedule, rule);
    try {
      const createdAt = await deps.ages.currentVersionCreatedAt(clientId);
      return { age: { clientId, ageDays: secretAgeDays(createdAt, now), thresholdDays } };
    } catch (thrown) {
      return { problem: { clientId, ...problemOf(thrown) } };
    }
  });
  const overdue: OverdueSecret[] = [];
  const problems: SecretAgeProblem[] = [];
  for (const result of results) {
    if ('problem' in result) problems.push(result.problem);
    // Exactly at the threshold is not overdue: the old per-client alarms were GreaterThanThreshold.
    else if (result.age.ageDays > result.age.thresholdDays) overdue.push(result.age);
  }
  overdue.sort(
    (a, b) => b.ageDays - b.thresholdDays - (a.ageDays - a.thresholdDays) || compare(a.clientId, b.clientId),
  );
  return { overdue, problems };
}

/**
 * A failure as a run reports it: the error's name, and its message when it is one of ours (they
 * name services, secrets and codes only); a foreign error gives its name only.
 */
export function problemOf(thrown: unknown): { readonly error: string; readonly message: string } {
  const error = toError(thrown);
  return { error: error.name, message: error instanceof RotatorError ? error.message : error.name };
}

/** The bounded summary of {@link measureSecretAges}'s findings, as the handler returns it. */
export function secretAgeSummary(clients: number, measured: MeasuredAges): SecretAgeSummary {
  return {
    clients,
    overdueCount: measured.overdue.length,
    overdue: measured.overdue.slice(0, MAX_LISTED),
    problemCount: measured.problems.length,
    problems: measured.problems.slice(0, MAX_LISTED),
  };
}

/** One warn line per kind of finding, each listing at most {@link MAX_LOGGED}. */
export function logSecretAges(logger: StepLogger, { overdue, problems }: MeasuredAges): void {
  if (overdue.length > 0) {
    logger.warn('Secrets overdue for rotation', {
      overdueCount: overdue.length,
      overdue: overdue.slice(0, MAX_LOGGED),
    });
  }
  if (problems.length > 0) {
    // `message` is the log line's own key (Powertools drops an attribute of that name): each
    // problem's text goes under `errorMessage`, as runStep logs failures.
    logger.warn('Secret ages not measured', {
      problemCount: problems.length,
      problems: problems.slice(0, MAX_LOGGED).map(({ message, ...problem }) => ({
        ...problem,
        errorMessage: message,
      })),
    });
  }
}

/** A stable tie-break: code-unit order (client ids are ASCII, so the registry's order too). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `items.map(fn)` with at most `limit` calls in flight; results in the order of `items`. */
export async function mapBounded<T, R>(
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
