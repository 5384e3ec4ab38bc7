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

interface RetryRule {
  readonly ErrorEquals: string[];
  readonly IntervalSeconds: number;
  readonly MaxAttempts: number;
  readonly MaxDelaySeconds: number;
}

/** The longest a retrier keeps trying (before jitter shortens each wait): its backoff budget. */
function worstCaseSeconds(rule: RetryRule | undefined): number {
  let total = 0;
  for (let attempt = 0; attempt < (rule?.MaxAttempts ?? 0); attempt += 1) {
    total += Math.min((rule?.IntervalSeconds ?? 0) * 2 ** attempt, rule?.MaxDelaySeconds ?? 0);
  }
  return total;
}

type Statement = { Action: string | string[]; Effect: string; Resource: unknown };

/** The logical id of the one function whose logical id starts with `prefix`. */
function functionId(template: Template, prefix: string): string {
  const ids = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) =>
    id.startsWith(prefix),
  );
  expect(ids).toHaveLength(1);
  return ids[0] ?? '';
}

/** The logical id of a function's role. */
function roleOf(template: Template, fnId: string): string {
  const role = template.findResources('AWS::Lambda::Function')[fnId]?.Properties.Role as
    | { 'Fn::GetAtt': [string, string] }
    | undefined;
  return role?.['Fn::GetAtt'][0] ?? '';
}

/** Every statement of every policy attached to a function's role (its default policy and any other). */
function statementsOf(template: Template, fnId: string): Statement[] {
  return Object.values(
    template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: roleOf(template, fnId) }]) },
    }),
  ).flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** Whether a statement grants this action (and only this one). */
