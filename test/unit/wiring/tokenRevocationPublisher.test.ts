import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ClientTokensRevokedEvent,
  parseRevocationDocument,
  type RevocationDocumentPort,
} from '#core/tokenRevocation.js';
import { readTokenRevocationEnv } from '#wiring/tokenRevocationEnvironment.js';
import { tokenRevocationPublisherHandler } from '#wiring/tokenRevocationPublisher.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';

function world() {
  let body: string | null = null;
  const document: RevocationDocumentPort = {
    read: async () => ({
      document: body === null ? null : parseRevocationDocument(body),
      version: body === null ? null : 'v1',
    }),
    write: async (text) => {
      body = text;
      return 'written';
    },
  };
  const published: ClientTokensRevokedEvent[] = [];
  const logger = new RecordingLogger();
  const handler = tokenRevocationPublisherHandler(() => ({
    document,
    events: { publish: async (event) => published.push(event) },
    clock: new FakeClock('2026-11-25T12:00:00.000Z'),
    wait: async () => undefined,
    logger,
  }));
  return { handler, published, logger, body: () => body };
}

const completion = (trigger: string) => ({
  'detail-type': 'Rotation Completed',
  source: 'stytch-m2m-rotator',
  detail: {
    rotationId: randomUUID(),
    clientId: 'm2m-a',
    clientKind: 'm2m',
    trigger,
    reason: 'leak_fail_secure',
    currentVersionId: randomUUID(),
    currentLastFour: 'DzJj',
    previousLastFour: 'Ab12',
    completedAt: '2026-11-25T11:59:58.250Z',
    durationMs: 4000,
  },
});

describe('The TokenRevocationPublisher handler (lambdas/wiring/tokenRevocationPublisher.ts)', () => {
  it("revokes on a leak rotation's completion", async () => {
    // Prepare
    const { handler, published, body } = world();

    // Act
    const result = await handler(completion('leak'));

    // Assess
    expect(result).toMatchObject({
      outcome: 'revoked',
      record: { clientId: 'm2m-a', cutoff: '2026-11-25T11:59:59.000Z' },
    });
    expect(published).toHaveLength(1);
    expect(parseRevocationDocument(body() ?? '').revocations).toHaveLength(1);
  });

  it('writes nothing for a scheduled rotation, and says why', async () => {
    // Prepare
    const { handler, published, logger, body } = world();

    // Act
    const result = await handler(completion('schedule'));

    // Assess
    expect(result).toEqual({ outcome: 'ignored', why: 'a schedule rotation' });
    expect(published).toEqual([]);
    expect(body()).toBeNull();
    expect(logger.lines.map((line) => JSON.parse(line).message)).toEqual(['No token revocation called for']);
  });

  it("logs an operator's note scrubbed of control characters", async () => {
    // Prepare
    const { handler, logger } = world();

    // Act
    await handler({
      'detail-type': 'Token Revocation Requested',
      source: 'stytch-m2m-rotator.operator',
      detail: { clientId: 'm2m-a', note: 'INC-1\u001b[31m', requestedBy: 'cli:ana' },
    });

    // Assess
    const requested = JSON.parse(logger.lines[0] ?? '{}');
    expect(requested).toMatchObject({
      message: 'Token revocation requested',
      note: 'INC-1?[31m',
      requestedBy: 'cli:ana',
    });
  });

  it('names every missing variable of its environment', () => {
    expect(() => readTokenRevocationEnv({})).toThrow(
      /ROTATOR_EVENT_BUS_NAME.*ROTATOR_REVOCATIONS_BUCKET|ROTATOR_REVOCATIONS_BUCKET.*ROTATOR_EVENT_BUS_NAME/s,
    );
  });
});
