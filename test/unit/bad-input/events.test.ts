import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS } from '#core/events.js';
import { InvalidInputError } from '#core/rotationErrors.js';
import { parseOrThrow } from '#core/validate.js';
import { WorkflowInputSchema } from '#core/workflow.js';

/**
 * Bad event details and workflow inputs (issue 8 §5). Each case breaks one thing of a valid
 * value and asserts the issue is reported at that path. test/unit/core/events.test.ts and
 * workflow.test.ts hold the first cases (an unknown `client_secret` key, `healthy: "yes"`, an
 * empty consumer, a leak with no client, trigger `cron`, …); these are others.
 */

const ROTATION_ID = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';
const FINGERPRINT = 'ab'.repeat(32);

const HEALTH: Record<string, unknown> = {
  clientId: 'm2m-client-test-billing-worker',
  rotationId: ROTATION_ID,
  pendingVersionId: ROTATION_ID,
  consumer: 'billing-api',
  healthy: true,
  detail: 'minted and verified a token',
};
const LEAK: Record<string, unknown> = {
  clientId: 'm2m-client-test-billing-worker',
  fingerprint: FINGERPRINT,
  source: 'github-secret-scanning',
  reference: 'https://github.com/acme/app/security/secret-scanning/1',
  detectedAt: '2026-11-25T18:00:00.000Z',
};
const INPUT: Record<string, unknown> = {
  clientId: 'm2m-client-test-billing-worker',
  trigger: 'manual',
  reason: 'INC-1234',
  requestedBy: 'cli:alice',
};

/** The distinct paths (dotted, sorted) of the issues `schema` finds in `value`; [] when it parses. */
function issuePaths(
  schema: (typeof EVENT_SCHEMAS)[keyof typeof EVENT_SCHEMAS] | typeof WorkflowInputSchema,
  value: unknown,
): string[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return [...new Set(result.error.issues.map((issue) => issue.path.join('.') || '(root)'))].sort();
}

/** `base` with `change` applied; an `undefined` value removes the key. */
function withChange(base: Record<string, unknown>, change: Record<string, unknown>): Record<string, unknown> {
  const value: Record<string, unknown> = { ...base, ...change };
  for (const [key, changed] of Object.entries(change)) if (changed === undefined) delete value[key];
  return value;
}

describe('the valid values these cases start from', () => {
  it('parse', () => {
    expect(issuePaths(EVENT_SCHEMAS['Consumer Health Reported'], HEALTH)).toEqual([]);
    expect(issuePaths(EVENT_SCHEMAS['Secret Leak Detected'], LEAK)).toEqual([]);
    expect(issuePaths(WorkflowInputSchema, INPUT)).toEqual([]);
  });
});

describe('Consumer Health Reported: bad details', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['no clientId', { clientId: undefined }, 'clientId'],
    ['no rotationId', { rotationId: undefined }, 'rotationId'],
    ['no pendingVersionId', { pendingVersionId: undefined }, 'pendingVersionId'],
    ['no consumer', { consumer: undefined }, 'consumer'],
    ['no healthy', { healthy: undefined }, 'healthy'],
    ['an unknown key (a misspelt "Healthy")', { Healthy: false }, '(root)'],
    ['an unknown key carrying a token', { accessToken: 'eyJhbGciOiJSUzI1NiJ9.e30.sig' }, '(root)'],
    ['a rotationId that is not a UUID', { rotationId: 'rotation-42' }, 'rotationId'],
    [
      'a pendingVersionId that is a UUID without dashes',
      { pendingVersionId: ROTATION_ID.replaceAll('-', '') },
      'pendingVersionId',
    ],
    ['a clientId with a slash', { clientId: 'm2m/../other' }, 'clientId'],
    ['a consumer with a space', { consumer: 'billing api' }, 'consumer'],
    ['a consumer starting with "-"', { consumer: '-billing' }, 'consumer'],
    ['a consumer of 65 characters', { consumer: 'c'.repeat(65) }, 'consumer'],
    ['a detail of 1001 characters', { detail: 'd'.repeat(1001) }, 'detail'],
    ['a detail that is not a string', { detail: { code: 401 } }, 'detail'],
    ['healthy as the string "true"', { healthy: 'true' }, 'healthy'],
    ['healthy as 1', { healthy: 1 }, 'healthy'],
    ['healthy as null', { healthy: null }, 'healthy'],
  ])('rejects %s', (_label, change, path) => {
    expect(issuePaths(EVENT_SCHEMAS['Consumer Health Reported'], withChange(HEALTH, change))).toEqual([path]);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', [HEALTH]],
    ['a JSON string of a valid detail', JSON.stringify(HEALTH)],
  ])('rejects a detail that is %s', (_label, detail) => {
    expect(issuePaths(EVENT_SCHEMAS['Consumer Health Reported'], detail)).toEqual(['(root)']);
  });

  it('reports every problem of one detail at once, with its path and without any value', () => {
    // Prepare
    const detail = {
      ...HEALTH,
      rotationId: 'not-a-uuid',
      consumer: 'bad name',
      healthy: 'yes',
      clientSecret: 'never-printed-secret-value-1234',
    };

    // Act
    let error: unknown;
    try {
      parseOrThrow(EVENT_SCHEMAS['Consumer Health Reported'], detail, 'Consumer Health Reported event');
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(InvalidInputError);
    const { issues, message } = error as InvalidInputError;
    expect(issues.map((issue) => issue.split(':')[0])).toEqual(
      expect.arrayContaining(['rotationId', 'consumer', 'healthy', '(root)']),
    );
    expect(issues).toHaveLength(4);
    expect(message).toMatch(/^Invalid Consumer Health Reported event: /);
    expect(message).not.toContain('never-printed-secret-value-1234');
    expect(message).not.toContain('not-a-uuid');
    expect(message).not.toContain('bad name');
  });
});

