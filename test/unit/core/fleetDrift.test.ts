import { describe, expect, it } from 'vitest';
import {
  DRIFT_METRICS,
  decideFleetDrift,
  type FleetDriftFacts,
  lockCandidates,
  lockHeld,
  MAX_DRIFT_SAMPLES,
  type StytchClientFact,
} from '#core/fleetDrift.js';
import type { ClientKind } from '#core/model.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const at = (msFromNow: number): string => new Date(NOW.getTime() + msFromNow).toISOString();

const managed = (clientId: string, clientKind: ClientKind = 'm2m') => ({ clientId, clientKind });
const atStytch = (
  clientId: string,
  kind: ClientKind = 'm2m',
  nextSecretPending = false,
): StytchClientFact => ({
  clientId,
  kind,
  nextSecretPending,
});

/** Facts with nothing in them, `overrides` on top. */
function facts(overrides: Partial<FleetDriftFacts>): FleetDriftFacts {
  return { registrations: [], overdue: [], stytchClients: [], locks: [], now: NOW, ...overrides };
}

const ids = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);

describe('Function: decideFleetDrift', () => {
  it('finds nothing when Stytch holds exactly the managed clients, none mid-rotation', () => {
    // Act
    const drift = decideFleetDrift(
      facts({
        registrations: [managed('m2m-client-test-a'), managed('connected-app-test-b', 'connected_app')],
        stytchClients: [atStytch('m2m-client-test-a'), atStytch('connected-app-test-b', 'connected_app')],
      }),
    );

    // Assess
    expect(drift).toEqual({
      managedClients: 2,
      overdue: 0,
      stytch: { midRotationAtStytch: 0, missingAtStytch: 0, unmanaged: 0 },
      samples: { overdue: [], midRotationAtStytch: [], missingAtStytch: [], unmanaged: [] },
    });
  });

  it('counts a managed client with a next secret at Stytch and no lock as mid-rotation, and not one whose rotation holds its lock', () => {
    // Act
    const drift = decideFleetDrift(
      facts({
        registrations: [managed('m2m-client-test-abandoned'), managed('m2m-client-test-rotating')],
        stytchClients: [
          atStytch('m2m-client-test-abandoned', 'm2m', true),
          atStytch('m2m-client-test-rotating', 'm2m', true),
        ],
        locks: [{ clientId: 'm2m-client-test-rotating', expiresAt: at(60_000) }],
      }),
    );

    // Assess
    expect(drift.stytch).toEqual({ midRotationAtStytch: 1, missingAtStytch: 0, unmanaged: 0 });
    expect(drift.samples.midRotationAtStytch).toEqual(['m2m-client-test-abandoned']);
  });

  it.each([
    ['expired a millisecond ago', at(-1), 1],
    ['that expires now (the lock holds until its expiry, inclusive)', at(0), 0],
    ['whose expiry is not a date', 'soon', 1],
  ])('counts a client whose lock %s as held or not', (_label, expiresAt, midRotation) => {
    // Act
    const drift = decideFleetDrift(
      facts({
        registrations: [managed('connected-app-test-x', 'connected_app')],
        stytchClients: [atStytch('connected-app-test-x', 'connected_app', true)],
        locks: [{ clientId: 'connected-app-test-x', expiresAt }],
      }),
    );

    // Assess
    expect(drift.stytch?.midRotationAtStytch).toBe(midRotation);
  });

  it('counts a managed client Stytch does not return as missing, and one registered under the other kind as missing and unmanaged', () => {
    // Act
    const drift = decideFleetDrift(
      facts({
        registrations: [managed('m2m-client-test-deleted'), managed('m2m-client-test-miskinded')],
        stytchClients: [atStytch('m2m-client-test-miskinded', 'connected_app')],
      }),
    );

    // Assess
    expect(drift.stytch).toEqual({ midRotationAtStytch: 0, missingAtStytch: 2, unmanaged: 1 });
    expect(drift.samples.missingAtStytch).toEqual(['m2m-client-test-deleted', 'm2m-client-test-miskinded']);
    expect(drift.samples.unmanaged).toEqual(['m2m-client-test-miskinded']);
  });

  it('lists Stytch clients the registry does not manage, M2M and Connected Apps, once each, by id', () => {
    // Act: a client on two search pages counts once.
    const drift = decideFleetDrift(
      facts({
        registrations: [managed('m2m-client-test-managed')],
        stytchClients: [
          atStytch('m2m-client-test-managed'),
          atStytch('m2m-client-test-zeta'),
          atStytch('connected-app-test-portal', 'connected_app', true),
          atStytch('m2m-client-test-zeta'),
        ],
      }),
    );

    // Assess: an unmanaged client mid-rotation is not the rotator's drift.
    expect(drift.stytch).toEqual({ midRotationAtStytch: 0, missingAtStytch: 0, unmanaged: 2 });
    expect(drift.samples.unmanaged).toEqual(['connected-app-test-portal', 'm2m-client-test-zeta']);
  });

  it(`caps each sample at ${MAX_DRIFT_SAMPLES} ids (the counts are whole), overdue in the order given`, () => {
    // Prepare: 25 of each kind; the overdue clients come most overdue first, i.e. reversed.
    const abandoned = ids('m2m-client-test-mid', 25);
    const deleted = ids('m2m-client-test-gone', 25);
    const overdue = ids('m2m-client-test-old', 25).reverse();
    const strangers = ids('connected-app-test-other', 25);

    // Act
    const drift = decideFleetDrift(
      facts({
        registrations: [...abandoned, ...deleted, ...overdue].map((id) => managed(id)),
        overdue: overdue.map((clientId) => ({ clientId })),
        stytchClients: [
          ...abandoned.map((id) => atStytch(id, 'm2m', true)).reverse(),
          ...overdue.map((id) => atStytch(id)),
          ...strangers.map((id) => atStytch(id, 'connected_app')),
        ],
      }),
    );

    // Assess
    expect(drift.managedClients).toBe(75);
    expect(drift.overdue).toBe(25);
    expect(drift.stytch).toEqual({ midRotationAtStytch: 25, missingAtStytch: 25, unmanaged: 25 });
    expect(drift.samples).toEqual({
      overdue: overdue.slice(0, MAX_DRIFT_SAMPLES),
      midRotationAtStytch: abandoned.slice(0, MAX_DRIFT_SAMPLES),
      missingAtStytch: deleted.slice(0, MAX_DRIFT_SAMPLES),
      unmanaged: strangers.slice(0, MAX_DRIFT_SAMPLES),
    });
    expect(MAX_DRIFT_SAMPLES).toBe(20);
  });

  it('knows nothing of the Stytch side when Stytch could not be read, and still counts the overdue secrets', () => {
    // Act
    const drift = decideFleetDrift(
      facts({
        registrations: [managed('m2m-client-test-a'), managed('m2m-client-test-b')],
        overdue: [{ clientId: 'm2m-client-test-b' }],
        stytchClients: null,
        locks: [],
      }),
    );

    // Assess
    expect(drift).toEqual({
      managedClients: 2,
      overdue: 1,
      stytch: null,
      samples: {
        overdue: ['m2m-client-test-b'],
        midRotationAtStytch: [],
        missingAtStytch: [],
        unmanaged: [],
      },
    });
  });
});

