import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { GitHubWebhookReceiver, type GitHubWebhookReceiverProps } from '../../lib/GitHubWebhookReceiver.js';

const KEY_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] };
const TABLE_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Ledger'), 'Arn'] };
const BUS_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bus'), 'Arn'] };

/** The resources the rotator owns, as the receiver receives them. */
function rotatorResources(stack: Stack) {
  const encryptionKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const eventBus = new events.EventBus(stack, 'Bus', { kmsKey: encryptionKey });
  const ledger = new dynamodb.Table(stack, 'Ledger', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  const fingerprintKey = new secretsmanager.Secret(stack, 'FingerprintKey', { encryptionKey });
  // Not the receiver's resource: StytchM2MRotator acknowledges it where it creates it.
  Validations.of(fingerprintKey).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Owned by the rotator.' });
  return { encryptionKey, eventBus, ledger, fingerprintKey };
}

function synth(props: Partial<GitHubWebhookReceiverProps> = {}): { app: App; template: Template } {
  // Skip asset bundling: these tests are about the template, not the bundle.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Receiver');
  new GitHubWebhookReceiver(stack, 'Receiver', { ...rotatorResources(stack), ...props });
  return { app, template: Template.fromStack(stack) };
}

/** Every statement of the function role's policies. */
function roleStatements(template: Template): Record<string, unknown>[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Record<string, unknown>[],
  );
}

function actionsOf(statement: Record<string, unknown>): string[] {
  const { Action } = statement;
  return (Array.isArray(Action) ? Action : [Action]) as string[];
}

