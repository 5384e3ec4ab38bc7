import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { LedgerItemFormatError } from '#adapters/aws/errors.js';
import { FLEET_PK, FLEET_SWEEP_SK, FleetSweeps } from '#adapters/aws/ledger/FleetSweeps.js';
import type { FleetSweepRecord } from '#core/fleetSweep.js';
import { at, useMotoLedger } from './motoLedger.js';

function sweepAt(minutes: number, overrides: Partial<FleetSweepRecord> = {}): FleetSweepRecord {
  return {
    sweptAt: at(minutes),
    managedClients: 3,
    unmeasured: 0,
    overdue: 1,
    midRotationAtStytch: 1,
    missingAtStytch: 0,
    unmanaged: 2,
    samples: {
      overdue: ['m2m-client-test-old'],
      midRotationAtStytch: ['m2m-client-test-abandoned'],
      missingAtStytch: [],
      unmanaged: ['connected-app-test-x', 'm2m-client-test-y'],
    },
    ...overrides,
  };
}

/** The last fleet sweep: one item, `pk=FLEET#, sk=SWEEP`, replaced by later sweeps only. */
describe('Class: FleetSweeps (moto)', () => {
  const table = useMotoLedger('rotator-ledger-fleet-sweeps');

  it('reads null before the first sweep, then the sweep as it was written, in one item', async () => {
    // Prepare
    const sweeps = new FleetSweeps(table.props);
    const before = await sweeps.getFleetSweep();

    // Act
    const written = await sweeps.putFleetSweep(sweepAt(0));

    // Assess
    expect(before).toBeNull();
    expect(written).toBe(true);
    expect(await sweeps.getFleetSweep()).toEqual(sweepAt(0));
    expect(await table.itemsOf(FLEET_PK)).toEqual([
      { pk: 'FLEET#', sk: 'SWEEP', ...sweepAt(0), sweptAtMs: Date.parse(at(0)) },
    ]);
  });

  it('replaces it with a later sweep, and never with an earlier one (a retried or late run)', async () => {
    // Prepare
    const sweeps = new FleetSweeps(table.props);
    await sweeps.putFleetSweep(sweepAt(60));

    // Act
    const later = await sweeps.putFleetSweep(sweepAt(120, { overdue: 0, samples: sweepAt(0).samples }));
    const earlier = await sweeps.putFleetSweep(sweepAt(90, { overdue: 7 }));
    const again = await sweeps.putFleetSweep(sweepAt(120, { overdue: 2 }));

    // Assess: the same instant again is a retry of that sweep: written.
    expect([later, earlier, again]).toEqual([true, false, true]);
    expect(await sweeps.getFleetSweep()).toMatchObject({ sweptAt: at(120), overdue: 2 });
  });

  it('keeps the Stytch-side counts null, with the reason, for a sweep that could not read Stytch', async () => {
    // Prepare
    const sweeps = new FleetSweeps(table.props);
    const blind = sweepAt(600, {
      midRotationAtStytch: null,
      missingAtStytch: null,
      unmanaged: null,
      samples: { overdue: [], midRotationAtStytch: [], missingAtStytch: [], unmanaged: [] },
      stytchProblem: 'StytchNetworkError: Stytch POST /v1/m2m/clients/search failed: ECONNREFUSED',
    });

    // Act
    await sweeps.putFleetSweep(blind);

    // Assess
    expect(await sweeps.getFleetSweep()).toEqual(blind);
  });

  it('reports a malformed stored sweep with paths and codes only', async () => {
    // Prepare
    const sweeps = new FleetSweeps(table.props);
    await table.doc.send(
      new PutCommand({
        TableName: table.props.tableName,
        Item: { pk: FLEET_PK, sk: FLEET_SWEEP_SK, ...sweepAt(900), overdue: 'many', sweptAtMs: 1 },
      }),
    );

    // Act
    const error = await sweeps.getFleetSweep().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LedgerItemFormatError);
    expect(error).toMatchObject({ issues: ['overdue: invalid_type'] });
    expect((error as Error).message).toContain('FLEET#/SWEEP');
  });

  it('refuses a sweep whose time is not a date before writing anything', async () => {
    // Act & Assess
    await expect(new FleetSweeps(table.props).putFleetSweep(sweepAt(0, { sweptAt: 'now' }))).rejects.toThrow(
      LedgerItemFormatError,
    );
  });
});
