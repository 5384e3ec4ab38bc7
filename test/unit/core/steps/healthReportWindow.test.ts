import { describe, expect, it } from 'vitest';
import { fakeDeps } from '../../../support/fakes.js';
import { reportAsItself } from './reportAsItself.js';

const CLIENT = 'm2m-client-test-billing';
const ROTATION = '6a7e3b0e-1d2c-4f00-9a6b-2f1e0c9d8b7a';

/** A rotation whose AWSPENDING is stored but whose record does not name it yet (StartRotation is still running). */
async function startedRecord() {
  const t = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers: ['billing-api'] } } });
  await t.ledger.createRotation({
    clientId: CLIENT,
    rotationId: ROTATION,
    clientKind: 'm2m',
    trigger: 'schedule',
    executionId: `arn:aws:states:us-east-1:123456789012:execution:rotation:${ROTATION}`,
    status: 'started',
    steps: { started: '2026-12-02T05:00:00.000Z' },
    expectedConsumers: ['billing-api'],
    reports: {},
  });
  return t;
}

describe('recordHealthReport before StartRotation recorded the pending version', () => {
  it('counts a report for the rotation id (the pending version id is the rotation id)', async () => {
    // Prepare
    const t = await startedRecord();

    // Act
    const result = await reportAsItself(t.deps, {
      clientId: CLIENT,
      rotationId: ROTATION,
      pendingVersionId: ROTATION,
      consumer: 'billing-api',
      healthy: true,
    });

    // Assess
    expect(result).toEqual({ accepted: true, decision: 'healthy' });
    expect((await t.ledger.getRotation(CLIENT, ROTATION))?.reports['billing-api']?.healthy).toBe(true);
  });

  it('still rejects a report for another version', async () => {
    // Prepare
    const t = await startedRecord();

    // Act
    const result = await reportAsItself(t.deps, {
      clientId: CLIENT,
      rotationId: ROTATION,
      pendingVersionId: '11111111-2222-4333-8444-555555555555',
      consumer: 'billing-api',
      healthy: true,
    });

    // Assess
    expect(result).toEqual({ accepted: false, rejection: 'wrong_version' });
  });
});
