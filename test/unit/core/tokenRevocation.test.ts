import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { revocationOfEvent } from '#core/revocationRequests.js';
import {
  type ClientTokensRevokedEvent,
  contendedWriteWaitMs,
  MAX_REVOCATION_DOCUMENT_BYTES,
  mergeRevocations,
  parseRevocationDocument,
  publishRevocation,
  REVOCATION_WRITE_ATTEMPTS,
  RevocationDocumentFormatError,
  type RevocationDocumentPort,
  RevocationDocumentTooLargeError,
  type RevocationRecord,
  RevocationWriteContendedError,
  revocationFor,
  type StoredRevocations,
  serializeRevocationDocument,
} from '#core/tokenRevocation.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const rotationId = randomUUID();

function record(clientId: string, cutoff: string, reason: RevocationRecord['reason'] = 'operator') {
  return revocationFor({ clientId, before: new Date(cutoff), rotationId: null, reason });
}

/** A document store in memory whose version is a counter; `raceOnWrite` writes it from elsewhere first. */
class MemoryDocument implements RevocationDocumentPort {
  public body: string | null = null;
  public version = 0;
  public raceOnWrite = 0;

  public async read(): Promise<StoredRevocations> {
    return this.body === null
      ? { document: null, version: null }
      : { document: parseRevocationDocument(this.body), version: String(this.version) };
  }

  public async write(body: string, expected: string | null): Promise<'written' | 'conflict'> {
    if (this.raceOnWrite > 0) {
      this.raceOnWrite -= 1;
      const other = record(`racer-${this.raceOnWrite}`, NOW.toISOString());
      this.body = serializeRevocationDocument(
        mergeRevocations(
          this.body === null ? [] : parseRevocationDocument(this.body).revocations,
          [other],
          NOW,
        ),
        NOW,
      );
      this.version += 1;
    }
    const current = this.body === null ? null : String(this.version);
    if (current !== expected) return 'conflict';
    this.body = body;
    this.version += 1;
    return 'written';
  }
}

describe('A token revocation record (lambdas/core/tokenRevocation.ts)', () => {
  it('rounds the cutoff up to the next whole second and expires an hour and a minute later', () => {
    // Act
    const late = revocationFor({
      clientId: 'm2m-a',
      before: new Date('2026-11-25T12:00:04.001Z'),
      rotationId,
      reason: 'leak_rotation',
    });
    const exact = record('m2m-a', '2026-11-25T12:00:04.000Z');

    // Assess: a token minted at 12:00:04.000 (iat 12:00:04) is not before an exact cutoff
    expect(late).toEqual({
      clientId: 'm2m-a',
      cutoff: '2026-11-25T12:00:05.000Z',
      expiresAt: '2026-11-25T13:01:05.000Z',
      rotationId,
      reason: 'leak_rotation',
    });
    expect(exact.cutoff).toBe('2026-11-25T12:00:04.000Z');
  });

  it('keeps one record per client, moves a cutoff forward only, drops expired ones, sorts by client', () => {
    // Prepare
    const existing = [
      record('m2m-b', '2026-11-25T11:59:00.000Z'),
      record('m2m-a', '2026-11-25T11:58:00.000Z'),
      record('m2m-old', '2026-11-25T10:58:59.000Z'), // expires 11:59:59
    ];

    // Act
    const merged = mergeRevocations(
      existing,
      [record('m2m-a', '2026-11-25T11:59:30.000Z'), record('m2m-b', '2026-11-25T11:30:00.000Z')],
      NOW,
    );

    // Assess
    expect(merged.map((held) => [held.clientId, held.cutoff])).toEqual([
      ['m2m-a', '2026-11-25T11:59:30.000Z'],
      ['m2m-b', '2026-11-25T11:59:00.000Z'],
    ]);
  });

  it('serializes the contract document and reads it back', () => {
    // Prepare
    const records = [record('m2m-a', '2026-11-25T11:59:30.000Z')];

    // Act
    const text = serializeRevocationDocument(records, NOW);

    // Assess
    expect(JSON.parse(text)).toEqual({
      schemaVersion: 1,
      updatedAt: '2026-11-25T12:00:00.000Z',
      revocations: [
        {
          clientId: 'm2m-a',
          cutoff: '2026-11-25T11:59:30.000Z',
          expiresAt: '2026-11-25T13:00:30.000Z',
          rotationId: null,
          reason: 'operator',
        },
      ],
    });
    expect(parseRevocationDocument(text).revocations).toEqual(records);
  });

  it('refuses to write a document over 256 KiB rather than drop a live record', () => {
    // Prepare: ~150 bytes a record
    const many = Array.from({ length: 2000 }, (_, i) => record(`m2m-client-${i}`, NOW.toISOString()));

    // Act + Assess
    expect(() => serializeRevocationDocument(many, NOW)).toThrow(RevocationDocumentTooLargeError);
  });

  it.each([
    ['not JSON', '{"schemaVersion":1,'],
    [
      'another schema version',
      JSON.stringify({ schemaVersion: 2, updatedAt: NOW.toISOString(), revocations: [] }),
    ],
    [
      'a cutoff off the second',
      serializeRevocationDocument([], NOW).replace(
        '[]',
        '[{"clientId":"a","cutoff":"2026-11-25T12:00:00.5Z","expiresAt":"2026-11-25T13:00:00Z","rotationId":null,"reason":"operator"}]',
      ),
    ],
    ['too large', ' '.repeat(MAX_REVOCATION_DOCUMENT_BYTES + 1)],
  ])('refuses a stored document that is %s', (_case, text) => {
    expect(() => parseRevocationDocument(text)).toThrow(RevocationDocumentFormatError);
  });
});

