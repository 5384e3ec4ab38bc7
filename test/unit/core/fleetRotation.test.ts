import { describe, expect, it } from 'vitest';
import {
  FleetRunInputSchema,
  fleetProgress,
  fleetSelectionKey,
  newFleetRunName,
  parseSelector,
  SelectorSyntaxError,
  selects,
} from '#core/fleetRotation.js';
import type { ClientRegistration } from '#core/registry.js';
import { WorkflowInputSchema } from '#core/workflow.js';

function client(overrides: Partial<ClientRegistration> = {}): ClientRegistration {
  return {
    clientId: 'm2m-client-test-billing-worker',
    clientKind: 'm2m',
    name: 'billing-worker',
    scopes: ['read:invoices', 'write:invoices'],
    expectedConsumers: ['billing-api'],
    secretId: 'stytch/m2m/m2m-client-test-billing-worker',
    registeredAt: '2026-12-01T00:00:00.000Z',
    registeredBy: 'cli:ops',
    registrar: 'apply',
    ...overrides,
  };
}

describe('Function: parseSelector / selects', () => {
  it('holds when every term does: = matches any value of the field, != none, * any run of characters', () => {
    // Prepare
    const billing = client();
    const legacy = client({ name: 'legacy-reports', clientId: 'm2m-client-legacy', expectedConsumers: [] });
    const app = client({ name: 'portal', clientKind: 'connected_app', scopes: [], registrar: 'register' });

    // Act
    const pick = (expression: string) =>
      [billing, legacy, app].filter((c) => selects(parseSelector(expression), c)).map((c) => c.name);

    // Assess
    expect(pick('kind=m2m')).toEqual(['billing-worker', 'legacy-reports']);
    expect(pick('kind=m2m,consumer=billing-api')).toEqual(['billing-worker']);
    expect(pick('name!=legacy-*')).toEqual(['billing-worker', 'portal']);
    expect(pick('scope=write:*')).toEqual(['billing-worker', 'legacy-reports']);
    expect(pick('id=m2m-client-legacy')).toEqual(['legacy-reports']);
    expect(pick('registrar=register')).toEqual(['portal']);
    expect(pick('scheduled=false')).toEqual(['billing-worker', 'legacy-reports', 'portal']);
    expect(pick(' kind = m2m , name = billing-worker ')).toEqual(['billing-worker']);
    // A dot is literal, not a regular expression's any character.
    expect(pick('name=billing.worker')).toEqual([]);
  });

  it('names every bad term in one error: unknown field, no operator, a value with other characters, empty', () => {
    // Act
    const problems = (expression: string) => {
      try {
        parseSelector(expression);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(SelectorSyntaxError);
        return (error as SelectorSyntaxError).problems;
      }
    };

    // Assess
    expect(problems('team=payments,kind,name=a b')).toEqual([
      expect.stringContaining('term 1 "team=payments": unknown field "team"'),
      expect.stringContaining('term 2 "kind" is not field=value'),
      expect.stringContaining('term 3 "name=a b" is not field=value'),
    ]);
    expect(problems('')).toEqual(['it is empty']);
    expect(problems(Array.from({ length: 21 }, () => 'kind=m2m').join(','))).toEqual(['at most 20 terms']);
  });
});

describe('Function: fleetProgress', () => {
  it('counts each client once, by its live record over an ended one, and the selected clients with none as not started', () => {
    // Act
    const progress = fleetProgress(7, [
      { clientId: 'a', status: 'completed' },
      { clientId: 'b', status: 'cancelled' },
      { clientId: 'c', status: 'failed' },
      { clientId: 'd', status: 'started' },
      { clientId: 'e', status: 'pending' },
      // A refusal's record, then the retry that is running.
      { clientId: 'd', status: 'failed' },
    ]);

    // Assess
    expect(progress).toEqual({
      selected: 7,
      rotated: 1,
      cancelled: 1,
      failed: 1,
      inFlight: 1,
      waitingForConsumers: 1,
      notStarted: 2,
    });
  });
});

describe('Fleet run names and inputs', () => {
  it('names a run by its start time and a random tail, which the rotation workflow accepts as its fleetRun tag', () => {
    // Act
    const name = newFleetRunName(new Date('2026-12-04T01:02:03.456Z'), 'a1b2c3d4e5');

    // Assess
    expect(name).toBe('fleet-20261204T010203Z-a1b2c3d4');
    expect(fleetSelectionKey(name)).toBe('selections/fleet-20261204T010203Z-a1b2c3d4.json');
    expect(
      WorkflowInputSchema.safeParse({ clientId: 'm2m-a', trigger: 'manual', fleetRun: name }).success,
    ).toBe(true);
    expect(
      WorkflowInputSchema.safeParse({ clientId: 'm2m-a', trigger: 'manual', fleetRun: 'not a run' }).success,
    ).toBe(false);
  });

  it('takes a fleet input only with every field in range', () => {
    // Prepare
    const input = {
      selection: { bucket: 'fleet-bucket', key: 'selections/fleet-x.json', count: 3 },
      trigger: 'leak',
      reason: 'CI log exposed them',
      requestedBy: 'cli:ops',
      maxConcurrency: 10,
      toleratedFailurePercentage: 100,
    };

    // Assess
    expect(FleetRunInputSchema.safeParse(input).success).toBe(true);
    expect(FleetRunInputSchema.safeParse({ ...input, maxConcurrency: 0 }).success).toBe(false);
    expect(FleetRunInputSchema.safeParse({ ...input, toleratedFailurePercentage: 101 }).success).toBe(false);
    expect(FleetRunInputSchema.safeParse({ ...input, trigger: 'schedule' }).success).toBe(false);
    expect(FleetRunInputSchema.safeParse({ ...input, extra: 1 }).success).toBe(false);
  });
});