describe('Construct: GitHubWebhookReceiver', () => {
  let app: App;
  let template: Template;

  beforeAll(() => {
    ({ app, template } = synth());
  });

  it('exposes the function through a Function URL with auth type NONE (the HMAC signature authenticates)', () => {
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReceiverFunction'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionUrlAuthType: 'NONE',
      Principal: '*',
    });
  });

  it('runs the githubWebhook handler for at most GitHub’s 10 second wait, with names and ARNs only in its environment', () => {
    // Prepare
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));

    // Assess
    template.resourceCountIs('AWS::Lambda::Function', 1);
    expect(fn?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 10,
      Handler: 'index.handler',
    });
    const variables = fn?.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables).toEqual({
      POWERTOOLS_SERVICE_NAME: 'stytch-m2m-rotator',
      POWERTOOLS_METRICS_NAMESPACE: 'StytchM2MRotator',
      NODE_OPTIONS: '--enable-source-maps',
      ROTATOR_TABLE_NAME: { Ref: expect.stringMatching(/^Ledger/) },
      ROTATOR_EVENT_BUS_NAME: { Ref: expect.stringMatching(/^Bus/) },
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: { Ref: expect.stringMatching(/^FingerprintKey/) },
      ROTATOR_GITHUB_WEBHOOK_SECRET_ID: { Ref: expect.stringMatching(/^ReceiverWebhookSecret/) },
      ROTATOR_GITHUB_TOKEN_SECRET_ID: { Ref: expect.stringMatching(/^ReceiverGitHubToken/) },
      ROTATOR_GITHUB_API_URL: 'https://api.github.com',
    });
  });

  it('creates the webhook secret (generated) and the token secret (placeholder), both encrypted with the key and deleted with the stack', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({
        Description: Match.stringLikeRegexp('GitHub secret-scanning webhook'),
        KmsKeyId: KEY_ARN,
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
      }),
      DeletionPolicy: 'Delete',
    });
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({
        Description: Match.stringLikeRegexp('GitHub token'),
        KmsKeyId: KEY_ARN,
        GenerateSecretString: {
          SecretStringTemplate: '{"configured":false}',
          GenerateStringKey: 'placeholder',
        },
      }),
      DeletionPolicy: 'Delete',
    });
  });

  it('grants GetSecretValue of exactly the three secrets, item calls on the ledger, PutEvents as the webhook only, and the key through those services', () => {
    // Prepare
    const statements = roleStatements(template);
    const secretCalls = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    const viaService = (service: string) => ({
      StringEquals: {
        'kms:ViaService': {
          'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
        },
      },
    });

    // Assess
    expect(secretCalls).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [
          { Ref: expect.stringMatching(/^ReceiverWebhookSecret/) },
          { Ref: expect.stringMatching(/^ReceiverGitHubToken/) },
          { Ref: expect.stringMatching(/^FingerprintKey/) },
        ],
      },
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
            Resource: TABLE_ARN,
          },
          {
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: BUS_ARN,
            Condition: { StringEquals: { 'events:source': 'stytch-m2m-rotator.github-webhook' } },
          },
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: KEY_ARN,
            Condition: viaService('secretsmanager'),
          },
          {
            Effect: 'Allow',
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: KEY_ARN,
            Condition: viaService('dynamodb'),
          },
        ]),
      },
    });
    expect(statements.filter((s) => actionsOf(s).includes('events:PutEvents'))).toHaveLength(1);
    expect(JSON.stringify(statements)).not.toMatch(/secretsmanager:DescribeSecret|kms:\w+\*/);
  });

  it('writes to its own log group only (no AWSLambdaBasicExecutionRole)', () => {
    // Prepare
    const logs = roleStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));

    // Assess
    expect(logs).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ReceiverFunctionLogGroup/), 'Arn'] },
      },
    ]);
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain(
      'AWSLambdaBasicExecutionRole',
    );
  });

  it('reserves (and caps) 5 concurrent executions by default, so a flood cannot starve the rotation functions', () => {
    // Act
    const { template: five } = synth();
    const { template: two } = synth({ reservedConcurrency: 2 });

    // Assess
    five.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
    two.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 2 });
  });

  it('counts a failed delivery as a function error or a 5xx answer of its URL', () => {
    // Prepare
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Metric');
    const receiver = new GitHubWebhookReceiver(stack, 'Receiver', rotatorResources(stack));

    // Act
    const config = receiver.failedDeliveries.toMetricConfig();

    // Assess
    expect(config.mathExpression?.expression).toBe('FILL(errors, 0) + FILL(url5xx, 0)');
    expect(
      Object.entries(config.mathExpression?.usingMetrics ?? {}).map(([id, metric]) => [
        id,
        metric.toMetricConfig().metricStat?.metricName,
      ]),
    ).toEqual([
      ['errors', 'Errors'],
      ['url5xx', 'Url5xxCount'],
    ]);
  });

  it('grants nothing on a wildcard resource but X-Ray, and no table-wide or index access', () => {
    // Prepare
    const statements = roleStatements(template);

    // Assess
    const wildcard = statements.filter((s) => s.Resource === '*');
    expect(wildcard.map((s) => s.Action)).toEqual([['xray:PutTraceSegments', 'xray:PutTelemetryRecords']]);
    const dynamoActions = statements.flatMap(actionsOf).filter((action) => action.startsWith('dynamodb:'));
    expect(dynamoActions.sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(JSON.stringify(statements)).not.toMatch(/\/index\//);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });

  it('passes a GitHub Enterprise Server API URL, log retention and removal policy through', () => {
    // Act
    const { template: custom } = synth({
      githubApiUrl: 'https://github.example.com/api/v3',
      logRetention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Assess
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ROTATOR_GITHUB_API_URL: 'https://github.example.com/api/v3' }),
      },
    });
    custom.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 7 },
      DeletionPolicy: 'Retain',
    });
    custom.resourcePropertiesCountIs(
      'AWS::SecretsManager::Secret',
      { Description: Match.stringLikeRegexp('GitHub') },
      2,
    );
    expect(
      Object.values(custom.findResources('AWS::SecretsManager::Secret'))
        .filter((secret) => String(secret.Properties.Description ?? '').includes('GitHub'))
        .map((secret) => secret.DeletionPolicy),
    ).toEqual(['Retain', 'Retain']);
  });

  it('reports every invalid prop at once', () => {
    // Prepare
    const stack = new Stack(new App(), 'Bad');
    const resources = rotatorResources(stack);

    // Act & Assess
    expect(
      () =>
        new GitHubWebhookReceiver(stack, 'Receiver', {
          ...resources,
          ledger: undefined as unknown as dynamodb.ITable,
          fingerprintKey: undefined as unknown as secretsmanager.ISecret,
          githubApiUrl: 'http://api.github.com',
          reservedConcurrency: 0,
        }),
    ).toThrow(
      /Invalid GitHubWebhookReceiver props:\n- ledger is required\n- fingerprintKey is required\n- reservedConcurrency must be an integer from 1 to 1000, got 0\n- githubApiUrl must use https/,
    );
  });

  it.each([
    ['not a URL', 'not a url', /githubApiUrl is not a URL/],
    [
      'credentials, never echoed',
      'https://user:hunter2@github.example.com/api/v3',
      /must not hold credentials/,
    ],
    ['a query', 'https://api.github.com/?x=1', /must not hold credentials, a query or a fragment/],
  ])('refuses a githubApiUrl with %s', (_case, githubApiUrl, message) => {
    // Prepare
    const stack = new Stack(new App(), 'Bad');

    // Act
    let error: unknown;
    try {
      new GitHubWebhookReceiver(stack, 'Receiver', { ...rotatorResources(stack), githubApiUrl });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
