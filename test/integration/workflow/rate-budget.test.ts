import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORLD_RESOURCE_NAMES } from '#sandbox/world/worldResources.js';
import { createWorld, type World } from './harness.js';
import { outputOf } from './support.js';

// A burst of rotations against a Stytch that limits each route group to a few requests per
// one-second window (fixed windows, 429 without Retry-After, stytch-api.md §11-12), with the
// deployment's budget set to that limit: the functions share one budget (counted in the ledger
// table), so the burst is paced under the limit instead of meeting it.

const CLIENTS = Array.from({ length: 8 }, (_, i) => `m2m-client-test-burst-${i}`);
const PER_SECOND = 3;

/** One budget's window counters in the ledger table (DynamoRateBudgetStore's items). */
async function budgetWindows(world: World, budget: string): Promise<{ sk: string; used: number }[]> {
  const doc = world.moto.clients.dynamoDbDocument();
  try {
    const { Items = [] } = await doc.send(
      new QueryCommand({
        TableName: WORLD_RESOURCE_NAMES.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'BUDGET#' },
      }),
    );
    return Items.filter((item) => typeof item[budget] === 'number').map((item) => ({
      sk: String(item.sk),
      used: Number(item[budget]),
    }));
  } finally {
    doc.destroy();
  }
}

describe('Scenario: a burst of rotations under Stytch fixed-window limits, one budget shared by every function', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld(
      CLIENTS.map((clientId) => ({ clientId })),
      { rateBudget: { stytchRequestsPerSecond: PER_SECOND, secretsManagerWritesPerSecond: 25 } },
    );
  });
  afterAll(() => world?.stop());

  it('completes every rotation without a single 429: the burst waits for budget, not for Stytch to refuse', async () => {
    // Prepare
    world.emulator.modes.set({
      fixedWindowRateLimit: {
        management: { requests: PER_SECOND, windowMs: 1_000 },
        token: { requests: PER_SECOND, windowMs: 1_000 },
      },
    });
    const before = world.emulator.requestLog().length;

    // Act
    const executions = await Promise.all(
      CLIENTS.map((clientId) => world.run({ clientId, trigger: 'manual' })),
    );
    world.emulator.modes.reset();

    // Assess
    expect(executions.map((execution) => (outputOf(execution) as { outcome?: string }).outcome)).toEqual(
      CLIENTS.map(() => 'completed'),
    );
    // Every Stytch call was taken from the shared budget first: no window of it held more than the limit.
    const windows = await budgetWindows(world, 'stytch-management');
    expect(Math.max(...windows.map((window) => window.used))).toBe(PER_SECOND);
    const requests = world.emulator.requestLog().slice(before);
    const management = requests.filter((entry) => entry.route !== 'jwks' && entry.route !== 'oauth2.token');
    // Each request was bought before it was sent. A step's bundle may buy one it does not send (a
    // step that runs out of budget before its management call is retried as a new invocation,
    // which buys its own): the budget then runs under its limit, never over; at most one a rotation.
    const bought = windows.reduce((sum, window) => sum + window.used, 0);
    expect(bought).toBeGreaterThanOrEqual(management.length);
    expect(bought - management.length).toBeLessThanOrEqual(CLIENTS.length);
    // 8 rotations' management calls at 3 a second span several windows.
    expect(windows.length).toBeGreaterThan(3);
    // Without the budget, this burst met 56 429s (64 rotate/start attempts for 8 rotations). A
    // request that reaches Stytch a window late may still meet one; none is lost.
    expect(requests.filter((entry) => entry.status === 429).length).toBeLessThan(CLIENTS.length);
    await world.assertInvariants(CLIENTS);
  });
});
