import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import type { PolicyDocument } from '#sandbox/gateway/iamPolicy.js';
import {
  CONSUMER_POLICY,
  consumerUserName,
  createSandboxPrincipals,
  MissingTemplatePolicyError,
  OPERATOR_POLICY,
} from '#sandbox/world/principals.js';

const POLICY: PolicyDocument = { Version: '2012-10-17', Statement: [] };

describe('The sandbox’s principals (sandbox/world/principals.ts)', () => {
  it('refuses to start, naming what is missing, when the template lacks the consumer or the operator policy', async () => {
    // Prepare: an endpoint nothing listens on: the check comes before any IAM call.
    const dispatcher = new Agent();
    const target = {
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      accountId: '123456789012',
      dispatcher,
      eventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/b',
    };

    // Act
    const documentArn = 'arn:aws:s3:::bucket/token-revocations.json';
    const withoutConsumer = await createSandboxPrincipals(
      target,
      new Map([[OPERATOR_POLICY, POLICY]]),
      ['a'],
      documentArn,
    ).catch((error: unknown) => error);
    const withoutOperator = await createSandboxPrincipals(
      target,
      new Map([[CONSUMER_POLICY, POLICY]]),
      ['a'],
      documentArn,
    ).catch((error: unknown) => error);
    await dispatcher.close();

    // Assess
    expect(withoutConsumer).toBeInstanceOf(MissingTemplatePolicyError);
    expect((withoutConsumer as Error).message).toContain("no managed policy 'ConsumerHealthReportsPolicy'");
    expect(withoutOperator).toBeInstanceOf(MissingTemplatePolicyError);
    expect((withoutOperator as Error).message).toContain("no managed policy 'OperatorPolicy'");
  });

  it('names each consumer’s IAM user within IAM’s 64 characters, distinct for distinct names', () => {
    // Prepare
    const long = `${'a'.repeat(60)}-one`;
    const other = `${'a'.repeat(60)}-two`;

    // Act
    const names = [consumerUserName('billing-api'), consumerUserName(long), consumerUserName(other)];

    // Assess
    expect(names[0]).toBe('consumer-billing-api');
    for (const name of names) expect(name.length).toBeLessThanOrEqual(64);
    expect(new Set(names).size).toBe(3);
  });
});
