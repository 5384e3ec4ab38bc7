import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { LeakReports } from '#adapters/aws/ledger/LeakReports.js';
import { RotationRecords } from '#adapters/aws/ledger/RotationRecords.js';
import type { LeakReportRecord } from '#core/ports.js';
import { at, newClientId, rotationRecord, useMotoLedger } from './motoLedger.js';

/** Leak reports: one item per accepted report, kept once per event id, listed newest first. */
describe('Class: LeakReports (moto)', () => {
  let ledger: LeakReports;
  // The rotation records share the client's partition: each listing must pass the other's items by.
  let records: RotationRecords;
  const table = useMotoLedger('rotator-ledger-leaks', (props) => {
    ledger = new LeakReports(props);
    records = new RotationRecords(props);
  });

  function leakReport(clientId: string, overrides: Partial<LeakReportRecord> = {}): LeakReportRecord {
    return {
      clientId,
      eventId: randomUUID(),
      receivedAt: at(0),
      source: 'github-secret-scanning',
      reference: 'https://github.com/acme/app/security/secret-scanning/1\u001b[2J',
      matchedBy: 'fingerprint',
      fingerprintPrefix: '0123456789ab',
      leaked: 'current',
      outcome: { result: 'rotation_started', executionArn: 'arn:aws:states:us-east-1:1:execution:r:leak-1' },
      ...overrides,
    };
  }

  it('stores a report as LEAK#<receivedAt>#<eventId> with a ttl 180 days on, once per event id', async () => {
    // Prepare
    const clientId = newClientId();
    const report = leakReport(clientId);

    // Act
    const first = await ledger.recordLeakReport(report);
    const redelivered = await ledger.recordLeakReport({
      ...report,
      receivedAt: at(5),
      outcome: { result: 'escalated', rotationId: randomUUID(), escalation: 'complete' },
    });

    // Assess: one report item (the first delivery's) and its guard; both expire in 180 days.
    expect([first, redelivered]).toEqual([true, false]);
    const ttl = Date.parse(at(0)) / 1000 + 180 * 24 * 60 * 60;
    const items = await table.itemsOf(clientId);
    expect(items).toHaveLength(2);
    expect(items).toContainEqual({
      ...report,
      outcome: { ...report.outcome },
      pk: clientId,
      sk: `LEAK#${at(0)}#${report.eventId}`,
      ttl,
    });
    expect(items).toContainEqual(
      expect.objectContaining({ sk: `LEAKEVENT#${report.eventId}`, ttl, receivedAt: at(0) }),
    );
    expect(await ledger.listLeakReports(clientId, 10)).toEqual([report]);
  });

  it('keeps one report of 10 concurrent deliveries of one event', async () => {
    // Prepare
    const clientId = newClientId();
    const report = leakReport(clientId);

    // Act
    const recorded = await Promise.all(
      Array.from({ length: 10 }, (_, minute) =>
        ledger.recordLeakReport({ ...report, receivedAt: at(minute) }),
      ),
    );

    // Assess
    expect(recorded.filter(Boolean)).toHaveLength(1);
    expect(await table.itemsOf(clientId)).toHaveLength(2);
    expect(await ledger.listLeakReports(clientId, 10)).toHaveLength(1);
  });

  it('lists the reports newest first, up to the limit, apart from the rotations', async () => {
    // Prepare
    const clientId = newClientId();
    await records.createRotation(rotationRecord(clientId));
    const reports = [0, 2, 1].map((minute) =>
      leakReport(clientId, {
        receivedAt: at(minute),
        matchedBy: 'client_id',
        fingerprintPrefix: undefined,
        reference: undefined,
        leaked: minute === 1 ? 'dead' : 'current',
        outcome:
          minute === 1 ? { result: 'already_dead' } : { result: 'rotation_started', executionArn: 'a' },
      }),
    );
    for (const report of reports) await ledger.recordLeakReport(report);

    // Act
    const listed = await ledger.listLeakReports(clientId, 2);
    const rotations = await records.listRotations(clientId, 10);

    // Assess
    expect(listed.map((report) => report.receivedAt)).toEqual([at(2), at(1)]);
    expect(listed[1]).toEqual({
      clientId,
      eventId: reports[2]?.eventId,
      receivedAt: at(1),
      source: 'github-secret-scanning',
      matchedBy: 'client_id',
      leaked: 'dead',
      outcome: { result: 'already_dead' },
    });
    expect(rotations).toHaveLength(1);
  });

  it('writes the report a delivery that died after its guard left unwritten, under the guard’s key', async () => {
    // Prepare: the first delivery wrote its guard, then died.
    const clientId = newClientId();
    const report = leakReport(clientId);
    const reportSk = `LEAK#${at(0)}#${report.eventId}`;
    await table.doc.send(
      new PutCommand({
        TableName: table.props.tableName,
        Item: { pk: clientId, sk: `LEAKEVENT#${report.eventId}`, reportSk, receivedAt: at(0), ttl: 1 },
      }),
    );

    // Act
    const recorded = await ledger.recordLeakReport({ ...report, receivedAt: at(3) });

    // Assess
    expect(recorded).toBe(true);
    expect((await table.itemsOf(clientId)).map((item) => item.sk)).toContain(reportSk);
    expect(await ledger.listLeakReports(clientId, 10)).toEqual([report]);
  });
});