describe('Publishing a revocation (publishRevocation)', () => {
  function setup() {
    const document = new MemoryDocument();
    const published: ClientTokensRevokedEvent[] = [];
    const clock = new FakeClock(NOW.toISOString());
    const waits: number[] = [];
    const deps = {
      document,
      events: { publish: async (event: ClientTokensRevokedEvent) => published.push(event) },
      clock,
      wait: async (ms: number) => {
        waits.push(ms);
        clock.advance(ms);
      },
      logger: new RecordingLogger(),
    };
    return { document, published, deps, waits };
  }

  it('publishes a record no earlier than its cutoff: a token minted after a refusal is never covered', async () => {
    // Prepare: the cutoff is the next whole second, 700 ms ahead
    const { published, deps, waits } = setup();
    deps.clock.advance(300);
    const ahead = record('m2m-a', new Date(NOW.getTime() + 700).toISOString());
    const far = record('m2m-b', new Date(NOW.getTime() + 60_000).toISOString());
    const past = record('m2m-c', '2026-11-25T11:59:59.000Z');

    // Act
    await publishRevocation(deps, past);
    await publishRevocation(deps, ahead);
    await publishRevocation(deps, far);

    // Assess: no wait for a past cutoff; 700 ms for the next second; never more than 2 s
    expect(waits).toEqual([700, 2_000]);
    expect(published.map((event) => event.detail.clientId)).toEqual(['m2m-c', 'm2m-a', 'm2m-b']);
  });

  it('writes the record into the document and announces it', async () => {
    // Prepare
    const { document, published, deps } = setup();
    const revocation = record('m2m-a', '2026-11-25T11:59:59.200Z', 'leak_rotation');

    // Act
    const written = await publishRevocation(deps, revocation);

    // Assess
    expect(written).toEqual(revocation);
    expect(parseRevocationDocument(document.body ?? '').revocations).toEqual([revocation]);
    expect(published).toEqual([{ detailType: 'Client Tokens Revoked', detail: revocation }]);
  });

  it('keeps a later cutoff already held and announces that one', async () => {
    // Prepare
    const { published, deps } = setup();
    const later = record('m2m-a', '2026-11-25T11:59:50.000Z');
    await publishRevocation(deps, later);

    // Act
    const written = await publishRevocation(deps, record('m2m-a', '2026-11-25T11:50:00.000Z'));

    // Assess
    expect(written).toEqual(later);
    expect(published.map((event) => event.detail)).toEqual([later, later]);
  });

  it('reads again after losing a race, keeping the other writer’s record', async () => {
    // Prepare
    const { document, deps } = setup();
    document.raceOnWrite = 2;

    // Act
    await publishRevocation(deps, record('m2m-a', NOW.toISOString()));

    // Assess
    const clients = parseRevocationDocument(document.body ?? '').revocations.map((held) => held.clientId);
    expect(clients).toEqual(['m2m-a', 'racer-0', 'racer-1']);
    expect(deps.logger.lines.filter((line) => line.includes('changed while writing'))).toHaveLength(2);
  });

  it('waits a random, growing while after each lost race, so that writers that lost together do not write together again', async () => {
    // Prepare: three writes lost; the random draw is the middle of its range
    const { document, deps, waits } = setup();
    document.raceOnWrite = 3;

    // Act
    await publishRevocation({ ...deps, random: () => 0.5 }, record('m2m-a', NOW.toISOString()));

    // Assess: half of 50, 100, 200 ms
    expect(waits).toEqual([25, 50, 100]);
    expect(parseRevocationDocument(document.body ?? '').revocations.map((held) => held.clientId)).toContain(
      'm2m-a',
    );
  });

  it('keeps each wait under its cap, and all of them within seconds (a Lambda has minutes)', () => {
    const longest = Array.from({ length: REVOCATION_WRITE_ATTEMPTS - 1 }, (_, i) =>
      contendedWriteWaitMs(i + 1, () => 0.999_999),
    );
    expect(Math.max(...longest)).toBeLessThan(2_000);
    expect(longest.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(10_000);
    expect(contendedWriteWaitMs(1, () => 0)).toBe(0);
  });

  it('gives up (retryably) when every write loses', async () => {
    // Prepare
    const { document, published, deps } = setup();
    document.raceOnWrite = REVOCATION_WRITE_ATTEMPTS;

    // Act
    const publishing = publishRevocation(deps, record('m2m-a', NOW.toISOString()));

    // Assess
    await expect(publishing).rejects.toThrow(RevocationWriteContendedError);
    await expect(publishing).rejects.toMatchObject({ retryable: true });
    expect(published).toEqual([]);
  });

  it('writes nothing for a record that has already expired', async () => {
    // Prepare
    const { document, published, deps } = setup();

    // Act
    await publishRevocation(deps, record('m2m-a', '2026-11-25T09:00:00.000Z'));

    // Assess
    expect(document.body).toBeNull();
    expect(published).toEqual([]);
  });
});

describe('The events that call for a revocation (lambdas/core/revocationRequests.ts)', () => {
  const completed = (trigger: string, reason = 'leak_fail_secure') => ({
    'detail-type': 'Rotation Completed',
    source: 'stytch-m2m-rotator',
    detail: {
      rotationId,
      clientId: 'm2m-a',
      clientKind: 'm2m',
      trigger,
      reason,
      currentVersionId: rotationId,
      currentLastFour: 'DzJj',
      previousLastFour: 'Ab12',
      completedAt: '2026-11-25T11:59:58.250Z',
      durationMs: 4000,
    },
  });

  it('makes a leak rotation’s completion the cutoff', () => {
    expect(revocationOfEvent(completed('leak'), NOW)).toEqual({
      record: {
        ...record('m2m-a', '2026-11-25T11:59:59.000Z', 'leak_rotation'),
        rotationId,
      },
    });
  });

  it('makes the completion of a scheduled rotation a leak preempted (leak_escalated) the cutoff', () => {
    expect(revocationOfEvent(completed('schedule', 'leak_escalated'), NOW)).toEqual({
      record: {
        ...record('m2m-a', '2026-11-25T11:59:59.000Z', 'leak_rotation'),
        rotationId,
      },
    });
  });

  it('makes the cancellation of a rotation whose pending secret leaked the cutoff, and ignores other cancellations', () => {
    const cancelled = (reason: string) => ({
      'detail-type': 'Rotation Cancelled',
      source: 'stytch-m2m-rotator',
      detail: {
        rotationId,
        clientId: 'm2m-a',
        clientKind: 'm2m',
        trigger: 'schedule',
        reason,
        cancelledAt: '2026-11-25T11:59:58.250Z',
        durationMs: 4000,
      },
    });
    expect(revocationOfEvent(cancelled('leak_of_pending'), NOW)).toEqual({
      record: { ...record('m2m-a', '2026-11-25T11:59:59.000Z', 'leak_rotation'), rotationId },
    });
    expect(revocationOfEvent(cancelled('consumer_unhealthy'), NOW)).toEqual({
      record: null,
      why: 'a cancellation (consumer_unhealthy)',
    });
  });

  it('ignores a scheduled rotation', () => {
    expect(revocationOfEvent(completed('schedule', 'all_consumers_healthy'), NOW)).toEqual({
      record: null,
      why: 'a schedule rotation',
    });
  });

  it('takes an operator’s request, a future `before` as now', () => {
    // Act
    const future = revocationOfEvent(
      {
        'detail-type': 'Token Revocation Requested',
        source: 'stytch-m2m-rotator.operator',
        detail: {
          clientId: 'm2m-a',
          before: '2026-11-25T13:00:00.000Z',
          note: 'INC-1',
          requestedBy: 'cli:ana',
        },
      },
      NOW,
    );

    // Assess
    expect(future).toEqual({
      record: record('m2m-a', NOW.toISOString()),
      requestedBy: 'cli:ana',
      note: 'INC-1',
    });
  });

  it.each([
    ['a request from a consumer', 'Token Revocation Requested', 'stytch-m2m-rotator.consumer.api'],
    ['a completion claimed by an operator', 'Rotation Completed', 'stytch-m2m-rotator.operator'],
    ['another event', 'Rotation Started', 'stytch-m2m-rotator'],
  ])('refuses %s', (_case, detailType, source) => {
    expect(() =>
      revocationOfEvent({ 'detail-type': detailType, source, detail: { clientId: 'm2m-a' } }, NOW),
    ).toThrow(/not made from/);
  });

  it('refuses a malformed request without echoing it', () => {
    // Act
    const act = () =>
      revocationOfEvent(
        {
          'detail-type': 'Token Revocation Requested',
          source: 'stytch-m2m-rotator.operator',
          detail: { clientId: 'm2m-a', client_secret: 'secret-value-1234' },
        },
        NOW,
      );

    // Assess
    expect(act).toThrow(/Malformed Token Revocation Requested event/);
    expect(act).not.toThrow(/secret-value/);
  });
});
