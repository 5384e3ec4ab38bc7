import { fileURLToPath } from 'node:url';
import type * as cdk from 'aws-cdk-lib';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLEET_PK } from '../../lambdas/adapters/aws/DynamoLedger.js';
import { loadDeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { RotatorMonitoring } from '../../lib/RotatorMonitoring.js';
import { RotatorStack } from '../../lib/RotatorStack.js';
import { StytchM2MRotator, type StytchM2MRotatorProps } from '../../lib/StytchM2MRotator.js';

const samplePath = fileURLToPath(new URL('../../config/rotator.sample.json', import.meta.url));
const TOPIC = { Ref: Match.stringLikeRegexp('MonitoringTopic') };
const STATE_MACHINE = { Ref: Match.stringLikeRegexp('WorkflowStateMachine') };
const PUBLISHER_DESCRIPTION =
  'Hourly fleet sweep: SecretsOverdue (AWSCURRENT secrets past their rotation) and the drift against ' +
  'Stytch (DriftMidRotation, DriftMissingAtStytch, UnmanagedClients)';
/** The Stytch credentials secret of config/rotator.sample.json. */
const SAMPLE_CREDENTIALS = loadDeploymentConfig(samplePath).stytch.projectCredentialsSecretArn;

function synthRotator(props: Partial<StytchM2MRotatorProps> = {}): {
  rotator: StytchM2MRotator;
  template: Template;
} {
  // Skip asset bundling: these tests are about the template, not the bundles.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Mon');
  const rotator = new StytchM2MRotator(stack, 'Rotator', {
    config: loadDeploymentConfig(samplePath),
    ...props,
  });
  return { rotator, template: Template.fromStack(stack) };
}

/** The logical id of a construct's CloudFormation resource. */
function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as cdk.CfnElement);
}

function synth(props: Partial<StytchM2MRotatorProps> = {}): Template {
  return synthRotator(props).template;
}

