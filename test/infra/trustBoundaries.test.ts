import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentConfig, loadDeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { RotatorStack } from '../../lib/RotatorStack.js';
import { StytchM2MRotator } from '../../lib/StytchM2MRotator.js';

/**
 * Issue 13's trust boundaries as the template holds them: who may publish which `source` (the
 * consumer and operator grants, the functions' own PutEvents, the bus policy), the rules' source
 * filters, and each function's exact actions.
 */

const samplePath = fileURLToPath(new URL('../../config/rotator.sample.json', import.meta.url));
const BUS_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotatorEventBus'), 'Arn'] };
const THIS_ACCOUNT = {
  AWS: {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
  },
};

type Statement = {
  Action: string | string[];
  Effect: string;
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

function synth(config: DeploymentConfig = loadDeploymentConfig(samplePath)): {
  app: App;
  template: Template;
} {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return { app, template: Template.fromStack(new RotatorStack(app, 'Trust', { config })) };
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** Every statement of every inline policy attached to the role of the one function whose logical id starts with `prefix`. */
function functionStatements(template: Template, prefix: string): Statement[] {
  const functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
    id.startsWith(prefix),
  );
  expect(functions).toHaveLength(1);
  const role = (functions[0]?.[1].Properties.Role as { 'Fn::GetAtt': [string, string] } | undefined)?.[
    'Fn::GetAtt'
  ][0];
  return Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: role }]) } }),
  ).flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

function managedPolicyStatements(template: Template, prefix: string): Statement[] {
  const policies = Object.entries(template.findResources('AWS::IAM::ManagedPolicy')).filter(([id]) =>
    id.startsWith(prefix),
  );
  expect(policies).toHaveLength(1);
  return policies[0]?.[1].Properties.PolicyDocument.Statement as Statement[];
}

/** The bus policy's statements, by Sid. */
function busStatements(template: Template): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.values(template.findResources('AWS::Events::EventBusPolicy')).map((policy) => [
      policy.Properties.StatementId as string,
      policy.Properties.Statement as Record<string, unknown>,
    ]),
  );
}

