import { describe, expect, it } from 'vitest';
import { consumerSource, EVENT_SOURCES } from '#core/events.js';
import { MAX_REFUSED_REPORTS } from '#core/ports.js';
import type { RotationContext } from '#core/state.js';
import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import { publishPending } from '#core/steps/publishPending.js';
import { recordHealthReport } from '#core/steps/recordHealthReport.js';
import { startRotation } from '#core/steps/startRotation.js';
import { fakeDeps } from '../../../support/fakes.js';
import { reportAsItself } from './reportAsItself.js';

const CLIENT = 'm2m-client-test-billing';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:run-1';

/** A rotation waiting for billing-api and invoice-worker, its task token stored. */
async function waiting() {
  const t = fakeDeps({
    [CLIENT]: { kind: 'm2m', policy: { expectedConsumers: ['billing-api', 'invoice-worker'] } },
  });
  const started = await startRotation(t.deps, {
    input: { clientId: CLIENT, trigger: 'schedule', requestedBy: 'test' },
    executionId: EXECUTION,
  });
  const rotation = await publishPending(t.deps, { rotation: started });
  await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });
  return { ...t, rotation };
}

function report(rotation: RotationContext, consumer: string, healthy: boolean) {
  return {
    clientId: rotation.clientId,
    rotationId: rotation.rotationId,
    pendingVersionId: rotation.pendingVersionId,
    consumer,
    healthy,
    ...(healthy ? {} : { detail: 'token rejected \u001b[2J by the forger' }),
  };
}

describe('Step: recordHealthReport refuses a report its sender may not make (issue 13)', () => {
  it.each([
    ['another consumer’s source', consumerSource('invoice-worker')],
    ['the operator’s source', EVENT_SOURCES.operator],
    ['the rotator’s own source', EVENT_SOURCES.rotator],
    ['a made-up source', 'test-consumer'],
    ['the bare consumer prefix', EVENT_SOURCES.consumerPrefix],
    ['a consumer source with a suffix', `${consumerSource('billing-api')}.x`],
    ['no source at all', undefined],
  ])('refuses a healthy report for billing-api sent with %s: it never counts', async (_, source) => {
    // Prepare: invoice-worker has reported healthy, so one more healthy report would complete it.
    const t = await waiting();
    await reportAsItself(t.deps, report(t.rotation, 'invoice-worker', true));
    const before = await t.ledger.getRotation(CLIENT, t.rotation.rotationId);

    // Act
    const result = await recordHealthReport(t.deps, report(t.rotation, 'billing-api', true), { source });

    // Assess: refused, the wait still waits, the reports are untouched, the refusal is on record.
    expect(result).toEqual({ accepted: false, rejection: 'source_mismatch' });
    expect(t.callbacks.calls).toEqual([]);
    const after = await t.ledger.getRotation(CLIENT, t.rotation.rotationId);
    expect(after?.reports).toEqual(before?.reports);
    expect(after?.refusedReports).toEqual([
      { claimed: 'billing-api', source: source ?? '(none)', healthy: true, at: t.clock.now().toISOString() },
    ]);
    expect(after?.refusedReportCount).toBe(1);
    expect(after).not.toHaveProperty('decidedAt');
  });

  it('refuses an unhealthy report for billing-api from invoice-worker: the rotation is not cancelled', async () => {
    // Prepare
    const t = await waiting();

    // Act
    const result = await recordHealthReport(t.deps, report(t.rotation, 'billing-api', false), {
      source: consumerSource('invoice-worker'),
    });

    // Assess
    expect(result).toEqual({ accepted: false, rejection: 'source_mismatch' });
    expect(t.callbacks.calls).toEqual([]);
    const record = await t.ledger.getRotation(CLIENT, t.rotation.rotationId);
    expect(record?.reports).toEqual({});
    expect(record?.refusedReports).toEqual([
      expect.objectContaining({
        claimed: 'billing-api',
        source: consumerSource('invoice-worker'),
        healthy: false,
      }),
    ]);
  });

  it('still counts the consumer’s own report after a forged one', async () => {
    // Prepare
    const t = await waiting();
    await recordHealthReport(t.deps, report(t.rotation, 'billing-api', false), { source: 'forger' });
    await reportAsItself(t.deps, report(t.rotation, 'invoice-worker', true));

    // Act
    const own = await reportAsItself(t.deps, report(t.rotation, 'billing-api', true));

    // Assess
    expect(own).toEqual({ accepted: true, decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
  });

  it('logs the refusal with the claimed consumer and a bounded, scrubbed source, never the report’s text', async () => {
    // Prepare
    const t = await waiting();
    const hostile = `forger\u001b]8;;http://evil\u0007\n${'y'.repeat(300)}`;

    // Act
    await recordHealthReport(t.deps, report(t.rotation, 'billing-api', false), { source: hostile });

    // Assess
    const lines = t.logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const refusal = lines.find((line) => line.rejection === 'source_mismatch');
    expect(refusal).toMatchObject({ level: 'warn', claimed: 'billing-api', healthy: false, recorded: true });
    expect(refusal?.source).toMatch(/^forger\?\?8\?\?http:\/\/evil\?\?y+$/);
    expect(refusal?.source).toHaveLength(256);
    expect(t.logger.lines.join('\n')).not.toContain('by the forger');
    const [kept] = (await t.ledger.getRotation(CLIENT, t.rotation.rotationId))?.refusedReports ?? [];
    expect(kept?.source).toBe(refusal?.source);
  });

  it(`keeps only the latest ${MAX_REFUSED_REPORTS} refused reports, and counts them all`, async () => {
    // Prepare
    const t = await waiting();

    // Act
    for (let n = 0; n < MAX_REFUSED_REPORTS + 5; n += 1) {
      t.clock.advance(1_000);
      await recordHealthReport(t.deps, report(t.rotation, 'billing-api', n % 2 === 0), {
        source: `forger-${n}`,
      });
    }

    // Assess
    const record = await t.ledger.getRotation(CLIENT, t.rotation.rotationId);
    expect(record?.refusedReportCount).toBe(MAX_REFUSED_REPORTS + 5);
    expect(record?.refusedReports?.map((refused) => refused.source)).toEqual(
      Array.from({ length: MAX_REFUSED_REPORTS }, (_, index) => `forger-${index + 5}`),
    );
    expect(t.callbacks.calls).toEqual([]);
  });

  it('logs, and records nowhere, a refused report for a rotation the ledger does not know', async () => {
    // Prepare
    const t = await waiting();
    const unknown = {
      ...report(t.rotation, 'billing-api', true),
      rotationId: '0e6a2a8c-2d2e-4f5a-9b1c-3d4e5f6a7b8c',
    };

    // Act
    const result = await recordHealthReport(t.deps, unknown, { source: 'forger' });

    // Assess
    expect(result).toEqual({ accepted: false, rejection: 'source_mismatch' });
    expect(t.logger.lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ rejection: 'source_mismatch', recorded: false }),
    );
    expect(await t.ledger.getRotation(CLIENT, unknown.rotationId)).toBeNull();
  });
});