const grantsOnly = (action: string) => (statement: Statement) =>
  JSON.stringify(statement.Action) === JSON.stringify(action);

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

  it('creates the fingerprint key and the GitHub webhook’s two secrets, and no secret per client', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] },
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
  });

  it('never puts the Stytch project secret in the template: only the ARN of the secret holding it', () => {
    // Assess: the credentials ARN is passed by reference, and no function environment holds a secret value.
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: Match.anyValue() } } },
    });
    // The 9 workflow functions and the fleet sweep (RotatorMonitoring's publisher, whose own
    // variables RotatorMonitoring.test.ts checks).
    expect(Object.keys(functions)).toHaveLength(10);
    for (const [id, fn] of Object.entries(functions)) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables.ROTATOR_STYTCH_CREDENTIALS_SECRET_ID).toMatch(/^arn:aws:secretsmanager:/);
      if (id.startsWith('RotatorMonitoringSecretAgePublisher')) continue;
      expect(
        Object.keys(variables)
          .filter((name) => name !== 'ROTATOR_STATE_MACHINE_ARN')
          .sort(),
      ).toEqual([
        'NODE_OPTIONS',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'ROTATOR_EVENT_BUS_NAME',
        'ROTATOR_FINGERPRINT_KEY_SECRET_ID',
        'ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND',
        'ROTATOR_SECRET_PREFIX',
        'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
        'ROTATOR_STYTCH_REQUESTS_PER_SECOND',
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
    // The 9 rotator functions, the GitHub webhook receiver, the secret-age publisher and the
    // token revocation publisher.
    template.resourceCountIs('AWS::Lambda::Function', 12);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: Match.anyValue() }),
    });
    // Their 12 log groups, the rotation workflow's execution log and the fleet workflow's.
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 14);
  });

  it('builds a Standard JSONPath state machine whose tasks retry transient errors, real crashes and rate limits with jitter', () => {
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
      const retry = (definition.States[name]?.Retry ?? []) as RetryRule[];
      expect(retry.slice(0, 2)).toEqual([
        expect.objectContaining({
          // A Lambda that timed out or died, and the task's own timeout, are retried like a fault.
          ErrorEquals: expect.arrayContaining([
            'TransientError',
            'Sandbox.Timedout',
            'Runtime.ExitError',
            'Lambda.Unknown',
            'States.Timeout',
          ]),
          BackoffRate: 2,
          JitterStrategy: 'FULL',
          MaxDelaySeconds: 60,
        }),
        // Stytch's fixed windows (up to an hour) without Retry-After: backed off in the state machine.
        expect.objectContaining({
          ErrorEquals: ['RateLimited'],
          JitterStrategy: 'FULL',
          MaxDelaySeconds: 600,
        }),
      ]);
      expect(worstCaseSeconds(retry[1])).toBeGreaterThan(2 * 3600);
      // The shared budget's window is full: tried again within seconds, for longer than an hour's window.
      const budgetWait = retry.find((rule) => rule.ErrorEquals.includes('BudgetWait'));
      expect(budgetWait).toMatchObject({ IntervalSeconds: 1, JitterStrategy: 'FULL', MaxDelaySeconds: 60 });
      expect(worstCaseSeconds(budgetWait)).toBeGreaterThan(3600);
    }
    // The wait's States.Timeout is the deadline, caught, never retried.
    expect(JSON.stringify(definition.States.AwaitConsumers?.Retry)).not.toContain('States.Timeout');
  });

  it('keeps a task token only for a wait StartRotation left undecided: a decided one goes from PublishPending to CompleteRotation', () => {
    // Prepare
    const definition = definitionOf(template);

    // Assess
    expect(definition.States.PublishPending?.Next).toBe('WaitDecided');
    expect(definition.States.WaitDecided).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.rotation.decided', IsPresent: true, Next: 'Complete: decided at start' }],
      Default: 'AwaitConsumers',
    });
    expect(definition.States['Complete: decided at start']).toEqual({
      Type: 'Pass',
      Parameters: { 'reason.$': '$.rotation.decided.reason' },
      ResultPath: '$.completion',
      Next: 'CompleteRotation',
    });
    expect(definition.States.AwaitConsumers?.Resource).toMatch(/waitForTaskToken/);
  });

  it('completes forward only: CompletionPending is retried for hours and nothing leads from CompleteRotation to a cancel', () => {
    // Prepare
    const definition = definitionOf(template);
    const complete = definition.States.CompleteRotation;

    // Assess
    const forward = ((complete?.Retry ?? []) as RetryRule[]).find((r) =>
      r.ErrorEquals.includes('CompletionPending'),
    );
    expect(forward).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL', MaxDelaySeconds: 900 });
    expect(worstCaseSeconds(forward)).toBeGreaterThan(6 * 3600);
    expect(complete?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'FailureInCompleteRotation' },
    ]);
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

  it('has a terminal state per outcome; a request that cannot start is refused (succeeds, pages no one) without cancelling anything', () => {
    // Prepare
    const definition = definitionOf(template);

    // Assess
    expect(definition.States.Completed).toMatchObject({ Type: 'Succeed' });
    expect(definition.States.Cancelled).toMatchObject({ Type: 'Succeed' });
    expect(definition.States.Failed).toMatchObject({ Type: 'Fail', Error: 'RotationFailed' });
    expect(definition.States.Rejected).toMatchObject({
      Type: 'Pass',
      Parameters: { outcome: 'rejected', reason: 'rotation_in_progress' },
      Next: 'Rejected: refused',
    });
    expect(definition.States['Rejected: refused']).toMatchObject({ Type: 'Succeed' });
    expect(definition.States.InvalidRequest).toMatchObject({
      Type: 'Pass',
      Parameters: { outcome: 'invalid_request' },
      Next: 'InvalidRequest: refused',
    });
    expect(definition.States['InvalidRequest: refused']).toMatchObject({ Type: 'Succeed' });
    // A leak rotation given up on after an error must page: it ends Failed, not Cancelled.
    expect(definition.States.CancelRotation?.Next).toBe('LeakGivenUp');
    expect(definition.States.LeakGivenUp?.Default).toBe('Cancelled');
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

  it('routes Secret Leak Detected (by id or fingerprint) from the known reporters (the sample names one scanner) to the leak intake, with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [
          'stytch-m2m-rotator',
          'stytch-m2m-rotator.github-webhook',
          'stytch-m2m-rotator.operator',
          'example.secret-scanner',
        ],
        'detail-type': ['Secret Leak Detected'],
      },
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

  it('lets only the leak intake start the workflow, and gives the state machine ARN to it and the reconciler', () => {
    const given = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { ROTATOR_STATE_MACHINE_ARN: Match.anyValue() } } },
    });
    expect(Object.keys(given).sort()).toEqual([
      expect.stringMatching(/^RotatorExecutionReconcilerFunction/),
      expect.stringMatching(/^RotatorLeakIntakeFunction/),
    ]);
    const policies = template.findResources('AWS::IAM::Policy');
    const starters = Object.entries(policies).filter(([, policy]) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('states:StartExecution'),
    );
    // Besides the role the clients' schedules start rotations with and the fleet workflow (a
    // Distributed Map whose items start rotations), the leak intake alone.
    expect(starters.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^RotatorFleetRotationStateMachineDistributedMapPolicy/),
      expect.stringMatching(/^RotatorFleetRotationStateMachineRole/),
      expect.stringMatching(/^RotatorLeakIntakeFunction/),
      expect.stringMatching(/^RotatorRegisteredSchedulesRole/),
    ]);
  });

  it('lets the rotating functions reach secrets registered at run time under the prefix, and no further', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument),
    );
    const prefixed = policies.filter((text) => text.includes(':secret:stytch/m2m/*'));
    // StartRotation, CompleteRotation, CancelRotation, the reconciler (labels), the leak intake (read)
    // and the secret-age publisher (version dates); only StartRotation stores a value (AWSPENDING).
    expect(prefixed).toHaveLength(6);
    expect(prefixed.filter((text) => text.includes('secretsmanager:PutSecretValue'))).toHaveLength(1);
    for (const text of policies) expect(text).not.toMatch(/:secret:\*|"secretsmanager:\*"/);
  });

  it('gives apply and register a schedule group and a Scheduler-only role that may dead-letter a failed start', () => {
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
      Description: Match.stringLikeRegexp('scheduled rotations of the managed clients'),
    });
    const [roleId] = Object.keys(
      template.findResources('AWS::IAM::Role', {
        Properties: { Description: Match.stringLikeRegexp('scheduled rotations') },
      }),
    );
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(String(roleId)))
      .flatMap(
        (policy) =>
          policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      );
    expect(statements.map((statement) => [statement.Action].flat().sort())).toEqual([
      ['states:StartExecution'],
      ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
    ]);
    expect(JSON.stringify(statements[1]?.Resource)).toMatch(/DeadLetterQueue/);
  });

  it("routes Consumer Health Reported from a consumer's own source to the health aggregator, with a DLQ", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [{ prefix: 'stytch-m2m-rotator.consumer.' }],
        'detail-type': ['Consumer Health Reported'],
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('HealthAggregatorFunction'), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });

  it("routes the state machine's FAILED, ABORTED and TIMED_OUT executions (default bus) to the reconciler", () => {
    // Prepare
    const reconciler = functionId(template, 'RotatorExecutionReconcilerFunction');

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'ABORTED', 'TIMED_OUT'],
          stateMachineArn: [{ Ref: Match.stringLikeRegexp('^RotatorWorkflowStateMachine') }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [reconciler, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [reconciler, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotatorExecutionEndedRule'), 'Arn'] },
    });
  });

  it("gives the reconciler CompleteRotation's grants, and DescribeExecution on this state machine's executions", () => {
    // Prepare
    const reconciler = statementsOf(template, functionId(template, 'RotatorExecutionReconcilerFunction'));
    const complete = statementsOf(template, functionId(template, 'RotatorCompleteRotationFunction'));
    const [stateMachine] = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'));
    const sendsToQueue = (statement: Statement) => JSON.stringify(statement.Action).includes('sqs:');
    // Each writes its own log group.
    const logs = (statement: Statement) => JSON.stringify(statement.Action).includes('logs:');

    // Assess: ledger, events, key, Stytch credentials, fingerprint key, secrets read/stage.
    expect(
      reconciler.filter(
        (st) => !grantsOnly('states:DescribeExecution')(st) && !sendsToQueue(st) && !logs(st),
      ),
    ).toEqual(complete.filter((st) => !sendsToQueue(st) && !logs(st)));
    expect(JSON.stringify(reconciler)).toContain('secretsmanager:UpdateSecretVersionStage');
    expect(reconciler.filter(grantsOnly('states:DescribeExecution'))).toEqual([
      {
        Action: 'states:DescribeExecution',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':states:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':execution:',
              { 'Fn::GetAtt': [stateMachine, 'Name'] },
              ':*',
            ],
          ],
        },
      },
    ]);
  });

  it('lets StartRotation, the leak intake and the reconciler describe executions, and no other function', () => {
    // Prepare
    const describers = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) =>
      statementsOf(template, id).some(grantsOnly('states:DescribeExecution')),
    );
    const executionArn = JSON.stringify(
      statementsOf(template, functionId(template, 'RotatorExecutionReconcilerFunction')).find(
        grantsOnly('states:DescribeExecution'),
      )?.Resource,
    );

    // Assess
    expect(describers.sort()).toEqual([
      expect.stringMatching(/^RotatorExecutionReconcilerFunction/),
      expect.stringMatching(/^RotatorLeakIntakeFunction/),
      expect.stringMatching(/^RotatorStartRotationFunction/),
    ]);
    for (const id of describers) {
      const described = statementsOf(template, id).filter(grantsOnly('states:DescribeExecution'));
      expect(described.map((st) => JSON.stringify(st.Resource))).toEqual([executionArn]);
    }
  });

  it('sends every event a rule-invoked function failed on, after 2 retries within 6 h, to the async-failure queue', () => {
    // Prepare: every function an EventBridge rule targets is invoked asynchronously.
    const functionIds = new Set(Object.keys(template.findResources('AWS::Lambda::Function')));
    const ruleTargets = Object.values(template.findResources('AWS::Events::Rule')).flatMap((rule) =>
      (rule.Properties.Targets as { Arn: { 'Fn::GetAtt'?: [string, string] } }[])
        .map((target) => target.Arn['Fn::GetAtt']?.[0] ?? '')
        .filter((id) => functionIds.has(id)),
    );
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));

    // Assess
    expect(ruleTargets.sort()).toEqual([
      expect.stringMatching(/^RotatorExecutionReconcilerFunction/),
      expect.stringMatching(/^RotatorHealthAggregatorFunction/),
      expect.stringMatching(/^RotatorLeakIntakeFunction/),
      expect.stringMatching(/^RotatorMonitoringSecretAgePublisher/),
      // Four rules (a leak rotation's completion, a leak-preempted one's, a leaked pending's cancellation, an operator's request), one function.
      expect.stringMatching(/^RotatorTokenRevocationsPublisherFunction/),
      expect.stringMatching(/^RotatorTokenRevocationsPublisherFunction/),
      expect.stringMatching(/^RotatorTokenRevocationsPublisherFunction/),
      expect.stringMatching(/^RotatorTokenRevocationsPublisherFunction/),
    ]);
    expect(configs.map((config) => (config.Properties.FunctionName as { Ref: string }).Ref).sort()).toEqual([
      ...new Set(ruleTargets),
    ]);
    for (const config of configs) {
      expect(config.Properties).toEqual({
        FunctionName: expect.anything(),
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 3600,
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [expect.stringMatching(/^RotatorAsyncFailureQueue/), 'Arn'] },
          },
        },
      });
    }
    for (const id of ruleTargets) {
      expect(JSON.stringify(statementsOf(template, id))).toMatch(
        /"sqs:SendMessage".*"Fn::GetAtt":\["RotatorAsyncFailureQueue[0-9A-F]+","Arn"\]/,
      );
    }
  });

  it('keeps those failures 14 days in an encrypted, TLS-only queue, and names it in the outputs', () => {
    // Prepare
    const [queueId] = Object.keys(
      template.findResources('AWS::SQS::Queue', {
        Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 },
      }),
    ).filter((id) => id.startsWith('RotatorAsyncFailureQueue'));

    // Assess
    expect(queueId).toBeDefined();
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasOutput('AsyncFailureQueueUrl', { Value: { Ref: queueId } });
  });

  it('lets only the waiter, the aggregator and the leak intake answer task tokens (success or failure), on this state machine only', () => {
    // Prepare
    const answering = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, policy]) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('states:SendTask'),
    );

    // Assess
    expect(answering.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^RotatorAwaitConsumersTaskResponsePolicy/),
      expect.stringMatching(/^RotatorHealthAggregatorTaskResponsePolicy/),
      expect.stringMatching(/^RotatorLeakIntakeTaskResponsePolicy/),
    ]);
    for (const [, policy] of answering) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual([
        {
          Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          Effect: 'Allow',
          Resource: { Ref: expect.stringMatching(/StateMachine/) },
        },
      ]);
    }
  });

  it('names what a CLI and consumers need in the stack outputs', () => {
    for (const output of [
      'StateMachineArn',
      'EventBusName',
      'LedgerTableName',
      'SecretPrefix',
      'EncryptionKeyArn',
      'DeadLetterQueueUrl',
      'DeadLetterQueueArn',
      'AsyncFailureQueueUrl',
      'ConsumerPolicyArn',
      'OperatorPolicyArn',
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

    // Act & Assess
    expect(
      () =>
        new StytchM2MRotator(stack, 'Rotator', {
          config: loadDeploymentConfig(samplePath),
          eventBusName: 'has spaces',
          monitoring: { alarmEmails: ['not-an-email'] },
        }),
    ).toThrow(/eventBusName "has spaces"[\s\S]*monitoring\.alarmEmails\[0\] "not-an-email"/);
  });

  it('holds nothing per client: no managed secret, no schedule, no client list in any environment', () => {
    // Act
    const own = Template.fromStack(synth().stack);

    // Assess: no secret but the stack's own; a fleet's size cannot show in the template.
    own.resourceCountIs('AWS::Scheduler::Schedule', 0);
    expect(Object.keys(own.findResources('AWS::SecretsManager::Secret')).sort()).toEqual([
      expect.stringMatching(/FingerprintKey/),
      expect.stringMatching(/GitHubToken/),
      expect.stringMatching(/WebhookSecret/),
    ]);
    expect(JSON.stringify(own.toJSON())).not.toContain('ROTATOR_CLIENTS');
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