describe('Construct: RotatorMonitoring', () => {
  let template: Template;
  let rotator: StytchM2MRotator;

  beforeAll(() => {
    ({ template, rotator } = synthRotator({
      monitoring: { alarmEmails: ['oncall@example.com', 'security@example.com'] },
    }));
  });

  it('creates one alerts topic encrypted with the rotator key, publishable over TLS only', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [TOPIC],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'events.amazonaws.com' },
          }),
        ]),
      },
    });
  });

  it('lets CloudWatch (only this stack alarms) and EventBridge (only for this stack topics, through SNS) use the key to publish to the topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':alarm:Mon-\\*$')])],
                },
              },
            },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: {
              StringEquals: {
                'kms:ViaService': {
                  'Fn::Join': ['', ['sns.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
                },
              },
              ArnLike: {
                'kms:EncryptionContext:aws:sns:topicArn': {
                  'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':Mon-\\*$')])],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  it('binds every service principal of the key policy and the topic policy with a condition', () => {
    // Prepare
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    const [topicPolicy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    const statements = [
      ...((key?.Properties.KeyPolicy.Statement ?? []) as Record<string, unknown>[]),
      ...((topicPolicy?.Properties.PolicyDocument.Statement ?? []) as Record<string, unknown>[]),
    ];
    const ofServices = statements.filter(
      (statement) => (statement.Principal as { Service?: unknown } | undefined)?.Service !== undefined,
    );

    // Assess
    expect(ofServices.length).toBeGreaterThanOrEqual(4);
    for (const statement of ofServices) expect(statement.Condition).toBeDefined();
  });

  it('lets EventBridge publish to the topic only for the lifecycle rule of this account', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'LifecycleRulePublishes',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: TOPIC,
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnEquals: {
                'aws:SourceArn': {
                  'Fn::GetAtt': [Match.stringLikeRegexp('^RotatorMonitoringLifecycleRule'), 'Arn'],
                },
              },
            },
          },
        ]),
      },
    });
  });

  it('pages on any delivery the GitHub webhook failed on (5xx answer or function error): GitHub does not redeliver', () => {
    // Prepare
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: 'Mon-github-webhook-failures' },
      }),
    );
    const metrics = alarms[0]?.Properties.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: unknown[] }; Stat: string };
    }[];

    // Assess
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: expect.stringMatching(/MonitoringTopic/) }],
      AlarmDescription: expect.stringMatching(/expired[\s\S]*GitHub does not retry/),
    });
    expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toBe(
      'FILL(errors, 0) + FILL(url5xx, 0)',
    );
    expect(
      metrics
        .filter((m) => m.MetricStat !== undefined)
        .map((m) => [
          m.Id,
          m.MetricStat?.Metric.Namespace,
          m.MetricStat?.Metric.MetricName,
          m.MetricStat?.Stat,
        ]),
    ).toEqual([
      ['errors', 'AWS/Lambda', 'Errors', 'Sum'],
      ['url5xx', 'AWS/Lambda', 'Url5xxCount', 'Sum'],
    ]);
    expect(JSON.stringify(metrics)).toMatch(/"FunctionName","Value":\{"Ref":"RotatorGitHubWebhookFunction/);
  });

  it('subscribes every alarm email to the topic', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: TOPIC,
    });
  });

  it('forwards Rotation Completed|Cancelled|Failed from the rotator (and a repair by an operator) to the topic, with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('EventBus') },
      EventPattern: {
        source: ['stytch-m2m-rotator', 'stytch-m2m-rotator.operator'],
        'detail-type': ['Rotation Completed', 'Rotation Cancelled', 'Rotation Failed'],
      },
      Targets: [
        Match.objectLike({
          Arn: TOPIC,
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
  });

  it.each([
    ['Mon-rotation-executions-failed', 'ExecutionsFailed'],
    ['Mon-rotation-executions-timed-out', 'ExecutionsTimedOut'],
    ['Mon-rotation-executions-aborted', 'ExecutionsAborted'],
  ])('alarms %s on any %s of the state machine in 5 minutes; no data is healthy', (name, metric) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: name,
      AlarmDescription: Match.stringLikeRegexp('.+'),
      Namespace: 'AWS/States',
      MetricName: metric,
      Dimensions: [{ Name: 'StateMachineArn', Value: STATE_MACHINE }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [TOPIC],
    });
  });

  it('no longer counts refused requests as failed executions, and says what to do about one', () => {
    // Prepare
    const [failed] = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: 'Mon-rotation-executions-failed' },
      }),
    );
    const description = String(failed?.Properties.AlarmDescription);

    // Assess
    expect(description).toMatch(/RotationFailed/);
    expect(description).toMatch(
      /Refused requests \(already rotating, invalid\) end as succeeded and are not counted/,
    );
    expect(description).not.toMatch(/Rejected|InvalidRequest/);
    expect(description).toMatch(/ExecutionReconciler[\s\S]*`rotator repair <clientId>`/);
  });

  it('tells on-call that an aborted execution is reconciled automatically, and what to check', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-rotation-executions-aborted',
      AlarmDescription: Match.stringLikeRegexp(
        'stopped.*ExecutionReconciler reconciles it automatically.*`rotator status`.*`rotator repair <clientId>`',
      ),
    });
  });

  it('alarms when the async-failure queue holds a message, with the command that reads it', () => {
    // Prepare
    const queue = { Ref: Match.stringLikeRegexp('^RotatorAsyncFailureQueue') };

    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-rotator-async-failures',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotatorAsyncFailureQueue'), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [TOPIC],
      // The queue URL is resolved at deploy time, so the command can be pasted as it is.
      AlarmDescription: {
        'Fn::Join': [
          '',
          [
            Match.stringLikeRegexp('failed on it three times.*aws sqs receive-message --queue-url $'),
            queue,
            Match.stringLikeRegexp('requestPayload: the event.*rotator repair <clientId>'),
          ],
        ],
      },
    });
  });

  it('alarms when the dead-letter queue holds a message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-rotator-dead-letters',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [TOPIC],
    });
  });

  it('alarms when an execution ran past the longest policy deadline plus the margin', () => {
    // Assess: the longest default deadline is the schedule's, 3600 s; the margin 60 min.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-rotation-stuck-past-deadline',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionTime',
      Dimensions: [{ Name: 'StateMachineArn', Value: STATE_MACHINE }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: (3600 + 3600) * 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [TOPIC],
    });
  });

  it('takes the longest deadline it is given for the stuck threshold, and says how to raise it', () => {
    // Act: a client's policy sets a 2-hour deadline, which the stack cannot see in the registry.
    const tuned = synth({ monitoring: { longestDeadlineSeconds: 7200, stuckRotationMarginMinutes: 0 } });

    // Assess
    tuned.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-rotation-stuck-past-deadline',
      Threshold: 7200 * 1000,
      AlarmDescription: Match.stringLikeRegexp('\\(7200 s\\) plus 0 min.*raise the longestDeadlineSeconds'),
    });
  });

  it('alarms once for the whole fleet when SecretsOverdue stays above 0 for 3 hours, and when it stops being reported', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-secrets-overdue',
      Namespace: 'StytchM2MRotator',
      MetricName: 'SecretsOverdue',
      Dimensions: Match.absent(),
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'missing',
      AlarmActions: [TOPIC],
      InsufficientDataActions: [TOPIC],
      AlarmDescription: Match.stringLikeRegexp(
        'else 31 d\\) plus its flexible window plus 1 d.*Secrets overdue for rotation.*rotator history',
      ),
    });
    // The construct exposes that alarm.
    expect(
      Object.keys(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { AlarmName: 'Mon-secrets-overdue' },
        }),
      ),
    ).toEqual([logicalIdOf(rotator.monitoring?.secretsOverdueAlarm as IConstruct)]);
  });

  it('alarms once for the fleet when DriftMidRotation + DriftMissingAtStytch stays above 0 for 2 hourly sweeps, never on unmanaged clients', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-fleet-drift',
      Metrics: [
        { Id: 'expr_1', Expression: 'midRotation + missing', Label: 'Managed clients drifted at Stytch' },
        {
          Id: 'midRotation',
          MetricStat: {
            Metric: {
              Namespace: 'StytchM2MRotator',
              MetricName: 'DriftMidRotation',
              Dimensions: Match.absent(),
            },
            Period: 3600,
            Stat: 'Maximum',
          },
          ReturnData: false,
        },
        {
          Id: 'missing',
          MetricStat: {
            Metric: {
              Namespace: 'StytchM2MRotator',
              MetricName: 'DriftMissingAtStytch',
              Dimensions: Match.absent(),
            },
            Period: 3600,
            Stat: 'Maximum',
          },
          ReturnData: false,
        },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'missing',
      AlarmActions: [TOPIC],
      InsufficientDataActions: Match.absent(),
      AlarmDescription: Match.stringLikeRegexp(
        "mid-rotation at Stytch.*missing at Stytch.*'Fleet drift at Stytch'.*rotator status --fleet.*rotator repair <clientId>.*Unmanaged Stytch clients never alarm",
      ),
    });
    expect(
      Object.keys(
        template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'Mon-fleet-drift' } }),
      ),
    ).toEqual([logicalIdOf(rotator.monitoring?.fleetDriftAlarm as IConstruct)]);
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'))).not.toContain(
      'UnmanagedClients',
    );
  });

  it('has no per-client resource: one secret-age alarm, one drift alarm, no ClientId dimension, no client list anywhere', () => {
    // Prepare
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const body = JSON.stringify(template.toJSON());

    // Assess: the registry's clients are data, read by the publisher at run time.
    expect(alarms.filter((alarm) => alarm.Properties.Namespace === 'StytchM2MRotator')).toHaveLength(1);
    expect(alarms.filter((alarm) => JSON.stringify(alarm).includes('"DriftMidRotation"'))).toHaveLength(1);
    expect(body).not.toMatch(/ClientId|SecretAgeDays|ROTATOR_CLIENTS|secret-age-/);
  });

  it('has exactly the six workflow and queue alarms, the GitHub webhook alarm, the secrets-overdue alarm and the fleet-drift alarm', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6 + 1 + 1 + 1);
    expect([...(rotator.monitoring?.alarms.keys() ?? [])].sort()).toEqual([
      'AsyncFailures',
      'DeadLetters',
      'ExecutionsAborted',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'GitHubWebhookFailures',
      'RotationStuck',
    ]);
  });

  it('gives the publisher the margins and default period it is given, and the stuck alarm its margin', () => {
    // Act
    const tuned = synth({
      monitoring: { stuckRotationMarginMinutes: 0, secretAgeMarginDays: 0, defaultRotationPeriodDays: 7 },
    });

    // Assess
    tuned.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionTime',
      Threshold: 3600 * 1000,
    });
    tuned.hasResourceProperties('AWS::Lambda::Function', {
      Description: PUBLISHER_DESCRIPTION,
      Environment: {
        Variables: Match.objectLike({
          ROTATOR_SECRET_AGE_MARGIN_DAYS: '0',
          ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: '7',
        }),
      },
    });
    tuned.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Mon-secrets-overdue',
      AlarmDescription: Match.stringLikeRegexp('else 7 d\\) plus its flexible window plus 0 d'),
    });
  });

  it('draws executions, execution time, both queues and every alarm on one dashboard', () => {
    // Prepare
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties?.DashboardBody);

    // Assess
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(dashboard?.Properties?.DashboardName).toBe('Mon-rotator');
    expect(body).toMatch(/\{"Ref":"RotatorWorkflowStateMachine[0-9A-F]+"\}/);
    for (const metric of [
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
      'ExecutionTime',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('\\"type\\":\\"alarm\\"');
    expect(body).toMatch(/"Fn::GetAtt":\["RotatorAsyncFailureQueue[0-9A-F]+","QueueName"\]/);
    expect(body.match(/"Fn::GetAtt":\["RotatorMonitoring[A-Za-z0-9]+Alarm[0-9A-F]+","Arn"\]/g)).toHaveLength(
      9,
    );
    expect(body).toMatch(/"Fn::GetAtt":\["RotatorMonitoringSecretsOverdueAlarm[0-9A-F]+","Arn"\]/);
    expect(body).toMatch(/"Fn::GetAtt":\["RotatorMonitoringFleetDriftAlarm[0-9A-F]+","Arn"\]/);
  });

  it('creates none of it when monitoring is false', () => {
    // Act
    const off = synth({ monitoring: false });

    // Assess
    off.resourceCountIs('AWS::SNS::Topic', 0);
    off.resourceCountIs('AWS::SNS::Subscription', 0);
    off.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    off.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    // The lifecycle-log rule is monitoring's; the token revocations' rule on a leak's
    // Rotation Completed alone is not.
    off.resourcePropertiesCountIs(
      'AWS::Events::Rule',
      {
        EventPattern: Match.objectLike({
          'detail-type': Match.arrayWith(['Rotation Completed', 'Rotation Cancelled', 'Rotation Failed']),
        }),
      },
      0,
    );
  });

  it('is on by default in the deployable stack', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });

    // Act
    const stack = new RotatorStack(app, 'Default', { config: loadDeploymentConfig(samplePath) });

    // Assess
    expect(stack.rotator.monitoring).toBeInstanceOf(RotatorMonitoring);
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Alarm', 9);
  });

  it('reports every invalid monitoring prop at once, through the rotator', () => {
    // Prepare
    const stack = new Stack(new App(), 'Bad');

    // Act & Assess
    expect(
      () =>
        new StytchM2MRotator(stack, 'Rotator', {
          config: loadDeploymentConfig(samplePath),
          monitoring: {
            alarmEmails: ['oncall@example.com', 'not-an-email', 'ONCALL@example.com'],
            stuckRotationMarginMinutes: -1,
            secretAgeMarginDays: Number.NaN,
            defaultRotationPeriodDays: 0,
            longestDeadlineSeconds: 8 * 24 * 3600,
          },
        }),
    ).toThrow(
      new RegExp(
        [
          'Invalid StytchM2MRotator props:',
          '- monitoring\\.alarmEmails\\[1\\] "not-an-email" is not an email address',
          '- monitoring\\.alarmEmails\\[2\\] "ONCALL@example\\.com" is listed twice',
          '- monitoring\\.stuckRotationMarginMinutes must be a number >= 0, got -1',
          '- monitoring\\.secretAgeMarginDays must be a number >= 0, got NaN',
          '- monitoring\\.defaultRotationPeriodDays must be a number > 0, got 0',
          '- monitoring\\.longestDeadlineSeconds must be a number from 1 to 604800 \\(the longest deadline a policy may set\\), got 691200',
        ].join('\\n'),
      ),
    );
  });

  it('validates its props on its own too', () => {
    // Prepare
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Alone');
    const rotator = new StytchM2MRotator(stack, 'Rotator', {
      config: loadDeploymentConfig(samplePath),
      monitoring: false,
    });

    // Act & Assess
    expect(
      () =>
        new RotatorMonitoring(stack, 'Monitoring', {
          stateMachine: rotator.stateMachine,
          deadLetterQueue: rotator.deadLetterQueue,
          asyncFailureQueue: rotator.asyncFailureQueue,
          eventBus: rotator.eventBus,
          encryptionKey: rotator.encryptionKey,
          // A JavaScript caller, or one that kept the old props: the ledger and the credentials are missing.
          ledger: undefined as unknown as dynamodb.ITable,
          secretPrefix: 'stytch/m2m',
          stytchCredentialsSecretArn: undefined as unknown as string,
          alarmEmails: ['@'],
          secretAgeMarginDays: -2,
          longestDeadlineSeconds: 0,
        }),
    ).toThrow(
      new RegExp(
        [
          'Invalid RotatorMonitoring props:',
          '- ledger is required',
          '- stytchCredentialsSecretArn is required',
          '- alarmEmails\\[0\\] "@" is not an email address',
          '- secretAgeMarginDays must be a number >= 0, got -2',
          '- longestDeadlineSeconds must be a number from 1 to 604800',
        ].join('\\n'),
      ),
    );
  });

  describe('Secret-age publisher', () => {
    /** The publisher's logical id and properties (there must be exactly one). */
    const publisherOf = (t: Template) => {
      const found = Object.entries(
        t.findResources('AWS::Lambda::Function', { Properties: { Description: PUBLISHER_DESCRIPTION } }),
      );
      expect(found).toHaveLength(1);
      const [id, resource] = found[0] ?? ['', { Properties: {} }];
      return { id, properties: resource.Properties };
    };

    it('is a RotatorFunction given the ledger, the secret prefix, the rule in days, the Stytch credentials and the namespace, and no client', () => {
      // Prepare
      const publisher = publisherOf(template);
      const variables = publisher.properties.Environment.Variables as Record<string, unknown>;

      // Assess
      expect(publisher.id).toMatch(/^RotatorMonitoringSecretAgePublisher/);
      expect(publisher.properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        // One ListSecretVersionIds per registered client: a fleet of 10,000 takes minutes.
        Timeout: 900,
        TracingConfig: { Mode: 'Active' },
      });
      expect(Object.keys(variables).sort()).toEqual([
        'NODE_OPTIONS',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS',
        'ROTATOR_SECRET_AGE_MARGIN_DAYS',
        'ROTATOR_SECRET_PREFIX',
        'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
        'ROTATOR_STYTCH_REQUESTS_PER_SECOND',
        'ROTATOR_TABLE_NAME',
      ]);
      expect(variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'StytchM2MRotator',
        ROTATOR_SECRET_PREFIX: 'stytch/m2m',
        ROTATOR_TABLE_NAME: { Ref: logicalIdOf(rotator.ledger) },
        ROTATOR_SECRET_AGE_MARGIN_DAYS: '1',
        ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: '31',
        // Its ARN, never its value; no Stytch base URL in a deployment.
        ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: SAMPLE_CREDENTIALS,
        // The project's shared budget, which its searches take from as the rotations do.
        ROTATOR_STYTCH_REQUESTS_PER_SECOND: '20',
      });
    });

    it('may list the versions of secrets under the managed prefix, read the Stytch credentials, query and get from the ledger and put its one item, and nothing else', () => {
      // Prepare
      const roleId = (publisherOf(template).properties.Role as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
      const policies = Object.values(
        template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
      );
      const statements = policies.flatMap(
        (policy) =>
          policy.Properties.PolicyDocument.Statement as {
            Action: string | string[];
            Resource: unknown;
            Condition?: unknown;
          }[],
      );
      // What every RotatorFunction gets: its log group, X-Ray segments, and its failures sent to the
      // async-failure queue.
      const own = statements.filter((st) => !/logs:|xray:|sqs:SendMessage/.test(JSON.stringify(st.Action)));

      // Assess
      expect(policies).toHaveLength(1);
      expect(own).toEqual([
        {
          Action: 'secretsmanager:ListSecretVersionIds',
          Effect: 'Allow',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':secretsmanager:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':secret:stytch/m2m/*',
              ],
            ],
          },
        },
        { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: SAMPLE_CREDENTIALS },
        {
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logicalIdOf(rotator.encryptionKey), 'Arn'] },
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
              },
            },
          },
        },
        {
          Action: ['dynamodb:GetItem', 'dynamodb:Query'],
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logicalIdOf(rotator.ledger), 'Arn'] },
        },
        {
          // The shared budgets' window items only (DynamoRateBudgetStore: pk=BUDGET#).
          Action: 'dynamodb:UpdateItem',
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logicalIdOf(rotator.ledger), 'Arn'] },
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BUDGET#'] } },
        },
        {
          // The sweep's own item only (FleetSweeps: pk=FLEET#).
          Action: 'dynamodb:PutItem',
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logicalIdOf(rotator.ledger), 'Arn'] },
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [FLEET_PK] } },
        },
        {
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Effect: 'Allow',
          Resource: { 'Fn::GetAtt': [logicalIdOf(rotator.encryptionKey), 'Arn'] },
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
              },
            },
          },
        },
      ]);
    });

    it('has no unacknowledged cdk-nag finding, the wildcard of the managed prefix acknowledged with its reason', () => {
      // Act
      const report = new AwsSolutionsChecks().validateScope(rotator.monitoring as RotatorMonitoring);
      const [policy] = Object.values(
        template.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^RotatorMonitoringSecretAgePublisher') }] },
        }),
      );

      // Assess
      expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
      expect(JSON.stringify(policy)).toContain(':secret:stytch/m2m/*');
    });

    it('runs hourly from a schedule rule on the default bus, with retries and the dead-letter queue', () => {
      // Prepare
      const functionId = publisherOf(template).id;

      // Assess
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 hour)',
        State: 'ENABLED',
        EventBusName: Match.absent(),
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          }),
        ],
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('MonitoringSecretAgeSchedule'), 'Arn'] },
      });
    });

    it('sends a schedule event it failed on, after 2 retries within 6 h, to the async-failure queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: publisherOf(template).id },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 3600,
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotatorAsyncFailureQueue'), 'Arn'] },
          },
        },
      });
    });

    it('takes the schedule and log settings it is given', () => {
      // Act
      const tuned = synth({
        logRetention: logs.RetentionDays.ONE_WEEK,
        monitoring: { secretAgeSchedule: events.Schedule.rate(Duration.minutes(15)) },
      });

      // Assess
      tuned.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
      tuned.resourcePropertiesCountIs('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' }, 0);
      const logGroup = (publisherOf(tuned).properties.LoggingConfig.LogGroup as { Ref: string }).Ref;
      expect(tuned.findResources('AWS::Logs::LogGroup')[logGroup]?.Properties.RetentionInDays).toBe(7);
    });

    it('refuses a schedule less often than hourly, through the rotator', () => {
      // Prepare
      const stack = new Stack(new App(), 'Slow');

      // Act & Assess
      expect(
        () =>
          new StytchM2MRotator(stack, 'Rotator', {
            config: loadDeploymentConfig(samplePath),
            monitoring: { secretAgeSchedule: events.Schedule.rate(Duration.hours(2)) },
          }),
      ).toThrow(/monitoring\.secretAgeSchedule "rate\(2 hours\)" runs less often than hourly/);
    });
  });

  /** The dashboard's widgets; the body is a Fn::Join of JSON and tokens, a placeholder keeps the JSON valid. */
  const widgetsOf = (t: Template) => {
    const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
    const parts = (dashboard?.Properties?.DashboardBody?.['Fn::Join']?.[1] ?? []) as unknown[];
    const body = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')) as {
      widgets: { properties: { title?: string; metrics?: unknown[][]; annotations?: unknown } }[];
    };
    return body.widgets;
  };

  it('draws the rotation metrics by their exact EMF dimension sets', () => {
    // Prepare
    const metricsOf = (title: string) =>
      widgetsOf(template).find((w) => w.properties.title === title)?.properties.metrics;

    // Assess
    for (const [title, metric, dimensions, statistic] of [
      [
        'Rotation outcomes (by trigger, outcome, reason)',
        'RotationOutcome',
        'service,Trigger,Outcome,Reason',
        'Sum',
      ],
      [
        'Rotation duration (ms, maximum, by trigger and outcome)',
        'RotationDuration',
        'service,Trigger,Outcome',
        'Maximum',
      ],
      [
        'Time to first consumer report (ms, maximum, by trigger)',
        'TimeToFirstConsumerReport',
        'service,Trigger',
        'Maximum',
      ],
    ] as const) {
      expect(metricsOf(title)).toEqual([
        [
          {
            expression: `SEARCH('{StytchM2MRotator,${dimensions}} MetricName="${metric}"', '${statistic}', 3600)`,
            period: 3600,
          },
        ],
      ]);
    }
  });

  it('draws the secret-age counts without dimensions: overdue and unmeasured secrets, and the registered clients on their own axis', () => {
    // Prepare
    const widget = widgetsOf(template).find((w) => w.properties.title?.startsWith('Secret ages'));

    // Assess
    expect(widget?.properties.metrics).toEqual([
      ['StytchM2MRotator', 'SecretsOverdue', { label: 'Overdue', period: 3600, stat: 'Maximum' }],
      ['StytchM2MRotator', 'SecretsUnmeasured', { label: 'Not measured', period: 3600, stat: 'Maximum' }],
      [
        'StytchM2MRotator',
        'ManagedClients',
        { label: 'Registered clients', period: 3600, stat: 'Maximum', yAxis: 'right' },
      ],
    ]);
    expect(widget?.properties.annotations).toEqual({
      horizontal: [{ label: 'Alarm above', value: 0, yAxis: 'left' }],
    });
  });

  it('draws the fleet drift without dimensions: mid-rotation and missing against the alarm, unmanaged clients on their own axis', () => {
    // Prepare
    const widget = widgetsOf(template).find((w) => w.properties.title?.startsWith('Fleet drift at Stytch'));

    // Assess
    expect(widget?.properties.metrics).toEqual([
      [
        'StytchM2MRotator',
        'DriftMidRotation',
        { label: 'Mid-rotation at Stytch', period: 3600, stat: 'Maximum' },
      ],
      [
        'StytchM2MRotator',
        'DriftMissingAtStytch',
        { label: 'Missing at Stytch', period: 3600, stat: 'Maximum' },
      ],
      [
        'StytchM2MRotator',
        'UnmanagedClients',
        { label: 'Unmanaged at Stytch', period: 3600, stat: 'Maximum', yAxis: 'right' },
      ],
    ]);
    expect(widget?.properties.annotations).toEqual({
      horizontal: [{ label: 'Alarm above (sum)', value: 0, yAxis: 'left' }],
    });
  });
});
