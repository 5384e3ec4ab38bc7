import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { RotatorLedger, type RotatorLedgerProps } from '../../../lib/constructs/RotatorLedger.js';

const CLIENTS = [
  { clientId: 'm2m-client-test-a', kind: 'm2m' },
  { clientId: 'connected-app-test-b', kind: 'connected_app' },
] as const;

function synth(props: Partial<RotatorLedgerProps> = {}): { ledger: RotatorLedger; template: Template } {
  const stack = new Stack(new App(), 'Ledger');
  const ledger = new RotatorLedger(stack, 'RotatorLedger', {
    clients: CLIENTS,
    secretPrefix: 'stytch/m2m',
    ...props,
  });
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

  it('creates one placeholder secret per client named <prefix>/<client id>, and the fingerprint key', () => {
    // Act
    const { ledger, template } = synth();

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'stytch/m2m/connected-app-test-b',
      Description: Match.stringLikeRegexp('connected_app client connected-app-test-b'),
      GenerateSecretString: { SecretStringTemplate: '{"enrolled":false}', GenerateStringKey: 'placeholder' },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
    expect([...ledger.managedSecrets.keys()]).toEqual(['m2m-client-test-a', 'connected-app-test-b']);
  });

  it('uses a given key instead of creating one, and a given removal policy', () => {
    // Prepare
    const stack = new Stack(new App(), 'Given');
    const key = new kms.Key(stack, 'Mine');

    // Act
    const ledger = new RotatorLedger(stack, 'RotatorLedger', {
      clients: CLIENTS,
      secretPrefix: 'p',
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
    const own = new RotatorLedger(stack, 'Own', { clients: [], secretPrefix: 'a' });
    const lent = new RotatorLedger(owner, 'Lent', { clients: [], secretPrefix: 'b', resourceScope: owner });

    // Assess
    expect(own.table.node.path).toBe('Scopes/Own/Ledger');
    expect(lent.table.node.path).toBe('Scopes/Owner/Ledger');
  });

  it('refuses bad props, listing every problem at once', () => {
    // Prepare
    const props = {
      clients: [CLIENTS[0], CLIENTS[0]],
      secretPrefix: 'ends/with/',
    } as RotatorLedgerProps;

    // Act
    const build = () => new RotatorLedger(new Stack(new App(), 'Bad'), 'RotatorLedger', props);

    // Assess
    expect(build).toThrow(
      /Invalid RotatorLedger props:\n- secretPrefix "ends\/with\/" must not end with "\/"/,
    );
    expect(build).toThrow(/- clients\[1\]\.clientId "m2m-client-test-a" is already listed at clients\[0\]/);
  });
});