describe('Function: lockCandidates', () => {
  it('names only the managed clients Stytch shows with a next secret, of the same kind, once, by id', () => {
    // Act
    const candidates = lockCandidates(
      [
        managed('m2m-client-test-c'),
        managed('m2m-client-test-a'),
        managed('m2m-client-test-idle'),
        managed('m2m-client-test-other-kind'),
      ],
      [
        atStytch('m2m-client-test-a', 'm2m', true),
        atStytch('m2m-client-test-c', 'm2m', true),
        atStytch('m2m-client-test-c', 'm2m', true),
        atStytch('m2m-client-test-idle'),
        atStytch('m2m-client-test-other-kind', 'connected_app', true),
        atStytch('m2m-client-test-unmanaged', 'm2m', true),
      ],
    );

    // Assess
    expect(candidates).toEqual(['m2m-client-test-a', 'm2m-client-test-c']);
  });
});

describe('Function: lockHeld', () => {
  it('holds until the expiry, inclusive, as the lock table decides a takeover', () => {
    expect(lockHeld({ expiresAt: at(1) }, NOW)).toBe(true);
    expect(lockHeld({ expiresAt: at(0) }, NOW)).toBe(true);
    expect(lockHeld({ expiresAt: at(-1) }, NOW)).toBe(false);
    // Another offset, the same instant.
    expect(lockHeld({ expiresAt: '2026-11-25T13:00:00.000+01:00' }, NOW)).toBe(true);
  });
});

describe('Constant: DRIFT_METRICS', () => {
  it('names the metrics the fleet-drift alarm and the dashboard watch', () => {
    expect(DRIFT_METRICS).toEqual({
      midRotationAtStytch: 'DriftMidRotation',
      missingAtStytch: 'DriftMissingAtStytch',
      unmanaged: 'UnmanagedClients',
    });
  });
});
