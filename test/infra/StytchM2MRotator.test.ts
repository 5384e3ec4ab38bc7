import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentConfig, loadDeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { RotatorStack } from '../../lib/RotatorStack.js';
import { StytchM2MRotator } from '../../lib/StytchM2MRotator.js';

const samplePath = fileURLToPath(new URL('../../config/rotator.sample.json', import.meta.url));

function synth(config: DeploymentConfig = loadDeploymentConfig(samplePath)): {
  app: App;
  stack: RotatorStack;
} {
  // Skip asset bundling: these tests are about the template, not the bundles (one test below bundles).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return { app, stack: new RotatorStack(app, 'TestRotator', { config }) };
}

/** The state machine's ASL, with CloudFormation tokens left as they are. */
function definitionOf(
  template: Template,
): Record<string, unknown> & { States: Record<string, Record<string, unknown>> } {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const parts = (machine?.Properties?.DefinitionString?.['Fn::Join']?.[1] ?? []) as unknown[];
  // Tokens (partition, function ARNs) sit inside JSON strings: a placeholder keeps the JSON valid.
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(''));
}

describe('Construct: StytchM2MRotator', () => {
  let template: Template;
  let app: App;

  beforeAll(() => {
    const synthesized = synth();
    app = synthesized.app;
    template = Template.fromStack(synthesized.stack);
  });

  it('creates a customer-managed key with automatic rotation, retained on delete', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true, RotationPeriodInDays: 365 }),
      DeletionPolicy: 'Retain',
    });
  });

  it('creates a custom event bus encrypted with that key', () => {
    template.hasResourceProperties('AWS::Events::EventBus', {
      Name: 'stytch-m2m-rotator',
      KmsKeyIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] },
    });
  });

  it('creates the ledger with point-in-time recovery, the key, and the byStartedAt index', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
        LocalSecondaryIndexes: [Match.objectLike({ IndexName: 'byStartedAt' })],
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('creates one secret per managed client, named <prefix>/<client_id>, with a placeholder value', () => {
    // Five managed secrets, the fingerprint key, and the GitHub webhook's shared secret and token.
    template.resourceCountIs('AWS::SecretsManager::Secret', 8);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'stytch/m2m/m2m-client-test-billing-worker',
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] },
      GenerateSecretString: { SecretStringTemplate: '{"enrolled":false}', GenerateStringKey: 'placeholder' },
    });
  });

  it('never puts the Stytch project secret in the template: only the ARN of the secret holding it', () => {
    // Assess: the credentials ARN is passed by reference, and no function environment holds a secret value.
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: Match.anyValue() } } },
    });
    expect(Object.keys(functions)).toHaveLength(8);
    for (const fn of Object.values(functions)) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(
        Object.keys(variables)
          .filter((name) => name !== 'ROTATOR_STATE_MACHINE_ARN')
          .sort(),
      ).toEqual([
        'NODE_OPTIONS',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'ROTATOR_CLIENTS',
        'ROTATOR_EVENT_BUS_NAME',
        'ROTATOR_FINGERPRINT_KEY_SECRET_ID',
        'ROTATOR_SECRET_PREFIX',
        'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
        'ROTATOR_TABLE_NAME',
      ]);
      expect(variables.ROTATOR_STYTCH_CREDENTIALS_SECRET_ID).toMatch(/^arn:aws:secretsmanager:/);
      // The fingerprint key is passed by reference too: a Ref to the generated secret, never a value.
      expect(variables.ROTATOR_FINGERPRINT_KEY_SECRET_ID).toEqual({
        Ref: expect.stringMatching(/FingerprintKey/),
      });
    }
  });

  it('runs every function on Node.js 24, ARM64, traced, with its own log group', () => {
    // The 8 rotator functions, the GitHub webhook receiver and the SecretAgeDays publisher.
    template.resourceCountIs('AWS::Lambda::Function', 10);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: Match.anyValue() }),
    });
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 11);
  });

  it('builds a Standard JSONPath state machine whose tasks retry transient errors with jitter', () => {
    // Prepare
    const definition = definitionOf(template);

    // Assess
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
    });
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(definition.StartAt).toBe('Prepare');
    for (const name of [
      'StartRotation',
      'PublishPending',
      'CompleteRotation',
      'CancelRotation',
      'RecordFailure',
    ]) {
      expect(definition.States[name]?.Retry).toEqual([
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining(['TransientError']),
          BackoffRate: 2,
          JitterStrategy: 'FULL',
          MaxDelaySeconds: 60,
        }),
      ]);
    }
  });

  it('waits for consumers with a task token and the rotation deadline, and decides by policy when it passes', () => {
    // Prepare
    const definition = definitionOf(template);
    const wait = definition.States.AwaitConsumers;

    // Assess
    expect(wait?.Resource).toMatch(/lambda:invoke\.waitForTaskToken/);
    expect(wait?.TimeoutSecondsPath).toBe('$.rotation.policy.deadlineSeconds');
    expect(wait?.Parameters).toMatchObject({
      Payload: { 'taskToken.$': '$$.Task.Token', 'rotation.$': '$.rotation' },
    });
    expect(wait?.Catch).toEqual([
      { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'DeadlinePassed' },
      { ErrorEquals: ['ConsumerUnhealthy'], ResultPath: '$.error', Next: 'Cancel: consumer_unhealthy' },
      { ErrorEquals: ['LeakOfPendingSecret'], ResultPath: '$.error', Next: 'Cancel: leak_of_pending' },
      { ErrorEquals: ['OperatorCancelled'], ResultPath: '$.error', Next: 'Cancel: operator' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Cancel: error' },
    ]);
    expect(definition.States.DeadlinePassed).toMatchObject({
      Type: 'Choice',
      Choices: [
        {
          Variable: '$.rotation.policy.onDeadline',
          StringEquals: 'complete',
          Next: 'Complete: deadline_fail_secure',
        },
      ],
      Default: 'Cancel: deadline_fail_safe',
    });
  });

  it('has a terminal state per outcome; a request that cannot start is failed without cancelling anything', () => {
    // Prepare
    const definition = definitionOf(template);

    // Assess
    expect(definition.States.Completed).toMatchObject({ Type: 'Succeed' });
    expect(definition.States.Cancelled).toMatchObject({ Type: 'Succeed' });
    expect(definition.States.Failed).toMatchObject({ Type: 'Fail', Error: 'RotationFailed' });
    expect(definition.States.Rejected).toMatchObject({ Type: 'Fail', Error: 'RotationInProgressError' });
    expect(definition.States.InvalidRequest).toMatchObject({ Type: 'Fail', Error: 'InvalidRequest' });
    expect(definition.States.StartRotation?.Catch).toEqual([
      { ErrorEquals: ['RotationInProgressError'], ResultPath: '$.error', Next: 'Rejected' },
      {
        ErrorEquals: ['InvalidInputError', 'UnknownClientError', 'NotEnrolledError'],
        ResultPath: '$.error',
        Next: 'InvalidRequest',
      },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Cancel: error' },
    ]);
  });

  it('routes every Secret Leak Detected (by id or fingerprint) to the leak intake, with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['Secret Leak Detected'] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('LeakIntakeFunction'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
        }),
      ],
    });
  });

  it('adds the GitHub webhook receiver and expires its delivery records by TTL', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('lets only the leak intake start the workflow, and gives it the state machine ARN', () => {
    const intake = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { ROTATOR_STATE_MACHINE_ARN: Match.anyValue() } } },
    });
    expect(Object.keys(intake)).toEqual([expect.stringMatching(/^RotatorLeakIntakeFunction/)]);
    const policies = template.findResources('AWS::IAM::Policy');
    const starters = Object.entries(policies).filter(([, policy]) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('states:StartExecution'),
    );
    // Besides the schedules' roles (the config's, and the one `rotator register` passes), the leak intake alone.
    expect(starters.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^RotatorLeakIntakeFunction/),
      expect.stringMatching(/^RotatorRegisteredSchedulesRole/),
      expect.stringMatching(/^SchedulerRoleForTarget/),
    ]);
  });

  it('lets the rotating functions reach secrets registered at run time under the prefix, and no further', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument),
    );
    const prefixed = policies.filter((text) => text.includes(':secret:stytch/m2m/*'));
    // StartRotation, CompleteRotation, CancelRotation (read and write) and the leak intake (read).
    expect(prefixed).toHaveLength(4);
    expect(prefixed.filter((text) => text.includes('secretsmanager:PutSecretValue'))).toHaveLength(3);
    for (const text of policies) expect(text).not.toMatch(/:secret:\*|"secretsmanager:\*"/);
  });

  it('gives register a schedule group and a Scheduler-only role', () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': Match.anyValue() } },
          }),
        ],
      },
      Description: Match.stringLikeRegexp('rotator register'),
    });
  });

  it('routes Consumer Health Reported to the health aggregator, with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['Consumer Health Reported'] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('HealthAggregatorFunction'), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });

  it('schedules each client with a schedule: expression, time zone, flexible window, DLQ', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 5);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 ? * MON *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 30 },
      Target: Match.objectLike({
        Arn: { Ref: Match.stringLikeRegexp('StateMachine') },
        Input:
          '{"clientId":"m2m-client-test-reporting","trigger":"schedule","requestedBy":"eventbridge-scheduler"}',
        DeadLetterConfig: Match.anyValue(),
      }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(90 days)',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
  });

  it('lets only the waiter and the aggregator answer task tokens, on this state machine only', () => {
    template.resourcePropertiesCountIs(
      'AWS::IAM::Policy',
      {
        PolicyDocument: {
          Statement: [
            {
              Action: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
              Effect: 'Allow',
              Resource: { Ref: Match.stringLikeRegexp('StateMachine') },
            },
          ],
        },
      },
      2,
    );
  });

  it('names what a CLI and consumers need in the stack outputs', () => {
    for (const output of [
      'StateMachineArn',
      'EventBusName',
      'LedgerTableName',
      'SecretPrefix',
      'EncryptionKeyArn',
      'DeadLetterQueueUrl',
    ]) {
      template.hasOutput(output, { Value: Match.anyValue() });
    }
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });

  it('reports every invalid prop at once', () => {
    // Prepare
    const stack = new Stack(new App(), 'Bad');
    const config = loadDeploymentConfig(samplePath);
    const many = {
      ...config,
      clients: Array.from({ length: 60 }, (_, i) => ({
        ...config.clients[0],
        clientId: `m2m-client-test-${i}`,
      })) as DeploymentConfig['clients'],
    };

    // Act & Assess
    expect(
      () => new StytchM2MRotator(stack, 'Rotator', { config: many, eventBusName: 'has spaces' }),
    ).toThrow(/eventBusName "has spaces"[\s\S]*split the clients over several deployments/);
  });

  it('uses a key it is given instead of creating one', () => {
    // Prepare
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Given');
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });

    // Act
    const rotator = new StytchM2MRotator(stack, 'Rotator', {
      config: loadDeploymentConfig(samplePath),
      encryptionKey: key,
    });

    // Assess
    expect(rotator.encryptionKey).toBe(key);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });
});
