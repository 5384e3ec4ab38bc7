import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EVENT_SOURCES } from '../lambdas/core/events.js';
import { githubWebhookFunctionEnvironment } from '../lambdas/wiring/environment.js';
import { RotatorFunction } from './RotatorFunction.js';

/** Props of {@link GitHubWebhookReceiver}. */
export interface GitHubWebhookReceiverProps {
  /** The rotator's ledger: the fingerprint index is read, delivery claims are written. */
  readonly ledger: dynamodb.ITable;
  /** The rotator's bus, which carries `Secret Leak Detected` to the leak rule. */
  readonly eventBus: events.IEventBus;
  /** The key that encrypts the ledger and the bus; the receiver's two secrets are encrypted with it too. */
  readonly encryptionKey: kms.IKey;
  /** The HMAC key of secret fingerprints (the one the ledger's fingerprints were computed with). */
  readonly fingerprintKey: secretsmanager.ISecret;
  /**
   * GitHub's REST API; GitHub Enterprise Server: `https://HOST/api/v3`.
   * @default 'https://api.github.com'
   */
  readonly githubApiUrl?: string;
  /**
   * Log retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the two secrets and the log group when the stack is deleted.
   * @default - the secrets are deleted (`DESTROY`), the log group is kept unless the deploy that
   * created it fails (`RETAIN_ON_UPDATE_OR_DELETE`)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Concurrent executions reserved for (and capping) the receiver: anyone can post to its public
   * URL, and a flood must not take the account's concurrency from the rotation functions. GitHub
   * sends one delivery per alert, so a handful is plenty.
   * @default 5
   */
  readonly reservedConcurrency?: number;
}

/** See {@link GitHubWebhookReceiverProps.reservedConcurrency}. */
export const DEFAULT_WEBHOOK_RESERVED_CONCURRENCY = 5;
/** GitHub waits 10 seconds for a webhook's answer; a function still running after that helps nobody. */
const FUNCTION_TIMEOUT = Duration.seconds(10);

/**
 * The GitHub secret-scanning webhook receiver: a function behind a public Function URL that turns
 * a `secret_scanning_alert` for a managed secret into `Secret Leak Detected` on the rotator's bus.
 *
 * Set the webhook up in GitHub (repository or organization settings → Webhooks): payload URL =
 * {@link functionUrl}, content type `application/json`, secret = the value of
 * {@link webhookSecret}, events: "Secret scanning alerts". Put a token that may read
 * secret-scanning alerts (fine-grained: "Secret scanning alerts: read") in {@link tokenSecret}.
 */
export class GitHubWebhookReceiver extends Construct {
  /** The receiver's function. */
  public readonly function: lambda.IFunction;
  /** The public URL GitHub posts to; the HMAC signature of each delivery is its authentication. */
  public readonly functionUrl: lambda.FunctionUrl;
  /** The webhook's shared secret (generated): enter its value in GitHub's webhook settings. */
  public readonly webhookSecret: secretsmanager.Secret;
  /** The GitHub API token the receiver fetches alert secrets with; created with a placeholder. */
  public readonly tokenSecret: secretsmanager.Secret;
  /**
   * Deliveries the receiver failed on, per 5 minutes: function errors plus 5xx answers. GitHub
   * does not redeliver them, so {@link RotatorMonitoring} alarms on any.
   */
  public readonly failedDeliveries: cloudwatch.IMetric;

  public constructor(scope: Construct, id: string, props: GitHubWebhookReceiverProps) {
    super(scope, id);
    validateProps(props);
    // The webhook secret is only good for this stack's Function URL, and a GitHub token left behind
    // is a live credential nothing uses: both go with the stack.
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.webhookSecret = this.createWebhookSecret(props, removalPolicy);
    this.tokenSecret = this.createTokenSecret(props, removalPolicy);
    const fn = this.createFunction(props);
    this.function = fn;
    // GitHub signs deliveries; it cannot sign AWS requests. The signature check is the first thing
    // the handler does, before any read or write.
    this.functionUrl = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.grantHandlerAccess(fn, props);
    this.failedDeliveries = failedDeliveriesOf(fn);
  }

