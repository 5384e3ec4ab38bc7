import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/index.js';
import { decideWait } from '#core/decision.js';
import type { StepDeps } from '#core/deps.js';
import { consumerSource } from '#core/events.js';
import type { LeakReportRecord } from '#core/ports.js';
import { recordHealthReport } from '#core/steps/recordHealthReport.js';
import { fakeDeps } from '../../support/fakes.js';
import {
  at,
  clientRegistration,
  newClientId,
  rotationRecord,
  T0,
  useMotoLedger,
} from './ledger/motoLedger.js';

/*
 * The ledger as the steps, the CLI and the sandbox use it: the composition of its concerns over one
 * table. Each concern's own behaviour is tested with it alone, in ./ledger/.
 */

describe('Class: DynamoLedger (moto), one table for every concern', () => {
  let ledger: DynamoLedger;
  const table = useMotoLedger('rotator-ledger-composed', (props) => {
    ledger = new DynamoLedger(props);
  });

  it('keeps a client’s lock, rotation and leak report, the registry and a fingerprint apart in one table', async () => {
    // Prepare
    const clientId = newClientId();
    const rotation = rotationRecord(clientId, { status: 'pending' });
    const fingerprint = 'f'.repeat(64);
    const registration = clientRegistration({ clientId });
    const leak: LeakReportRecord = {
      clientId,
      eventId: randomUUID(),
      receivedAt: at(1),
      source: 'responder',
      matchedBy: 'client_id',
      leaked: 'pending',
      outcome: { result: 'escalated', rotationId: rotation.rotationId, escalation: 'cancel' },
    };

    // Act
    await ledger.acquireLock({ clientId, rotationId: rotation.rotationId, expiresAt: at(30) }, T0);
    await ledger.createRotation(rotation);
    const reported = await ledger.recordReport(clientId, rotation.rotationId, 'billing-api', {
      healthy: true,
      reportedAt: at(2),
    });
    const escalated = await ledger.escalateRotation(clientId, rotation.rotationId, 'cancel', at(1));
    await ledger.recordLeakReport(leak);
    await ledger.putRegistration(registration);
    await ledger.putFingerprint({
      fingerprint,
      clientId,
      clientKind: 'm2m',
      stage: 'pending',
      versionId: rotation.rotationId,
      lastFour: 'a1b2',
      updatedAt: at(0),
    });

    // Assess: every concern reads back its own items, and only them.
    expect((await ledger.getLock(clientId))?.rotationId).toBe(rotation.rotationId);
    expect(reported?.reports).toEqual({ 'billing-api': { healthy: true, reportedAt: at(2) } });
    expect(escalated?.escalatedCancel).toBe(at(1));
    expect(await ledger.listRotations(clientId, 10)).toEqual([escalated]);
    expect(await ledger.listLeakReports(clientId, 10)).toEqual([leak]);
    expect((await ledger.getRegistration(clientId))?.name).toBe(registration.name);
    expect(await ledger.listRegistrations()).toHaveLength(1);
    expect((await ledger.findFingerprint(fingerprint))?.clientId).toBe(clientId);
    const { Items = [] } = await table.doc.send(new ScanCommand({ TableName: table.props.tableName }));
    expect(Items.map((item) => `${item.pk}|${item.sk}`).sort()).toEqual(
      [
        `${clientId}|LOCK`,
        `${clientId}|ROTATION#${rotation.rotationId}`,
        `${clientId}|LEAK#${at(1)}#${leak.eventId}`,
        `${clientId}|LEAKEVENT#${leak.eventId}`,
        `REGISTRY#|CLIENT#${clientId}`,
        `REGISTRY#|NAME#${registration.name}`,
        `FINGERPRINT#${fingerprint}|FINGERPRINT`,
      ].sort(),
    );
  });

  it('releases the lock and answers the wait through the same object', async () => {
    // Prepare
    const clientId = newClientId();
    const rotation = await ledger.createRotation(rotationRecord(clientId, { status: 'pending' }));
    await ledger.acquireLock({ clientId, rotationId: rotation.rotationId, expiresAt: at(30) }, T0);

    // Act
    const claimed = await ledger.claimDecision(clientId, rotation.rotationId, at(3), {
      kind: 'succeed',
      reason: 'all_consumers_healthy',
    });
    await ledger.markAnswered(clientId, rotation.rotationId, at(4));
    const completed = await ledger.updateRotation(clientId, rotation.rotationId, {
      status: 'completed',
      steps: { completed: at(4) },
    });
    await ledger.releaseLock(clientId, rotation.rotationId);
    const takenOver = await ledger.takeOverLock(
      { clientId, rotationId: randomUUID(), expiresAt: at(60) },
      rotation.rotationId,
    );
    const refused = await ledger.recordRefusedReport(clientId, rotation.rotationId, {
      claimed: 'billing-api',
      source: 'forger',
      healthy: true,
      at: at(5),
    });

    // Assess
    expect(claimed).toBe(true);
    expect(completed).toMatchObject({ status: 'completed', decidedAt: at(3), answeredAt: at(4) });
    expect(await ledger.getLock(clientId)).toBeNull();
    expect(takenOver).toBe(false);
    expect(refused).toBe(true);
    expect((await ledger.getRotation(clientId, rotation.rotationId))?.refusedReportCount).toBe(1);
  });
});

