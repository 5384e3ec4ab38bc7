import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS, type EventDetailType } from '#core/events.js';

const rotationId = randomUUID();
const base = { rotationId, clientId: 'm2m-client-test-1', clientKind: 'm2m', trigger: 'schedule' } as const;
const at = '2026-11-25T18:00:00.000Z';

/** One valid detail per event type: the bad cases below each break exactly one thing. */
const VALID: Record<EventDetailType, Record<string, unknown>> = {
  'Rotation Started': { ...base, reason: 'quarterly', requestedBy: 'scheduler', startedAt: at },
  'Rotation Pending': {
    ...base,
    secretId: 'stytch/m2m/m2m-client-test-1',
    pendingVersionId: rotationId,
    pendingLastFour: 'DzJj',
    currentLastFour: 'Ab12',
    deadline: at,
    expectedConsumers: ['billing-api'],
  },
  'Consumer Health Reported': {
    clientId: 'm2m-client-test-1',
    rotationId,
    pendingVersionId: rotationId,
    consumer: 'billing-api',
    healthy: true,
  },
  'Rotation Completed': {
    ...base,
    reason: 'all_consumers_healthy',
    currentVersionId: rotationId,
    currentLastFour: 'DzJj',
    previousLastFour: 'Ab12',
    completedAt: at,
    durationMs: 1234,
  },
  'Rotation Cancelled': {
    ...base,
    reason: 'consumer_unhealthy',
    detail: 'billing-api: 401',
    cancelledAt: at,
    durationMs: 9,
  },
  'Rotation Failed': {
    ...base,
    state: 'CancelRotation',
    error: { name: 'StytchApiError', message: 'boom' },
    failedAt: at,
  },
  'Secret Leak Detected': { clientId: 'm2m-client-test-1', source: 'github-secret-scanning' },
  'Token Revocation Requested': {
    clientId: 'm2m-client-test-1',
    before: at,
    note: 'INC-42',
    requestedBy: 'cli:ana',
  },
  'Client Tokens Revoked': {
    clientId: 'm2m-client-test-1',
    cutoff: at,
    expiresAt: '2026-11-25T19:01:00.000Z',
    rotationId,
    reason: 'leak_rotation',
  },
};

describe('Event schemas', () => {
  it.each(Object.keys(VALID) as EventDetailType[])('accepts a valid %s detail', (detailType) => {
    expect(EVENT_SCHEMAS[detailType].safeParse(VALID[detailType]).success).toBe(true);
  });

  it.each(Object.keys(VALID) as EventDetailType[])(
    'rejects an unknown key in %s (nothing rides along)',
    (detailType) => {
      // Act
      const result = EVENT_SCHEMAS[detailType].safeParse({
        ...VALID[detailType],
        client_secret: 'x'.repeat(44),
      });

      // Assess
      expect(result.success).toBe(false);
    },
  );

  it.each([
    ['Rotation Pending', { pendingVersionId: 'not-a-uuid' }],
    ['Rotation Pending', { pendingLastFour: 'toolong' }],
    ['Consumer Health Reported', { healthy: 'yes' }],
    ['Consumer Health Reported', { consumer: '' }],
    ['Rotation Completed', { reason: 'because' }],
    ['Rotation Completed', { durationMs: -1 }],
    ['Rotation Cancelled', { cancelledAt: 'yesterday' }],
    ['Rotation Started', { trigger: 'cron' }],
    ['Client Tokens Revoked', { cutoff: '2026-11-25T18:00:00.500Z' }],
    ['Client Tokens Revoked', { reason: 'because' }],
    ['Token Revocation Requested', { before: 'yesterday' }],
    ['Rotation Started', { clientKind: 'saml' }],
    ['Secret Leak Detected', { clientId: undefined }],
    ['Secret Leak Detected', { clientId: undefined, fingerprint: 'ABC' }],
  ] as const)('rejects a %s detail with %j', (detailType, change) => {
    // Act
    const result = EVENT_SCHEMAS[detailType].safeParse({ ...VALID[detailType], ...change });

    // Assess
    expect(result.success).toBe(false);
  });

  it('accepts a leak alert that names the client by fingerprint only', () => {
    // Act
    const result = EVENT_SCHEMAS['Secret Leak Detected'].safeParse({
      fingerprint: 'a'.repeat(64),
      source: 'responder',
    });

    // Assess
    expect(result.success).toBe(true);
  });
});