describe('Trust boundaries (issue 13)', () => {
  let template: Template;

  beforeAll(() => {
    ({ template } = synth());
  });

  it('exports ONE consumer policy: PutEvents of Consumer Health Reported with the source of the caller’s rotator-consumer tag only', () => {
    // Prepare
    const [id] = Object.keys(template.findResources('AWS::IAM::ManagedPolicy')).filter((key) =>
      key.startsWith('RotatorConsumerHealthReportsPolicy'),
    );

    // Assess
    expect(managedPolicyStatements(template, 'RotatorConsumerHealthReportsPolicy')).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RotatorEventBus/), 'Arn'] },
        Condition: {
          StringEquals: {
            // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, resolved by AWS
            'events:source': 'stytch-m2m-rotator.consumer.${aws:PrincipalTag/rotator-consumer}',
            'events:detail-type': 'Consumer Health Reported',
          },
        },
      },
    ]);
    template.hasOutput('ConsumerPolicyArn', { Value: { Ref: id } });
  });

  it('exports ONE operator policy: leak reports as the operator source, the workflow, the ledger, secret labels but no secret value', () => {
    // Prepare
    const statements = managedPolicyStatements(template, 'RotatorOperatorPolicy');
    const [id] = Object.keys(template.findResources('AWS::IAM::ManagedPolicy')).filter((key) =>
      key.startsWith('RotatorOperatorPolicy'),
    );
    const secretValueReads = statements.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));

    // Assess
    expect(statements.filter((s) => actionsOf(s).includes('events:PutEvents'))).toEqual([
      {
        Sid: 'ReportAsOperator',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RotatorEventBus/), 'Arn'] },
        Condition: {
          StringEquals: {
            'events:source': 'stytch-m2m-rotator.operator',
            'events:detail-type': ['Secret Leak Detected', 'Rotation Failed', 'Token Revocation Requested'],
          },
        },
      },
    ]);
    // The fingerprint key only (leak report --secret-stdin fingerprints on the operator's machine).
    expect(secretValueReads.map((s) => s.Resource)).toEqual([
      { Ref: expect.stringMatching(/^RotatorFingerprintKey/) },
    ]);
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'cloudformation:DescribeStacks',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      // A fleet run's progress (the byFleetRun index).
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'kms:Decrypt',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      // A fleet run's selection (written) and its results (read): client ids, never a secret.
      's3:GetObject',
      's3:PutObject',
      'scheduler:GetSchedule',
      'scheduler:ListSchedules',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:ListSecretVersionIds',
      'secretsmanager:ListSecrets',
      'states:DescribeExecution',
      'states:DescribeExecution',
      'states:GetExecutionHistory',
      'states:ListExecutions',
      'states:ListExecutions',
      'states:SendTaskFailure',
      'states:SendTaskHeartbeat',
      'states:SendTaskSuccess',
      // The rotation workflow and the fleet workflow.
      'states:StartExecution',
      'states:StartExecution',
      'states:StopExecution',
      'states:StopExecution',
    ]);
    template.hasOutput('OperatorPolicyArn', { Value: { Ref: id } });
  });

  it("lets the stack's functions publish only as the rotator, and the webhook only as the webhook", () => {
    // Prepare
    const publishersOf = (prefix: string) =>
      functionStatements(template, prefix).filter((s) => actionsOf(s).includes('events:PutEvents'));
    const rotatorSource = { StringEquals: { 'events:source': 'stytch-m2m-rotator' } };

    // Assess
    for (const prefix of [
      'RotatorStartRotationFunction',
      'RotatorPublishPendingFunction',
      'RotatorCompleteRotationFunction',
      'RotatorCancelRotationFunction',
      'RotatorRecordFailureFunction',
      'RotatorExecutionReconcilerFunction',
    ]) {
      expect(publishersOf(prefix)).toEqual([
        {
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: expect.anything(),
          Condition: rotatorSource,
        },
      ]);
    }
    expect(publishersOf('RotatorGitHubWebhookFunction')).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: expect.anything(),
        Condition: { StringEquals: { 'events:source': 'stytch-m2m-rotator.github-webhook' } },
      },
    ]);
    for (const prefix of [
      'RotatorAwaitConsumersFunction',
      'RotatorHealthAggregatorFunction',
      'RotatorLeakIntakeFunction',
    ]) {
      expect(publishersOf(prefix)).toEqual([]);
    }
  });

  it.each<[string, string[]]>([
    [
      'RotatorStartRotationFunction',
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'states:DescribeExecution',
      ],
    ],
    // It writes nothing: no table, so no table key (the bus's key is EventBridge's to use).
    ['RotatorPublishPendingFunction', ['events:PutEvents']],
    [
      'RotatorAwaitConsumersFunction',
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'states:SendTaskFailure',
        'states:SendTaskSuccess',
      ],
    ],
    [
      'RotatorCompleteRotationFunction',
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
    ],
    [
      'RotatorCancelRotationFunction',
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
    ],
    [
      'RotatorRecordFailureFunction',
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'events:PutEvents', 'kms:Decrypt', 'kms:GenerateDataKey'],
    ],
    [
      'RotatorHealthAggregatorFunction',
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'states:SendTaskFailure',
        'states:SendTaskSuccess',
      ],
    ],
    [
      'RotatorLeakIntakeFunction',
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'states:DescribeExecution',
        'states:SendTaskFailure',
        'states:SendTaskSuccess',
        'states:StartExecution',
      ],
    ],
    [
      'RotatorExecutionReconcilerFunction',
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'states:DescribeExecution',
      ],
    ],
    [
      'RotatorGitHubWebhookFunction',
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:GetSecretValue',
      ],
    ],
    [
      'RotatorMonitoringSecretAgePublisher',
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
      ],
    ],
  ])('gives %s exactly the actions its code calls', (prefix, expected) => {
    // Prepare: the common part (its own log group, X-Ray, the async-failure queue) is checked below.
    const common = /^(logs|xray|sqs):/;

    // Act
    const actions = [
      ...new Set(
        functionStatements(template, prefix)
          .flatMap(actionsOf)
          .filter((action) => !common.test(action)),
      ),
    ].sort();

    // Assess
    expect(actions).toEqual(expected);
  });

  it('gives the aggregator and the wait no secret access at all', () => {
    for (const prefix of ['RotatorHealthAggregatorFunction', 'RotatorAwaitConsumersFunction']) {
      const text = JSON.stringify(functionStatements(template, prefix));
      expect(text).not.toContain('secretsmanager');
    }
  });

  it('grants no secretsmanager:UpdateSecret, no dynamodb:Scan and no wildcard action to anyone', () => {
    // Prepare
    const documents = [
      ...Object.values(template.findResources('AWS::IAM::Policy')),
      ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
    ].map((policy) => JSON.stringify(policy.Properties.PolicyDocument));

    // Assess
    expect(documents.length).toBeGreaterThan(10);
    for (const text of documents) {
      expect(text).not.toMatch(
        /"secretsmanager:UpdateSecret"|"dynamodb:Scan"|"dynamodb:Batch|"(dynamodb|secretsmanager):\*"/,
      );
      expect(text).not.toMatch(/"(kms|dynamodb|secretsmanager|events|states):[A-Za-z]*\*"/);
    }
  });

  it('lets every function write its own log group only, with no AWSLambdaBasicExecutionRole', () => {
    // Prepare
    const functions = template.findResources('AWS::Lambda::Function');
    const prefixes = Object.keys(functions).map((id) => id.replace(/Function[0-9A-F]{8}$|[0-9A-F]{8}$/, ''));

    // Assess
    expect(prefixes).toHaveLength(12);
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain(
      'AWSLambdaBasicExecutionRole',
    );
    for (const [id, fn] of Object.entries(functions)) {
      const logGroup = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const logs = functionStatements(template, id).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('logs:')),
      );
      expect(logs).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
        },
      ]);
    }
  });

  it('binds every KMS grant of a function to the service it goes through', () => {
    for (const id of Object.keys(template.findResources('AWS::Lambda::Function'))) {
      for (const statement of functionStatements(template, id).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('kms:')),
      )) {
        expect(Object.keys(statement.Condition?.StringEquals ?? {})).toEqual(['kms:ViaService']);
      }
    }
  });

  it("routes leak reports from the rotator, the webhook, operators and the sample config's scanner only, and health reports from consumer sources only", () => {
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
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [{ prefix: 'stytch-m2m-rotator.consumer.' }],
        'detail-type': ['Consumer Health Reported'],
      },
    });
  });

  it("holds a bus policy with the same sources for this account (the sample's scanner included), and no other account by default", () => {
    // Act
    const statements = busStatements(template);

    // Assess
    expect(statements).toEqual({
      'cdk-RotatorFunctions': {
        Sid: 'cdk-RotatorFunctions',
        Effect: 'Allow',
        Principal: THIS_ACCOUNT,
        Action: 'events:PutEvents',
        Resource: expect.anything(),
        Condition: { StringEquals: { 'events:source': 'stytch-m2m-rotator' } },
      },
      'cdk-LeakReporters': {
        Sid: 'cdk-LeakReporters',
        Effect: 'Allow',
        Principal: THIS_ACCOUNT,
        Action: 'events:PutEvents',
        Resource: expect.anything(),
        Condition: {
          StringEquals: {
            'events:source': [
              'stytch-m2m-rotator.github-webhook',
              'stytch-m2m-rotator.operator',
              'example.secret-scanner',
            ],
            'events:detail-type': 'Secret Leak Detected',
          },
        },
      },
      'cdk-Consumers': {
        Sid: 'cdk-Consumers',
        Effect: 'Allow',
        Principal: THIS_ACCOUNT,
        Action: 'events:PutEvents',
        Resource: expect.anything(),
        Condition: {
          StringLike: { 'events:source': 'stytch-m2m-rotator.consumer.*' },
          StringEquals: { 'events:detail-type': 'Consumer Health Reported' },
        },
      },
    });
    for (const statement of Object.values(statements)) {
      expect(statement.Resource).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^RotatorEventBus/), 'Arn'],
      });
    }
  });

  it("adds the config's cross-account consumers and leak scanners to the bus policy and the leak rule", () => {
    // Prepare
    const config = {
      ...loadDeploymentConfig(samplePath),
      leakScanners: [{ source: 'acme.secret-scanner', description: 'Acme scanner' }],
      crossAccountConsumerAccounts: ['111122223333', '444455556666'],
    };

    // Act
    const { template: wider } = synth(config);
    const statements = busStatements(wider);

    // Assess
    expect(statements['cdk-CrossAccountConsumers']).toEqual({
      Sid: 'cdk-CrossAccountConsumers',
      Effect: 'Allow',
      Principal: {
        AWS: [
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111122223333:root']] },
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::444455556666:root']] },
        ],
      },
      Action: 'events:PutEvents',
      Resource: expect.anything(),
      Condition: {
        StringLike: { 'events:source': 'stytch-m2m-rotator.consumer.*' },
        StringEquals: { 'events:detail-type': 'Consumer Health Reported' },
      },
    });
    expect(statements['cdk-LeakReporters']?.Condition).toEqual({
      StringEquals: {
        'events:source': [
          'stytch-m2m-rotator.github-webhook',
          'stytch-m2m-rotator.operator',
          'acme.secret-scanner',
        ],
        'events:detail-type': 'Secret Leak Detected',
      },
    });
    wider.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [
          'stytch-m2m-rotator',
          'stytch-m2m-rotator.github-webhook',
          'stytch-m2m-rotator.operator',
          'acme.secret-scanner',
        ],
        'detail-type': ['Secret Leak Detected'],
      },
    });
  });

  it('grants an untaggable principal health reports as one named consumer only', () => {
    // Prepare
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Grant');
    const rotator = new StytchM2MRotator(stack, 'Rotator', { config: loadDeploymentConfig(samplePath) });
    const role = new iam.Role(stack, 'BillingApi', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });

    // Act
    rotator.grantHealthReports(role, 'billing-api');

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^BillingApi') }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: BUS_ARN,
            Condition: {
              StringEquals: {
                'events:source': 'stytch-m2m-rotator.consumer.billing-api',
                'events:detail-type': 'Consumer Health Reported',
              },
            },
          },
        ],
      },
    });
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable as a would-be consumer name
  it.each(['billing api', '', 'a'.repeat(200), '${aws:PrincipalTag/x}'])(
    'refuses to grant health reports for the consumer name %j',
    (name) => {
      // Prepare
      const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'BadGrant');
      const rotator = new StytchM2MRotator(stack, 'Rotator', { config: loadDeploymentConfig(samplePath) });
      const role = new iam.Role(stack, 'Someone', { assumedBy: new iam.AccountRootPrincipal() });

      // Act & Assess
      expect(() => rotator.grantHealthReports(role, name)).toThrow(/^grantHealthReports: consumer name /);
    },
  );

  it('attaches the operator policy with grantOperator', () => {
    // Prepare
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Operators');
    const rotator = new StytchM2MRotator(stack, 'Rotator', { config: loadDeploymentConfig(samplePath) });
    const role = new iam.Role(stack, 'OnCall', { assumedBy: new iam.AccountRootPrincipal() });

    // Act
    rotator.grantOperator(role);

    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [{ Ref: Match.stringLikeRegexp('^RotatorOperatorPolicy') }],
    });
  });

  it('passes cdk-nag AwsSolutions with the config’s scanners and cross-account consumers too', () => {
    // Prepare
    const { app: wider } = synth({
      ...loadDeploymentConfig(samplePath),
      leakScanners: [{ source: 'acme.secret-scanner' }],
      crossAccountConsumerAccounts: ['111122223333'],
    });

    // Act
    const report = new AwsSolutionsChecks(wider).validateScope(wider);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });
});