describe('Secret Leak Detected: bad details', () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'neither clientId nor fingerprint (a reference only)',
      { clientId: undefined, fingerprint: undefined },
      'clientId',
    ],
    ['a fingerprint of 63 hex digits', { fingerprint: FINGERPRINT.slice(1) }, 'fingerprint'],
    ['a fingerprint of 65 hex digits', { fingerprint: `${FINGERPRINT}a` }, 'fingerprint'],
    ['an upper-case fingerprint', { fingerprint: FINGERPRINT.toUpperCase() }, 'fingerprint'],
    ['a fingerprint with a non-hex digit', { fingerprint: `${FINGERPRINT.slice(1)}g` }, 'fingerprint'],
    ['a fingerprint with a sha256: prefix', { fingerprint: `sha256:${FINGERPRINT}` }, 'fingerprint'],
    ['an empty source', { source: '' }, 'source'],
    ['no source', { source: undefined }, 'source'],
    ['a source of 101 characters', { source: 's'.repeat(101) }, 'source'],
    ['a reference of 2049 characters', { reference: `https://x/${'r'.repeat(2039)}` }, 'reference'],
    ['a detectedAt that is not ISO-8601', { detectedAt: '25/11/2026 18:00' }, 'detectedAt'],
    ['a detectedAt without an offset', { detectedAt: '2026-11-25T18:00:00' }, 'detectedAt'],
    [
      'an unknown key carrying the leaked value',
      { leakedValue: 'never-printed-secret-value-1234' },
      '(root)',
    ],
    ['a clientId of 129 characters', { clientId: 'c'.repeat(129) }, 'clientId'],
  ])('rejects %s', (_label, change, path) => {
    expect(issuePaths(EVENT_SCHEMAS['Secret Leak Detected'], withChange(LEAK, change))).toEqual([path]);
  });
});

describe('Workflow input: bad StartExecution inputs', () => {
  it.each<[string, unknown, string[]]>([
    ['no trigger', withChange(INPUT, { trigger: undefined }), ['trigger']],
    ['a trigger in the wrong case', withChange(INPUT, { trigger: 'Manual' }), ['trigger']],
    [
      'the trigger "emergency" (the CLI command, not a trigger)',
      withChange(INPUT, { trigger: 'emergency' }),
      ['trigger'],
    ],
    ['no clientId', withChange(INPUT, { clientId: undefined }), ['clientId']],
    ['an empty clientId', withChange(INPUT, { clientId: '' }), ['clientId']],
    ['a clientId of 129 characters', withChange(INPUT, { clientId: 'c'.repeat(129) }), ['clientId']],
    [
      'the snake_case key client_id instead of clientId',
      withChange(INPUT, { clientId: undefined, client_id: 'm2m-x' }),
      ['clientId', '(root)'],
    ],
    ['an extra key', withChange(INPUT, { deadlineSeconds: 5 }), ['(root)']],
    ['a reason that is a number', withChange(INPUT, { reason: 42 }), ['reason']],
    ['a requestedBy of 501 characters', withChange(INPUT, { requestedBy: 'u'.repeat(501) }), ['requestedBy']],
    ['null', null, ['(root)']],
    ['an array', [INPUT], ['(root)']],
  ])('rejects %s', (_label, input, paths) => {
    expect(issuePaths(WorkflowInputSchema, input)).toEqual([...paths].sort());
  });
});
