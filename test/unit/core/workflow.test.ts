import { describe, expect, it } from 'vitest';
import { WorkflowInputSchema } from '#core/workflow.js';

describe('Schema: WorkflowInputSchema', () => {
  it('accepts the documented input', () => {
    // Act
    const result = WorkflowInputSchema.parse({
      clientId: 'm2m-client-test-d731954d-dab3-4a2b-bdee-07f3ad1be885',
      trigger: 'manual',
      reason: 'INC-1234',
      requestedBy: 'alice',
    });

    // Assess
    expect(result.trigger).toBe('manual');
  });

  it.each([
    ['no clientId', { trigger: 'schedule' }],
    ['an unknown trigger', { clientId: 'c1', trigger: 'cron' }],
    ['a clientId with a slash', { clientId: '../etc', trigger: 'schedule' }],
    ['an unknown key', { clientId: 'c1', trigger: 'schedule', force: true }],
    ['an empty reason', { clientId: 'c1', trigger: 'manual', reason: '  ' }],
    ['a 501-character reason', { clientId: 'c1', trigger: 'manual', reason: 'x'.repeat(501) }],
    ['not an object', 'c1'],
  ])('rejects %s', (_label, input) => {
    expect(WorkflowInputSchema.safeParse(input).success).toBe(false);
  });
});