  /** The webhook's shared secret, generated here and pasted into GitHub's webhook settings. */
  private createWebhookSecret(
    props: GitHubWebhookReceiverProps,
    removalPolicy: RemovalPolicy,
  ): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description: 'stytch-m2m-rotator: shared secret of the GitHub secret-scanning webhook (HMAC-SHA256)',
      encryptionKey: props.encryptionKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The webhook secret is shared with GitHub's webhook settings, which no rotation Lambda can update; it is " +
        'rotated by hand (new value here, then in GitHub). The receiver re-reads it every few minutes.',
    });
    return secret;
  }

  /** The GitHub token's secret, created with a placeholder that the receiver refuses. */
  private createTokenSecret(
    props: GitHubWebhookReceiverProps,
    removalPolicy: RemovalPolicy,
  ): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'GitHubToken', {
      description:
        'stytch-m2m-rotator: GitHub token that reads secret-scanning alerts (replace the placeholder with a token)',
      encryptionKey: props.encryptionKey,
      // Never a real token: that must not be in the template. The receiver refuses this placeholder.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ configured: false }),
        generateStringKey: 'placeholder',
      },
      removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'GitHub issues this token (a fine-grained token or a GitHub App), so Secrets Manager cannot generate or ' +
        "rotate it; it is rotated at GitHub's expiry, by hand.",
    });
    return secret;
  }

  private createFunction(props: GitHubWebhookReceiverProps): lambda.IFunction {
    const rotatorFunction = new RotatorFunction(this, 'Function', {
      handlerFile: 'githubWebhook',
      description: 'Turns GitHub secret-scanning alerts for managed secrets into Secret Leak Detected',
      environment: githubWebhookFunctionEnvironment({
        tableName: props.ledger.tableName,
        eventBusName: props.eventBus.eventBusName,
        fingerprintKeySecretId: props.fingerprintKey.secretArn,
        githubWebhookSecretId: this.webhookSecret.secretArn,
        githubTokenSecretId: this.tokenSecret.secretArn,
        ...(props.githubApiUrl === undefined ? {} : { githubApiUrl: props.githubApiUrl }),
      }),
      timeout: FUNCTION_TIMEOUT,
      reservedConcurrentExecutions: props.reservedConcurrency ?? DEFAULT_WEBHOOK_RESERVED_CONCURRENCY,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.removalPolicy === undefined ? {} : { logRemovalPolicy: props.removalPolicy }),
    });
    return rotatorFunction.function;
  }

  private grantHandlerAccess(fn: lambda.IFunction, props: GitHubWebhookReceiverProps): void {
    // Explicit statements, each what the handler calls: GetSecretValue of its three secrets (no
    // DescribeSecret), item calls on the table itself (the fingerprint lookup and the delivery
    // claims; no index, scan or batch access), PutEvents as the webhook only.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.webhookSecret.secretArn, this.tokenSecret.secretArn, props.fingerprintKey.secretArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.ledger.tableArn],
      }),
    );
    // Its reports say "the GitHub webhook", and nothing else: not a consumer, not an operator.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [props.eventBus.eventBusArn],
        conditions: { StringEquals: { 'events:source': EVENT_SOURCES.githubWebhook } },
      }),
    );
    // The secrets and the ledger are encrypted with this key, through those two services only.
    const stack = Stack.of(this);
    for (const [service, actions] of [
      ['secretsmanager', ['kms:Decrypt']],
      ['dynamodb', ['kms:Decrypt', 'kms:GenerateDataKey']],
    ] as const) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: [...actions],
          resources: [props.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `${service}.${stack.region}.${stack.urlSuffix}` } },
        }),
      );
    }
  }
}

/**
 * Deliveries the receiver failed on, per 5 minutes (see {@link GitHubWebhookReceiver.failedDeliveries}).
 */
function failedDeliveriesOf(fn: lambda.IFunction): cloudwatch.IMetric {
  // GitHub does not redeliver: a delivery the receiver failed on (an expired token, GitHub or
  // AWS down) is a leak nobody acts on unless someone is told. The handler answers those with a
  // 5xx (Url5xxCount) and a crash or timeout is a function error (Errors): one count of both.
  const metric = (metricName: string): cloudwatch.Metric =>
    new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { FunctionName: fn.functionName },
      period: Duration.minutes(5),
      statistic: 'Sum',
    });
  return new cloudwatch.MathExpression({
    expression: 'FILL(errors, 0) + FILL(url5xx, 0)',
    usingMetrics: { errors: metric('Errors'), url5xx: metric('Url5xxCount') },
    label: 'Failed GitHub deliveries',
    period: Duration.minutes(5),
  });
}

/** Checks every prop and throws once, listing every problem. */
function validateProps(props: GitHubWebhookReceiverProps): void {
  const problems: string[] = [];
  // JavaScript callers get no compile-time check of the required props.
  for (const name of ['ledger', 'eventBus', 'encryptionKey', 'fingerprintKey'] as const) {
    if (props[name] === undefined || props[name] === null) problems.push(`${name} is required`);
  }
  const concurrency = props.reservedConcurrency;
  if (
    concurrency !== undefined &&
    !Token.isUnresolved(concurrency) &&
    !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 1000)
  ) {
    problems.push(`reservedConcurrency must be an integer from 1 to 1000, got ${concurrency}`);
  }
  const apiUrl = props.githubApiUrl;
  if (apiUrl !== undefined && !Token.isUnresolved(apiUrl)) {
    let url: URL | undefined;
    try {
      url = new URL(apiUrl);
    } catch {
      problems.push('githubApiUrl is not a URL');
    }
    if (url !== undefined) {
      if (url.protocol !== 'https:') {
        problems.push(`githubApiUrl must use https (it carries the GitHub token), not ${url.protocol}`);
      }
      if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
        // Not echoed: the value may hold a password.
        problems.push('githubApiUrl must not hold credentials, a query or a fragment');
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(`Invalid GitHubWebhookReceiver props:\n- ${problems.join('\n- ')}`);
  }
}
