import { describe, expect, it } from 'vitest';
import { lambdaHandler } from '#wiring/stepHandler.js';
import { isUrgent, servesLeak } from '#wiring/urgency.js';
import { fakeDeps } from '../../support/fakes.js';

describe('Function: servesLeak', () => {
  it('knows a leak rotation by its execution input or its rotation context, and nothing else', () => {
    expect(servesLeak({ input: { clientId: 'c', trigger: 'leak' }, executionId: 'x' })).toBe(true);
    expect(servesLeak({ rotation: { trigger: 'leak' } })).toBe(true);
    expect(servesLeak({ input: { trigger: 'schedule' } })).toBe(false);
    expect(servesLeak({ rotation: { trigger: 'manual' } })).toBe(false);
    expect(servesLeak({ trigger: 'leak' })).toBe(false);
    expect(servesLeak(null)).toBe(false);
    expect(servesLeak('leak')).toBe(false);
  });
});

describe('Function: lambdaHandler (urgency)', () => {
  it('runs a leak rotation’s step as urgent, any other step not, and nothing outside a step', async () => {
    // Prepare
    const { deps } = fakeDeps({});
    const seen: boolean[] = [];
    const handler = lambdaHandler(
      'PublishPending',
      async () => {
        await Promise.resolve(); // across an await, as the budget's calls are
        seen.push(isUrgent());
        return {};
      },
      async () => deps,
    );

    // Act
    await handler({ rotation: { trigger: 'leak' } });
    await handler({ rotation: { trigger: 'schedule' } });

    // Assess
    expect(seen).toEqual([true, false]);
    expect(isUrgent()).toBe(false);
  });
});
