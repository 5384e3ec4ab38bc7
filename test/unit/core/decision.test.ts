import { describe, expect, it } from 'vitest';
import { decideFromContext, decideWait } from '#core/decision.js';
import type { RotationRecord } from '#core/ports.js';

const BASE: RotationRecord = {
  clientId: 'm2m-client-test-billing',
  rotationId: '6a7e3b0e-1d2c-4f00-9a6b-2f1e0c9d8b7a',
  clientKind: 'm2m',
  trigger: 'schedule',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:rotation:1',
  status: 'pending',
  steps: { started: '2026-12-02T05:00:00.000Z' },
  expectedConsumers: ['billing-api', 'invoice-worker'],
  reports: {},
};
const healthy = { healthy: true, reportedAt: '2026-12-02T05:00:01.000Z' };
const unhealthy = { healthy: false, detail: 'token rejected', reportedAt: '2026-12-02T05:00:02.000Z' };

describe('decideWait', () => {
  it('cancels a scheduled rotation at the first unhealthy report (fail-safe)', () => {
    expect(decideWait({ ...BASE, reports: { 'billing-api': unhealthy } })).toEqual({
      kind: 'unhealthy',
      consumer: 'billing-api',
      detail: 'token rejected',
    });
  });

  it('does not let an unhealthy report keep a leaked secret alive: a leak rotation waits for the rest', () => {
    expect(decideWait({ ...BASE, trigger: 'leak', reports: { 'billing-api': unhealthy } })).toEqual({
      kind: 'waiting',
    });
  });

  it('completes a leak rotation once every consumer answered, naming the unhealthy case', () => {
    const record = {
      ...BASE,
      trigger: 'leak' as const,
      reports: { 'billing-api': unhealthy, 'invoice-worker': healthy },
    };
    expect(decideWait(record)).toEqual({ kind: 'healthy', result: { reason: 'leak_fail_secure' } });
  });

  it('completes a leak rotation whose consumers are all healthy as all_consumers_healthy', () => {
    const record = {
      ...BASE,
      trigger: 'leak' as const,
      reports: { 'billing-api': healthy, 'invoice-worker': healthy },
    };
    expect(decideWait(record)).toEqual({ kind: 'healthy', result: { reason: 'all_consumers_healthy' } });
  });

  it('lets a leak of the pending secret outrank every report, and a leak of the current one complete at once', () => {
    const reports = { 'billing-api': healthy, 'invoice-worker': healthy };
    expect(decideWait({ ...BASE, reports, escalatedCancel: '2026-12-02T05:00:03.000Z' })).toEqual({
      kind: 'leak_of_pending',
    });
    expect(decideWait({ ...BASE, escalatedComplete: '2026-12-02T05:00:03.000Z' })).toEqual({
      kind: 'healthy',
      result: { reason: 'leak_escalated' },
    });
  });
});

describe('decideFromContext', () => {
  it('decides as decideWait decides every record that expects no consumer and no leak escalated', () => {
    // Prepare
    const record = { ...BASE, expectedConsumers: [] };

    // Act
    const decided = decideFromContext([]);

    // Assess
    expect(decided?.decision).toEqual(decideWait(record));
    expect(decided?.decision).toEqual(decideWait({ ...record, trigger: 'leak' }));
    expect(decided?.answer).toEqual({ kind: 'succeed', reason: 'no_consumers_expected' });
  });

  it('leaves a wait with expected consumers to the reports', () => {
    expect(decideFromContext(['billing-api'])).toBeNull();
  });
});