/**
 * The reports map keyed by consumer names that are also members of `Object.prototype`, stored in
 * DynamoDB and read back through the document client: the health aggregator over the real ledger
 * waits for `constructor` and `toString`, and cancels on an unhealthy `valueOf`.
 */
describe('Class: DynamoLedger (moto), consumers named like Object.prototype members', () => {
  let ledger: DynamoLedger;
  useMotoLedger('rotator-ledger-prototype-names', (props) => {
    ledger = new DynamoLedger(props);
  });

  /** A pending rotation waiting on `expectedConsumers`, and the aggregator's deps over this ledger. */
  async function waitingRotation(expectedConsumers: string[]) {
    const clientId = newClientId();
    const fakes = fakeDeps({ [clientId]: { kind: 'm2m', policy: { expectedConsumers } } });
    fakes.clock.current = T0;
    const rotationId = randomUUID();
    await ledger.createRotation(
      rotationRecord(clientId, {
        rotationId,
        status: 'pending',
        pendingVersionId: rotationId,
        expectedConsumers,
        taskToken: 'token-1',
      }),
    );
    const deps: StepDeps = { ...fakes.deps, ledger };
    const report = (consumer: string, healthy: boolean) =>
      recordHealthReport(
        deps,
        {
          clientId,
          rotationId,
          pendingVersionId: rotationId,
          consumer,
          healthy,
          ...(healthy ? {} : { detail: `${consumer}: token rejected` }),
        },
        { source: consumerSource(consumer) },
      );
    return { clientId, rotationId, callbacks: fakes.callbacks, report };
  }

  it('reads back an empty reports map as no report of "constructor" or "toString"', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString']);

    // Act
    const stored = await ledger.getRotation(t.clientId, t.rotationId);

    // Assess
    expect(stored?.reports).toEqual({});
    expect(stored === null ? 'missing' : decideWait(stored)).toEqual({ kind: 'waiting' });
  });

  it('waits for both "constructor" and "toString", and completes once both reported healthy', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString']);

    // Act
    const first = await t.report('constructor', true);
    const callbacksAfterFirst = [...t.callbacks.calls];
    const second = await t.report('toString', true);

    // Assess
    expect(first).toEqual({ accepted: true, decision: 'waiting' });
    expect(callbacksAfterFirst).toEqual([]);
    expect(second).toEqual({ accepted: true, decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
    const stored = await ledger.getRotation(t.clientId, t.rotationId);
    expect(Object.keys(stored?.reports ?? {}).sort()).toEqual(['constructor', 'toString']);
    expect(stored?.reports.toString).toEqual({ healthy: true, reportedAt: T0.toISOString() });
  });

  it('cancels when "valueOf" reports unhealthy', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString', 'valueOf']);
    await t.report('constructor', true);

    // Act
    const result = await t.report('valueOf', false);

    // Assess
    expect(result).toEqual({ accepted: true, decision: 'unhealthy' });
    expect(t.callbacks.calls).toHaveLength(1);
    expect(t.callbacks.calls[0]).toMatchObject({ kind: 'fail', payload: { error: 'ConsumerUnhealthy' } });
    const failure = t.callbacks.calls[0]?.payload as { cause: string } | undefined;
    expect(JSON.parse(failure?.cause ?? '{}')).toEqual({
      consumer: 'valueOf',
      detail: 'valueOf: token rejected',
    });
  });

  it('refuses to record a report under "__proto__", which no consumer name can be', async () => {
    // Prepare
    const created = await ledger.createRotation(rotationRecord(newClientId(), { status: 'pending' }));

    // Act
    const error = await ledger
      .recordReport(created.clientId, created.rotationId, '__proto__', { healthy: true, reportedAt: at(1) })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect((await ledger.getRotation(created.clientId, created.rotationId))?.reports).toEqual({});
  });
});
