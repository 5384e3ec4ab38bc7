import type { StepLogger } from './deps.js';
import {
  type DriftSamples,
  decideFleetDrift,
  type FleetDrift,
  lockCandidates,
  type StytchClientFact,
} from './fleetDrift.js';
import type { LockPort, RotationLock } from './ports.js';
import type { ClientRegistration } from './registry.js';
import {
  logSecretAges,
  MAX_LOGGED,
  type MeasuredAges,
  mapBounded,
  measureSecretAges,
  type OverdueRule,
  problemOf,
  type SecretAgeDeps,
  type SecretAgeSummary,
  secretAgeSummary,
} from './secretAge.js';

/**
 * The hourly fleet sweep: the secret ages of every registered client (secretAge.ts) and the drift
 * between the registry, the ledger's locks and Stytch (fleetDrift.ts), published as one set of
 * counts and recorded in the ledger as one item for `rotator status --fleet`. Bounded at any fleet
 * size: the registry is one Query, Stytch two paged searches (1,000 a page: 10 calls for 10,000
 * clients), and only the locks of clients Stytch shows mid-rotation are read. It reads Stytch and
 * never changes anything there. Stytch unreachable or rate-limiting is a problem of the run, not a
 * failure: the ages are still published and recorded, the drift counts are absent that hour.
 */

/** Stytch's clients, as the sweep reads them. */
export interface StytchInventoryPort {
  /**
   * Every client of the project: M2M clients and Connected Apps, across all pages.
   * @throws when Stytch cannot be read (credentials, network, rate limit past the retries)
   */
  listClients(): Promise<readonly StytchClientFact[]>;
}

/**
 * One sweep as the ledger records it (one item, replaced by each later sweep) and `rotator status
 * --fleet` shows it: counts and bounded samples of client ids, no secret.
 */
export interface FleetSweepRecord {
  /** When the sweep read the registry (ISO 8601, UTC). */
  readonly sweptAt: string;
  /** Registered clients. */
  readonly managedClients: number;
  /** Registered clients whose secret age could not be measured. */
  readonly unmeasured: number;
  readonly overdue: number;
  /** null (with the Stytch kinds below) when Stytch could not be read: see `stytchProblem`. */
  readonly midRotationAtStytch: number | null;
  readonly missingAtStytch: number | null;
  /** Stytch clients the registry does not manage. */
  readonly unmanaged: number | null;
  /** Up to 20 client ids per kind. */
  readonly samples: DriftSamples;
  /** Why the Stytch-side counts are null: the error's name and, when it is ours, its message. */
  readonly stytchProblem?: string;
}

/** Where the last sweep is recorded (the ledger). */
export interface FleetSweepStorePort {
  /** Records `record` unless a later sweep is recorded already; false then. */
  putFleetSweep(record: FleetSweepRecord): Promise<boolean>;
}

/** What {@link sweepFleet} needs: the secret-age deps, Stytch, the locks and the sweep's record. */
export interface FleetSweepDeps extends SecretAgeDeps {
  readonly stytch: StytchInventoryPort;
  readonly locks: Pick<LockPort, 'getLock'>;
  readonly sweeps: FleetSweepStorePort;
}

/** What one sweep found: the handler's result (bounded, as {@link SecretAgeSummary}). */
export interface FleetSweepSummary extends SecretAgeSummary {
  /** The record written to the ledger (or refused, a later sweep being there). */
  readonly sweep: FleetSweepRecord;
  /** Whether it was written. */
  readonly recorded: boolean;
}

/** Locks read at once, when Stytch shows several managed clients mid-rotation. */
const LOCK_READS_AT_ONCE = 4;

/** The Stytch side of a run: Stytch's clients and the locks they call for, or why they could not be read. */
type StytchSide =
  | {
      readonly clients: readonly StytchClientFact[];
      readonly locks: readonly RotationLock[];
      readonly readAt: Date;
    }
  | { readonly problem: { readonly error: string; readonly message: string } };

/**
 * One sweep. The registry that cannot be listed fails the run (nothing could be measured); a
 * secret that cannot be read is counted as unmeasured; Stytch (or a lock) that cannot be read
 * leaves the drift counts out, logged. The record that cannot be written fails the run after the
 * counts were published (the async-failure alarm tells; the next hour writes it again).
 */
