import type { ClientKind } from './model.js';
import type { RotationLock } from './ports.js';
import type { ClientRegistration } from './registry.js';

/**
 * Drift between what the rotator manages and what Stytch holds, decided once an hour by the fleet
 * sweep (fleetSweep.ts) from facts its adapters fetched: the registry, Stytch's clients (its paged
 * searches), the ledger's locks and the secrets' ages. Four kinds, each a count and a bounded
 * sample of client ids (ids are not secret; no secret or last four is ever part of it):
 *
 * - `midRotationAtStytch`: a managed client whose Stytch record holds a next secret while no
 *   rotation holds its lock (none, or an expired one): a rotation started at Stytch and abandoned.
 * - `missingAtStytch`: a managed client Stytch's search does not return (deleted at Stytch, or
 *   registered under the wrong kind): every rotation of it fails.
 * - `overdue`: a secret older than its schedule allows (secretAge.ts decides which).
 * - `unmanaged`: a Stytch client, M2M or Connected App, the registry does not manage: listed, never
 *   touched, never alarmed on.
 */

/** The drift metrics, besides the secret-age ones, in the same EMF document (no dimension). */
export const DRIFT_METRICS = {
  /** Managed clients mid-rotation at Stytch with no rotation holding them. */
  midRotationAtStytch: 'DriftMidRotation',
  /** Managed clients Stytch's search did not return. */
  missingAtStytch: 'DriftMissingAtStytch',
  /** Stytch clients (M2M and Connected Apps) the registry does not manage. */
  unmanaged: 'UnmanagedClients',
} as const;

/** The ids each kind's sample holds at most: enough to start from, small enough for one ledger item. */
export const MAX_DRIFT_SAMPLES = 20;

/** The kinds of drift, in the order the views list them. */
export const DRIFT_KINDS = ['overdue', 'midRotationAtStytch', 'missingAtStytch', 'unmanaged'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

/** What the sweep needs of one Stytch client: never a secret, nor its last four. */
export interface StytchClientFact {
  readonly clientId: string;
  /** Which search returned it: M2M clients, or Connected Apps. */
  readonly kind: ClientKind;
  /** Stytch holds a next secret (`next_client_secret_last_four` set): a rotation started and not ended. */
  readonly nextSecretPending: boolean;
}

/** The counts Stytch's side decides: known only when Stytch (and the locks it called for) could be read. */
export interface StytchDriftCounts {
  readonly midRotationAtStytch: number;
  readonly missingAtStytch: number;
  readonly unmanaged: number;
}

/** Up to {@link MAX_DRIFT_SAMPLES} client ids per kind: overdue most overdue first, the others by id. */
export type DriftSamples = Readonly<Record<DriftKind, readonly string[]>>;

/** What {@link decideFleetDrift} decides. */
export interface FleetDrift {
  /** Registered clients. */
  readonly managedClients: number;
  readonly overdue: number;
  /** null when Stytch could not be read this run: nothing is known of that side. */
  readonly stytch: StytchDriftCounts | null;
  /** Empty for the Stytch kinds when `stytch` is null. */
  readonly samples: DriftSamples;
}

/** The facts {@link decideFleetDrift} decides from. */
export interface FleetDriftFacts {
  readonly registrations: readonly Pick<ClientRegistration, 'clientId' | 'clientKind'>[];
  /** The overdue clients, most overdue first (secretAge.ts decided them). */
  readonly overdue: readonly { readonly clientId: string }[];
  /** Every client both of Stytch's searches returned; null when they could not be read. */
  readonly stytchClients: readonly StytchClientFact[] | null;
  /** The locks of (at least) the {@link lockCandidates}; a client without an entry holds none. */
  readonly locks: readonly Pick<RotationLock, 'clientId' | 'expiresAt'>[];
  /** When the locks were read: a lock that expired before it holds nothing. */
  readonly now: Date;
}

/** A client as the registry and Stytch both key it: the same id under another kind is another client. */
function keyOf(kind: ClientKind, clientId: string): string {
  return `${kind}:${clientId}`;
}

/**
 * The managed clients whose lock decides whether they drifted: those Stytch shows with a next
 * secret. Only their locks are read (one GetItem each; normally the few rotations in flight), never
 * one per client. Sorted by id.
 */
export function lockCandidates(
  registrations: FleetDriftFacts['registrations'],
  stytchClients: readonly StytchClientFact[],
): string[] {
  const pending = new Set(
    stytchClients.filter((c) => c.nextSecretPending).map((c) => keyOf(c.kind, c.clientId)),
  );
  const ids = registrations
    .filter((r) => pending.has(keyOf(r.clientKind, r.clientId)))
    .map((r) => r.clientId);
  return [...new Set(ids)].sort(compare);
}

/**
 * Whether `lock` still holds its client at `now`: until its expiry, inclusive, as the lock itself
 * decides (LockTable takes over an expired lock only when `expiresAtMs < now`). An expiry that is
 * not a date holds nothing.
 */
export function lockHeld(lock: Pick<RotationLock, 'expiresAt'>, now: Date): boolean {
  const expiresAtMs = Date.parse(lock.expiresAt);
  return !Number.isNaN(expiresAtMs) && expiresAtMs >= now.getTime();
}

/**
 * Decides the fleet's drift: pure, over facts fetched beforehand. A registered client matches the
 * Stytch client of the same kind and id; duplicates (a client on two search pages) count once.
 */
export function decideFleetDrift(facts: FleetDriftFacts): FleetDrift {
  const managed = new Map(facts.registrations.map((r) => [keyOf(r.clientKind, r.clientId), r.clientId]));
  const overdue = facts.overdue.map((o) => o.clientId);
  if (facts.stytchClients === null) {
    return {
      managedClients: managed.size,
      overdue: overdue.length,
      stytch: null,
      samples: { overdue: sample(overdue), midRotationAtStytch: [], missingAtStytch: [], unmanaged: [] },
    };
  }
  const atStytch = new Map(facts.stytchClients.map((c) => [keyOf(c.kind, c.clientId), c]));
  const held = new Set(facts.locks.filter((lock) => lockHeld(lock, facts.now)).map((l) => l.clientId));
  const missing: string[] = [];
  const midRotation: string[] = [];
  for (const [key, clientId] of managed) {
    const fact = atStytch.get(key);
    if (fact === undefined) missing.push(clientId);
    else if (fact.nextSecretPending && !held.has(clientId)) midRotation.push(clientId);
  }
  const unmanaged = [...atStytch].filter(([key]) => !managed.has(key)).map(([, c]) => c.clientId);
  return {
    managedClients: managed.size,
    overdue: overdue.length,
    stytch: {
      midRotationAtStytch: midRotation.length,
      missingAtStytch: missing.length,
      unmanaged: unmanaged.length,
    },
    samples: {
      overdue: sample(overdue),
      midRotationAtStytch: sample(midRotation.sort(compare)),
      missingAtStytch: sample(missing.sort(compare)),
      unmanaged: sample(unmanaged.sort(compare)),
    },
  };
}

function sample(ids: readonly string[]): string[] {
  return ids.slice(0, MAX_DRIFT_SAMPLES);
}

/** Code-unit order: client ids are ASCII. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
