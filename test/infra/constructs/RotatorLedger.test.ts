import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { RotatorLedger, type RotatorLedgerProps } from '../../../lib/constructs/RotatorLedger.js';

function synth(props: Partial<RotatorLedgerProps> = {}): { ledger: RotatorLedger; template: Template } {
  const stack = new Stack(new App(), 'Ledger');
  const ledger = new RotatorLedger(stack, 'RotatorLedger', props);
  return { ledger, template: Template.fromStack(stack) };
}

describe('Construct: RotatorLedger', () => {
  it('creates a rotating customer-managed key, the ledger table with its index, all retained by default', () => {
    // Act
    const { template } = synth();

    // Assess
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true, RotationPeriodInDays: 365 }),
      DeletionPolicy: 'Retain',
    });
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        LocalSecondaryIndexes: [Match.objectLike({ IndexName: 'byStartedAt' })],
        SSESpecification: Match.objectLike({ SSEType: 'KMS' }),
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('creates the fingerprint key and no secret per client: the clients are registry data', () => {
    // Act
    const { template } = synth();

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
      }),
      DeletionPolicy: 'RetainExceptOnCreate',
    });
  });

  it('uses a given key instead of creating one, and a given removal policy', () => {
    // Prepare
    const stack = new Stack(new App(), 'Given');
    const key = new kms.Key(stack, 'Mine');

    // Act
    const ledger = new RotatorLedger(stack, 'RotatorLedger', {
      encryptionKey: key,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Assess
    const template = Template.fromStack(stack);
    expect(ledger.encryptionKey).toBe(key);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('creates its resources in its own scope, or in resourceScope when given one', () => {
    // Prepare
    const stack = new Stack(new App(), 'Scopes');
    const owner = new Construct(stack, 'Owner');

    // Act
    const own = new RotatorLedger(stack, 'Own');
    const lent = new RotatorLedger(owner, 'Lent', { resourceScope: owner });

    // Assess
    expect(own.table.node.path).toBe('Scopes/Own/Ledger');
    expect(lent.table.node.path).toBe('Scopes/Owner/Ledger');
  });
});