export async function sweepFleet(deps: FleetSweepDeps, rule: OverdueRule): Promise<FleetSweepSummary> {
  // One registry item that cannot be read must not blind the sweep to the rest of the fleet: it is
  // skipped, logged by its key and counted as unmeasured (its secret's age is not known).
  const unreadable: string[] = [];
  const registrations = await deps.registry.listRegistrations({
    onUnreadable: (key) => unreadable.push(key),
  });
  if (unreadable.length > 0) {
    deps.logger.warn('Registry items unreadable: skipped, counted as unmeasured', {
      count: unreadable.length,
      keys: unreadable.slice(0, MAX_LOGGED),
    });
  }
  const sweptAt = deps.clock.now();
  // Stytch's searches take seconds, the ages minutes at 10,000 clients: side by side.
  const [ages, stytchSide] = await Promise.all([
    measureSecretAges(deps, registrations, rule),
    readStytchSide(deps, registrations),
  ]);
  const known = 'clients' in stytchSide;
  const drift = decideFleetDrift({
    registrations,
    overdue: ages.overdue,
    stytchClients: known ? stytchSide.clients : null,
    locks: known ? stytchSide.locks : [],
    now: known ? stytchSide.readAt : sweptAt,
  });
  deps.metrics.secretAgeCounts({
    managedClients: registrations.length,
    overdue: ages.overdue.length,
    unmeasured: ages.problems.length + unreadable.length,
    ...(drift.stytch === null ? {} : { drift: drift.stytch }),
  });
  const sweep = sweepRecord(sweptAt, ages, drift, known ? undefined : stytchSide.problem, unreadable.length);
  logSweep(deps.logger, ages, drift, sweep);
  const recorded = await deps.sweeps.putFleetSweep(sweep);
  if (!recorded) deps.logger.warn('Fleet sweep not recorded: a later sweep is', { sweptAt: sweep.sweptAt });
  return { ...secretAgeSummary(registrations.length, ages), sweep, recorded };
}

/**
 * Reads Stytch's clients, then the locks of the managed clients it shows mid-rotation (after the
 * search, so a rotation that starts in between is not taken for an abandoned one; one that ends
 * in between may be, for one run: the alarm waits for two). Never throws.
 */
async function readStytchSide(
  deps: Pick<FleetSweepDeps, 'stytch' | 'locks' | 'clock'>,
  registrations: readonly ClientRegistration[],
): Promise<StytchSide> {
  try {
    const clients = await deps.stytch.listClients();
    const candidates = lockCandidates(registrations, clients);
    const found = await mapBounded(candidates, LOCK_READS_AT_ONCE, (clientId) =>
      deps.locks.getLock(clientId),
    );
    const locks = found.filter((lock): lock is RotationLock => lock !== null);
    return { clients, locks, readAt: deps.clock.now() };
  } catch (thrown) {
    return { problem: problemOf(thrown) };
  }
}

function sweepRecord(
  sweptAt: Date,
  ages: MeasuredAges,
  drift: FleetDrift,
  problem: { readonly error: string; readonly message: string } | undefined,
  unreadable: number,
): FleetSweepRecord {
  return {
    sweptAt: sweptAt.toISOString(),
    managedClients: drift.managedClients,
    unmeasured: ages.problems.length + unreadable,
    overdue: drift.overdue,
    midRotationAtStytch: drift.stytch?.midRotationAtStytch ?? null,
    missingAtStytch: drift.stytch?.missingAtStytch ?? null,
    unmanaged: drift.stytch?.unmanaged ?? null,
    samples: drift.samples,
    ...(problem === undefined
      ? {}
      : {
          stytchProblem:
            problem.message === problem.error ? problem.error : `${problem.error}: ${problem.message}`,
        }),
  };
}

/**
 * The ages' warn lines; a warn line for the drift that alarms (mid-rotation, missing) and for a
 * Stytch that could not be read; unmanaged clients on the run's info line only (never a warning:
 * the rotator does not own them).
 */
function logSweep(logger: StepLogger, ages: MeasuredAges, drift: FleetDrift, sweep: FleetSweepRecord): void {
  logSecretAges(logger, ages);
  const { stytch, samples } = drift;
  if (stytch !== null && stytch.midRotationAtStytch + stytch.missingAtStytch > 0) {
    logger.warn('Fleet drift at Stytch', {
      midRotationAtStytch: stytch.midRotationAtStytch,
      midRotationSample: samples.midRotationAtStytch.slice(0, MAX_LOGGED),
      missingAtStytch: stytch.missingAtStytch,
      missingSample: samples.missingAtStytch.slice(0, MAX_LOGGED),
    });
  }
  if (sweep.stytchProblem !== undefined) {
    logger.warn('Fleet drift not measured: Stytch could not be read', { errorMessage: sweep.stytchProblem });
  }
  logger.info('Secret ages published', {
    clients: sweep.managedClients,
    overdue: sweep.overdue,
    problems: sweep.unmeasured,
    midRotationAtStytch: sweep.midRotationAtStytch,
    missingAtStytch: sweep.missingAtStytch,
    unmanaged: sweep.unmanaged,
    ...(stytch !== null && stytch.unmanaged > 0 ? { unmanagedSample: samples.unmanaged } : {}),
  });
}
