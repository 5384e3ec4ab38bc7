import { describe, expect, it } from 'vitest';
import { ClientPolicySchema, DEFAULT_POLICIES, resolvePolicy } from '#core/policy.js';

describe('Function: resolvePolicy', () => {
  it.each([
    ['schedule', 'cancel', 3600],
    ['manual', 'cancel', 1800],
    ['leak', 'complete', 600],
  ] as const)(
    'gives a %s rotation the default onDeadline=%s, deadline %is',
    (trigger, onDeadline, seconds) => {
      // Act
      const policy = resolvePolicy(trigger);

      // Assess
      expect(policy).toEqual({ onDeadline, deadlineSeconds: seconds, expectedConsumers: [] });
    },
  );

  it('applies the overrides of the rotation trigger only', () => {
    // Prepare
    const clientPolicy = {
      expectedConsumers: ['billing-api', 'ledger-worker'],
      schedule: { deadlineSeconds: 7200 },
      leak: { deadlineSeconds: 120 },
    };

    // Act
    const schedule = resolvePolicy('schedule', clientPolicy);
    const leak = resolvePolicy('leak', clientPolicy);
    const manual = resolvePolicy('manual', clientPolicy);

    // Assess
    expect(schedule).toEqual({
      onDeadline: 'cancel',
      deadlineSeconds: 7200,
      expectedConsumers: ['billing-api', 'ledger-worker'],
    });
    expect(leak.deadlineSeconds).toBe(120);
    expect(leak.onDeadline).toBe('complete');
    expect(manual.deadlineSeconds).toBe(DEFAULT_POLICIES.manual.deadlineSeconds);
  });
});

describe('Schema: ClientPolicySchema', () => {
  it.each([
    ['a repeated consumer', { expectedConsumers: ['a', 'a'] }, /must not repeat/],
    ['a zero deadline', { schedule: { deadlineSeconds: 0 } }, /deadlineSeconds/],
    ['a fractional deadline', { leak: { deadlineSeconds: 1.5 } }, /deadlineSeconds/],
    ['an unknown onDeadline', { manual: { onDeadline: 'retry' } }, /onDeadline/],
    ['an unknown key', { weekly: {} }, /weekly/],
    ['a consumer name with spaces', { expectedConsumers: ['billing api'] }, /expectedConsumers/],
  ])('rejects %s', (_label, input, message) => {
    // Act
    const result = ClientPolicySchema.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });
});
