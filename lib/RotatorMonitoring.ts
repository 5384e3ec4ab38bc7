import { ArnFormat, Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EVENT_SOURCES, ROTATOR_EVENT_SOURCE } from '../lambdas/core/events.js';
import { DRIFT_METRICS } from '../lambdas/core/fleetDrift.js';
import { DEFAULT_POLICIES, MAX_DEADLINE_SECONDS } from '../lambdas/core/policy.js';
import { ratePeriodSeconds } from '../lambdas/core/scheduleExpression.js';
import { SECRET_AGE_METRICS } from '../lambdas/core/secretAge.js';
import { secretAgePublisherEnvironment } from '../lambdas/wiring/environment.js';
import {
  acknowledgeManagedSecrets,
  managedSecretsArn,
  missingProps,
  viaService,
} from './constructs/grants.js';
import { RotatorFunction } from './RotatorFunction.js';

/** The tunable part of {@link RotatorMonitoringProps}, as {@link StytchM2MRotator} takes it. */
export interface RotatorMonitoringOptions {
  /**
   * Email addresses subscribed to the alarm and lifecycle topic (each must confirm the subscription).
   * @default - no subscription: subscribe to the topic yourself
   */
  readonly alarmEmails?: readonly string[];
  /**
   * How long past the longest policy deadline an execution may run before it counts as stuck: the
   * steps after the wait (complete, else cancel, else record the failure) each retry for up to ~30 min.
   * @default 60
   */
  readonly stuckRotationMarginMinutes?: number;
  /**
   * The longest deadline any client's policy sets, in seconds (1 to 7 days): the RotationStuck
   * alarm's threshold starts from it. Clients are registry data the stack does not see, so raise it
   * if a client's policy sets a longer deadline than the defaults; a shorter one needs nothing.
   * @default 3600 (the longest default deadline: a scheduled rotation's)
   */
  readonly longestDeadlineSeconds?: number;
  /**
   * How many days past its rotation period (and flexible window) a secret may be before it counts
   * as overdue: room for one cancelled scheduled rotation to be retried by hand.
   * @default 1
   */
  readonly secretAgeMarginDays?: number;
  /**
   * The rotation period assumed for a client whose schedule is not `rate(N days|hours|minutes)`
   * (a cron expression, or no schedule at all).
   * @default 31 (a monthly cron never leaves a longer gap)
   */
  readonly defaultRotationPeriodDays?: number;
  /**
   * When the publisher sweeps the fleet: every registered client's secret age (`SecretsOverdue`)
   * and the drift against Stytch (`DriftMidRotation`, `DriftMissingAtStytch`, `UnmanagedClients`).
   * The secrets-overdue and fleet-drift alarms evaluate one-hour periods, so a `rate(...)` less
   * often than hourly is refused.
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly secretAgeSchedule?: events.Schedule;
}

/** Props of {@link RotatorMonitoring}. */
export interface RotatorMonitoringProps extends RotatorMonitoringOptions {
  /** The rotation workflow to watch. */
  readonly stateMachine: sfn.IStateMachine;
  /**
   * The fleet workflow (`rotator rotate --all | --selector`) and its Distributed Map's label: the
   * dashboard shows its runs and its items (the map's child executions, which Step Functions
   * reports under `<state machine ARN>/<label>`).
   * @default - no fleet widgets
   */
  readonly fleetRotation?: { readonly stateMachine: sfn.IStateMachine; readonly mapLabel: string };
  /** The rotator's dead-letter queue (undeliverable events and schedules). */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The rotator's on-failure destination of asynchronous invocations (events a function failed on
   * after Lambda's retries): the secret-age publisher sends its failures there too, and an alarm
   * watches it.
   */
  readonly asyncFailureQueue: sqs.IQueue;
  /** The rotator's bus, which carries `Rotation Completed|Cancelled|Failed`. */
  readonly eventBus: events.IEventBus;
  /**
   * The key that encrypts the topic. When it is a key of this app, its policy is extended so that
   * CloudWatch and EventBridge can publish to the topic; an imported key's policy must allow
   * `kms:Decrypt` and `kms:GenerateDataKey*` to `cloudwatch.amazonaws.com` and `events.amazonaws.com`.
   */
  readonly encryptionKey: kms.IKey;
  /**
   * The ledger table, where the registry of managed clients is (`pk = REGISTRY#`): the publisher
   * lists the clients there on every run (a Query; `kms:Decrypt` on the table's `encryptionKey`,
   * through DynamoDB, when it has one), so the stack holds nothing per client. An imported table
   * encrypted with a customer-managed key must be imported with that key.
   */
  readonly ledger: dynamodb.ITable;
  /**
   * The managed secrets' name prefix: the publisher lists the versions of `<secretPrefix>/<clientId>`
   * (`secretsmanager:ListSecretVersionIds` on `<secretPrefix>/*`); it never reads a value, so it
   * needs no access to their key.
   */
  readonly secretPrefix: string;
  /**
   * ARN of the secret holding the Stytch project credentials: the publisher reads it
   * (`secretsmanager:GetSecretValue` on it, `kms:Decrypt` of `encryptionKey` through Secrets Manager)
   * to search Stytch's clients for the drift; it never changes anything at Stytch.
   */
  readonly stytchCredentialsSecretArn: string;
  /**
   * The Stytch project's shared budget (requests per second per group) the sweep's searches take
   * from, as the rotations do.
   * @default DEFAULT_STYTCH_REQUESTS_PER_SECOND (lambdas/core/rateBudget.ts)
   */
  readonly stytchRequestsPerSecond?: number;
  /**
   * Deliveries the GitHub webhook receiver failed on ({@link GitHubWebhookReceiver.failedDeliveries}):
   * alarmed on any, since GitHub does not retry a failed delivery.
   * @default - no webhook alarm
   */
  readonly githubWebhookFailures?: cloudwatch.IMetric;
  /**
   * Log retention of the publisher's log group.
   * @default - RotatorFunction's default (one month)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the publisher's log group when the stack is deleted.
   * @default - RotatorFunction's default (kept, unless the deploy that created it fails)
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** Namespace of the rotator's custom metrics (the functions' POWERTOOLS_METRICS_NAMESPACE). */
export const ROTATOR_METRICS_NAMESPACE = 'StytchM2MRotator';
/**
 * The dimension Powertools adds to every rotation metric (lambdas/adapters/powertools/metrics.ts): a
 * search names the exact dimension set it matches. The secret-age counts have no dimension at all.
 */
const POWERTOOLS_SERVICE_DIMENSION = 'service';
/** The lifecycle events that end a rotation, forwarded to the topic. */
export const LIFECYCLE_DETAIL_TYPES = [
  'Rotation Completed',
  'Rotation Cancelled',
  'Rotation Failed',
] as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DEFAULTS = {
  stuckRotationMarginMinutes: 60,
  longestDeadlineSeconds: Math.max(
    ...Object.values(DEFAULT_POLICIES).map((policy) => policy.deadlineSeconds),
  ),
  secretAgeMarginDays: 1,
  defaultRotationPeriodDays: 31,
};
/** The props a JavaScript caller could leave out (TypeScript checks them at compile time). */
const REQUIRED_PROPS = [
  'stateMachine',
  'deadLetterQueue',
  'asyncFailureQueue',
  'eventBus',
  'encryptionKey',
  'ledger',
  'secretPrefix',
  'stytchCredentialsSecretArn',
] as const satisfies readonly (keyof RotatorMonitoringProps)[];
const FIVE_MINUTES = Duration.minutes(5);
/** The partition key of the sweep's ledger item (FLEET_PK of lambdas/adapters/aws/ledger/FleetSweeps.ts). */
const FLEET_SWEEP_PK = 'FLEET#';
/** The partition key of the shared budgets' window items (lambdas/adapters/aws/DynamoRateBudgetStore.ts). */
const BUDGET_PK = 'BUDGET#';
/** Counters: no datapoint means nothing happened in the period, which is the healthy case. */
const COUNTER = {
  threshold: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  evaluationPeriods: 1,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
} as const;

/**
 * Alarms, lifecycle notifications and a dashboard for a {@link StytchM2MRotator}: one encrypted SNS
 * topic receives every alarm and every `Rotation Completed|Cancelled|Failed` event.
 */
export class RotatorMonitoring extends Construct {
  /** Alarms and lifecycle notifications; subscribe to it (or pass `alarmEmails`). */
  public readonly topic: sns.Topic;
  /** Forwards the end of every rotation to the topic. */
  public readonly lifecycleRule: events.Rule;
  /**
   * Workflow and queue alarms, by name: ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted,
   * DeadLetters, AsyncFailures, RotationStuck, and GitHubWebhookFailures when given the webhook.
   */
  public readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /**
   * One alarm for the whole fleet, however many clients the registry holds: some registered
   * client's AWSCURRENT secret is older than its rotation period, window and margin (`SecretsOverdue`
   * above 0 for three hours), or the count stopped being published. The publisher's log names them.
   */
  public readonly secretsOverdueAlarm: cloudwatch.Alarm;
  /**
   * One alarm for the fleet's drift at Stytch: some managed client is mid-rotation at Stytch with no
   * rotation holding it, or missing at Stytch (`DriftMidRotation + DriftMissingAtStytch` above 0 for
   * two hourly sweeps in a row). Unmanaged Stytch clients never alarm. The publisher's log and
   * `rotator status --fleet` name them.
   */
  public readonly fleetDriftAlarm: cloudwatch.Alarm;
  /** Executions, execution time, dead letters, alarm states and the rotation metrics on one page. */
  public readonly dashboard: cloudwatch.Dashboard;
  /**
   * The hourly fleet sweep, on `secretAgeSchedule`: lists the registered clients and publishes how
   * many there are (`ManagedClients`), how many secrets are overdue (`SecretsOverdue`) and how many
   * could not be measured (`SecretsUnmeasured`); searches Stytch's clients and publishes the drift
   * (`DriftMidRotation`, `DriftMissingAtStytch`, `UnmanagedClients`); records the sweep in the ledger
   * (`pk=FLEET#, sk=SWEEP`) for `rotator status --fleet`.
   */
  public readonly secretAgePublisher: RotatorFunction;
  /** Runs the publisher. */
  public readonly secretAgeSchedule: events.Rule;

  readonly #alarmAction: cloudwatchActions.SnsAction;

  public constructor(scope: Construct, id: string, props: RotatorMonitoringProps) {
    super(scope, id);
    const problems = [...missingProps(props, REQUIRED_PROPS), ...rotatorMonitoringOptionsProblems(props)];
    if (problems.length > 0) throw new Error(`Invalid RotatorMonitoring props:\n- ${problems.join('\n- ')}`);
    const stuckMarginMinutes = props.stuckRotationMarginMinutes ?? DEFAULTS.stuckRotationMarginMinutes;
    // "Stuck past its deadline": AWS/States has no per-machine count of open executions, and
    // ExecutionTime is published when an execution closes. An execution ends at most a bounded
    // time after its deadline (the wait times out at it; each later step retries for ~30 min at
    // most), so one that closes later than the longest deadline any policy allows plus that margin
    // was stuck (hung retries, a step that kept timing out). One that never closes is stopped by the
    // state machine's own timeout and trips ExecutionsTimedOut, so the two alarms together cover
    // both. The threshold uses the longest deadline of all clients and triggers: one alarm, no
    // false alarm. The clients are registry data, unknown here, hence `longestDeadlineSeconds`.
    const longestDeadlineSeconds = props.longestDeadlineSeconds ?? DEFAULTS.longestDeadlineSeconds;
    const stuckThresholdMs = (longestDeadlineSeconds + stuckMarginMinutes * 60) * 1000;
    this.topic = this.createTopic(props);
    this.lifecycleRule = this.createLifecycleRule(props);
    this.#alarmAction = new cloudwatchActions.SnsAction(this.topic);
    this.alarms = this.createWorkflowAlarms(props, stuckMarginMinutes, stuckThresholdMs);
    this.secretsOverdueAlarm = this.createSecretsOverdueAlarm(props);
    this.fleetDriftAlarm = this.createFleetDriftAlarm();
    this.secretAgePublisher = this.createSecretAgePublisher(props);
    this.secretAgeSchedule = this.createSecretAgeSchedule(props);
    this.dashboard = this.createDashboard(props, stuckThresholdMs);
  }

  /**
   * The encrypted alerts topic, which CloudWatch (this stack's alarms) and EventBridge (the
   * lifecycle rule) may publish to, with the key grants that takes.
   */
  private createTopic(props: RotatorMonitoringProps): sns.Topic {
    const stack = Stack.of(this);
    const prefix = stack.stackName;
    const topic = new sns.Topic(this, 'Topic', {
      displayName: 'stytch-m2m-rotator alerts',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // SNS encrypts each message with a data key made under the publisher's authority, so a
    // publisher needs the key too (SNS developer guide, "compatibility between event sources from
    // AWS services and encrypted topics"). Each service principal is bound to what it publishes:
    // CloudWatch's request carries the alarm as aws:SourceArn (this stack's alarms only);
    // EventBridge's KMS request carries no aws:SourceArn, so it is bound by the encryption context
    // SNS uses (aws:sns:topicArn) to this stack's topics (CloudFormation names them
    // `<stack name>-…`; the topic's own ARN here would make the key and the topic depend on each
    // other), and its sns:Publish to the lifecycle rule (aws:SourceArn) below.
    const alarmsOfThisStack = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${prefix}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: alarmsOfThisStack,
      }),
      true,
    );
    props.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgePublishesToEncryptedTopic',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': `sns.${stack.region}.${stack.urlSuffix}` },
          ArnLike: {
            'kms:EncryptionContext:aws:sns:topicArn': stack.formatArn({
              service: 'sns',
              resource: `${prefix}-*`,
              arnFormat: ArnFormat.NO_RESOURCE_NAME,
            }),
          },
        },
      }),
      true,
    );
    // The topic policy replaces SNS's default one, so CloudWatch needs its own allow.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: alarmsOfThisStack,
      }),
    );
    for (const email of props.alarmEmails ?? []) {
      topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    return topic;
  }

  /** Forwards the end of every rotation to the topic, through a target bound to this rule only. */
  private createLifecycleRule(props: RotatorMonitoringProps): events.Rule {
    const stack = Stack.of(this);
    const lifecycleRule = new events.Rule(this, 'LifecycleRule', {
      eventBus: props.eventBus,
      description: 'The end of every rotation (Completed, Cancelled, Failed) goes to the alerts topic',
      // The operator's source too: `rotator repair --apply` announces the rotations it closes.
      eventPattern: {
        source: [ROTATOR_EVENT_SOURCE, EVENT_SOURCES.operator],
        detailType: [...LIFECYCLE_DETAIL_TYPES],
      },
    });
    // Not eventTargets.SnsTopic: its grant lets events.amazonaws.com publish (and use the key) with
    // no condition. This target is the same (DLQ, retries), with the grant bound to this rule.
    const lifecycleRuleArn = lifecycleRule.ruleArn;
    const topic = this.topic;
    const deadLetterQueue = props.deadLetterQueue;
    lifecycleRule.addTarget({
      bind: (rule) => {
        topic.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: 'LifecycleRulePublishes',
            principals: [new iam.ServicePrincipal('events.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [topic.topicArn],
            conditions: {
              StringEquals: { 'aws:SourceAccount': stack.account },
              ArnEquals: { 'aws:SourceArn': lifecycleRuleArn },
            },
          }),
        );
        eventTargets.addToDeadLetterQueueResourcePolicy(rule, deadLetterQueue);
        return {
          ...eventTargets.bindBaseTargetConfig({
            deadLetterQueue,
            retryAttempts: 3,
            maxEventAge: Duration.hours(1),
          }),
          arn: topic.topicArn,
          targetResource: topic,
        };
      },
    });
    return lifecycleRule;
  }

  /** An alarm named `<stack name>-<name>` that notifies the topic. */
  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    options: Omit<cloudwatch.CreateAlarmOptions, 'alarmName'> & { readonly name: string },
  ): cloudwatch.Alarm {
    const { name, ...alarmOptions } = options;
    const created = new cloudwatch.Alarm(this, id, {
      ...alarmOptions,
      metric,
      alarmName: `${Stack.of(this).stackName}-${name}`,
    });
    created.addAlarmAction(this.#alarmAction);
    return created;
  }

  /** The workflow and queue alarms, by name ({@link alarms}). */
  private createWorkflowAlarms(
    props: RotatorMonitoringProps,
    stuckMarginMinutes: number,
    stuckThresholdMs: number,
  ): Map<string, cloudwatch.Alarm> {
    const alarms = new Map<string, cloudwatch.Alarm>([
      ...this.executionAlarms(props),
      ...this.queueAlarms(props),
      [
        'RotationStuck',
        this.alarm(
          'RotationStuckAlarm',
          props.stateMachine.metricTime({ period: FIVE_MINUTES, statistic: 'Maximum' }),
          {
            threshold: stuckThresholdMs,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            // Published only when an execution closes: no datapoint is no overrun.
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            name: 'rotation-stuck-past-deadline',
            alarmDescription:
              `A rotation ran longer than the longest policy deadline ` +
              `(${props.longestDeadlineSeconds ?? DEFAULTS.longestDeadlineSeconds} s) plus ${stuckMarginMinutes} min ` +
              `(${stuckThresholdMs} ms): it was stuck after its deadline. If a client's policy sets a longer ` +
              'deadline, that rotation may simply have used it: raise the longestDeadlineSeconds monitoring option.',
          },
        ),
      ],
    ]);
    if (props.githubWebhookFailures !== undefined) {
      alarms.set(
        'GitHubWebhookFailures',
        this.alarm('GitHubWebhookFailuresAlarm', props.githubWebhookFailures, {
          ...COUNTER,
          name: 'github-webhook-failures',
          alarmDescription:
            'The GitHub secret-scanning webhook failed on a delivery (a 5xx answer or a function error): an ' +
            'expired or revoked GitHub token, GitHub or AWS unavailable. GitHub does not retry a failed delivery ' +
            'on its own, so the leak it reported has not been acted on: read the receiver log (result and ' +
            'reason), fix the cause (a new token in the GitHubTokenSecretArn secret), then redeliver it by hand ' +
            '(webhook settings, Recent Deliveries, Redeliver) or report the leak with rotator leak report.',
        }),
      );
    }
    return alarms;
  }

  /** Executions that failed, timed out or were stopped. */
  private executionAlarms(props: RotatorMonitoringProps): [string, cloudwatch.Alarm][] {
    return [
      [
        'ExecutionsFailed',
        this.alarm(
          'ExecutionsFailedAlarm',
          props.stateMachine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
          {
            ...COUNTER,
            name: 'rotation-executions-failed',
            alarmDescription:
              'A rotation execution failed: RotationFailed (it could neither complete nor cancel: `rotator history ' +
              '<clientId>` shows the error) or an error no state caught. Refused requests (already rotating, invalid) ' +
              'end as succeeded and are not counted. The ExecutionReconciler reconciles the client automatically; ' +
              'if `rotator status` still shows it rotating, run `rotator repair <clientId>`.',
          },
        ),
      ],
      [
        'ExecutionsTimedOut',
        this.alarm(
          'ExecutionsTimedOutAlarm',
          props.stateMachine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
          {
            ...COUNTER,
            name: 'rotation-executions-timed-out',
            alarmDescription:
              "A rotation execution hit the state machine's own timeout: it never reached an end state. The " +
              'ExecutionReconciler reconciles it automatically (makes the client whole, releases its lock); if ' +
              '`rotator status` still shows the client rotating, run `rotator repair <clientId>`.',
          },
        ),
      ],
      [
        'ExecutionsAborted',
        this.alarm(
          'ExecutionsAbortedAlarm',
          props.stateMachine.metricAborted({ period: FIVE_MINUTES, statistic: 'Sum' }),
          {
            ...COUNTER,
            name: 'rotation-executions-aborted',
            alarmDescription:
              'A rotation execution was stopped (StopExecution from the console or the API; the rotator itself ' +
              'never stops one) before it could complete or cancel. The ExecutionReconciler reconciles it ' +
              'automatically: it makes the client whole and releases its lock. Check `rotator status`: if the ' +
              'client still shows rotating, or rotator-async-failures fired too, run `rotator repair <clientId>`.',
          },
        ),
      ],
    ];
  }

  /** Events that could not be delivered, and events a function failed on. */
  private queueAlarms(props: RotatorMonitoringProps): [string, cloudwatch.Alarm][] {
    return [
      [
        'DeadLetters',
        this.alarm(
          'DeadLettersAlarm',
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            statistic: 'Maximum',
          }),
          {
            ...COUNTER,
            name: 'rotator-dead-letters',
            alarmDescription:
              'An event or schedule could not be delivered (a missed rotation, leak or health report, or a ' +
              'lost notification): read the dead-letter queue.',
          },
        ),
      ],
      [
        'AsyncFailures',
        this.alarm(
          'AsyncFailuresAlarm',
          props.asyncFailureQueue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            statistic: 'Maximum',
          }),
          {
            ...COUNTER,
            name: 'rotator-async-failures',
            alarmDescription:
              'A function invoked by an event (leak intake, health aggregator, execution reconciler, secret-age ' +
              'publisher) failed on it three times; the event and the error are in the async-failure queue. Read ' +
              `them: aws sqs receive-message --queue-url ${props.asyncFailureQueue.queueUrl} ` +
              '--max-number-of-messages 10 (requestContext.functionArn: which function; responsePayload: the ' +
              'error; requestPayload: the event). A lost leak: report it again (rotator leak report); a lost ' +
              'reconcile: rotator repair <clientId>. Then delete the message (aws sqs delete-message).',
          },
        ),
      ],
    ];
  }

  /** The one secret-age alarm: `SecretsOverdue` above 0 for three hours, or no count for three. */
  private createSecretsOverdueAlarm(props: RotatorMonitoringProps): cloudwatch.Alarm {
    const marginDays = props.secretAgeMarginDays ?? DEFAULTS.secretAgeMarginDays;
    const defaultPeriodDays = props.defaultRotationPeriodDays ?? DEFAULTS.defaultRotationPeriodDays;
    // SecretsOverdue: how many registered clients' AWSCURRENT secrets are older than their own
    // threshold (rotation period + flexible window + margin), which the publisher below decides at
    // run time from the registry; no dimension, so one alarm whatever the size of the fleet. Three
    // hourly runs in a row, so a rotation that lands between two runs does not page. Missing data
    // is treated as missing, not breaching: the alarm stays INSUFFICIENT_DATA until the publisher is
    // deployed, and the topic is told when it goes INSUFFICIENT_DATA later (three silent hours: the
    // publisher stopped, so no age is known).
    const alarm = this.alarm('SecretsOverdueAlarm', secretAgeMetric(SECRET_AGE_METRICS.overdue), {
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
      name: 'secrets-overdue',
      alarmDescription:
        "A registered client's AWSCURRENT secret is older than its rotation period (of its rate() schedule, " +
        `else ${defaultPeriodDays} d) plus its flexible window plus ${marginDays} d: its rotations are not ` +
        "happening. The secret-age publisher's log names them (warn line 'Secrets overdue for rotation', " +
        "up to 20, most overdue first); `rotator history <clientId>` shows why each one's rotations failed " +
        'or were cancelled.',
    });
    alarm.addInsufficientDataAction(this.#alarmAction);
    return alarm;
  }

  /**
   * The fleet's drift at Stytch: `DriftMidRotation + DriftMissingAtStytch` above 0 for two hourly
   * sweeps in a row (a rotation that ends between the sweep's search and its lock read is seen
   * mid-rotation for one sweep only). Missing data is missing: a sweep that could not read Stytch
   * publishes no drift (its log says why), and the alarm keeps its state.
   */
  private createFleetDriftAlarm(): cloudwatch.Alarm {
    const drift = new cloudwatch.MathExpression({
      expression: 'midRotation + missing',
      usingMetrics: {
        midRotation: secretAgeMetric(DRIFT_METRICS.midRotationAtStytch),
        missing: secretAgeMetric(DRIFT_METRICS.missingAtStytch),
      },
      label: 'Managed clients drifted at Stytch',
      period: Duration.hours(1),
    });
    return this.alarm('FleetDriftAlarm', drift, {
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
      name: 'fleet-drift',
      alarmDescription:
        'A managed client drifted at Stytch for two hourly sweeps: mid-rotation at Stytch (a next secret ' +
        'pending while no rotation holds its lock: a rotation started there and abandoned) or missing at ' +
        "Stytch (its search does not return it: deleted, or registered under the wrong kind). The publisher's " +
        "log names them (warn line 'Fleet drift at Stytch', up to 20 of each), as does `rotator status " +
        '--fleet`. Mid-rotation: `rotator repair <clientId>` says what reconciling Stytch with Secrets ' +
        'Manager takes, `--apply` does it; missing: re-create the client at Stytch, or remove it from the ' +
        'clients file and `rotator apply`. Unmanaged Stytch clients never alarm.',
    });
  }

  /**
   * The secret-age publisher, the hourly fleet sweep: lists the registry (a Query on the ledger),
   * the managed secrets' versions (never a value) and Stytch's clients, reads the locks of the
   * clients Stytch shows mid-rotation, and records the sweep in the ledger.
   */
  private createSecretAgePublisher(props: RotatorMonitoringProps): RotatorFunction {
    const publisher = new RotatorFunction(this, 'SecretAgePublisher', {
      handlerFile: 'secretAgePublisher',
      description:
        'Hourly fleet sweep: SecretsOverdue (AWSCURRENT secrets past their rotation) and the drift against ' +
        'Stytch (DriftMidRotation, DriftMissingAtStytch, UnmanagedClients)',
      // The namespace the alarm watches, explicitly; the rule that makes a secret overdue, since
      // each client's threshold is decided at run time from its registered schedule.
      environment: {
        POWERTOOLS_METRICS_NAMESPACE: ROTATOR_METRICS_NAMESPACE,
        ...secretAgePublisherEnvironment({
          tableName: props.ledger.tableName,
          secretPrefix: props.secretPrefix,
          marginDays: props.secretAgeMarginDays ?? DEFAULTS.secretAgeMarginDays,
          defaultPeriodDays: props.defaultRotationPeriodDays ?? DEFAULTS.defaultRotationPeriodDays,
          stytchCredentialsSecretId: props.stytchCredentialsSecretArn,
          ...(props.stytchRequestsPerSecond === undefined
            ? {}
            : { stytchRequestsPerSecond: props.stytchRequestsPerSecond }),
        }),
      },
      // One ListSecretVersionIds per client, a few at once: ~2 min for 10,000 clients, more when
      // Secrets Manager throttles (the SDK backs off); Stytch's searches (10 pages for 10,000
      // clients) meanwhile. Lambda's longest, so a large fleet fits.
      timeout: Duration.minutes(15),
      asyncFailureQueue: props.asyncFailureQueue,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.logRemovalPolicy === undefined ? {} : { logRemovalPolicy: props.logRemovalPolicy }),
    });
    this.grantPublisherAccess(publisher, props);
    return publisher;
  }

  /**
   * What the sweep calls, on named ARNs: the managed secrets' version lists, the Stytch
   * credentials, and the ledger's registry (Query), the locks it needs (GetItem) and its own item
   * (PutItem, of `pk=FLEET#` only).
   */
  private grantPublisherAccess(publisher: RotatorFunction, props: RotatorMonitoringProps): void {
    const role = publisher.function.role ?? publisher.function;
    // Version metadata of the managed secrets only: no value, so no GetSecretValue on them.
    // The prefix, not per-secret ARNs: clients are registered at run time, and the policy must not
    // grow with them.
    publisher.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:ListSecretVersionIds'],
        resources: [managedSecretsArn(this, props.secretPrefix)],
      }),
    );
    acknowledgeManagedSecrets(role, props.secretPrefix);
    // The Stytch project credentials, to search Stytch's clients; encrypted with the rotator's key
    // when they were put there with it (an AWS-managed key needs no grant).
    publisher.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.stytchCredentialsSecretArn],
      }),
    );
    publisher.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: viaService(this, 'secretsmanager'),
      }),
    );
    // The registry is one Query (DynamoLedger.listRegistrations); a lock is one GetItem, of the
    // clients Stytch shows mid-rotation only. The CDK's grantReadData would add Scan, BatchGetItem
    // and every index.
    publisher.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [props.ledger.tableArn],
      }),
    );
    // The shared budgets' window items (DynamoRateBudgetStore: pk=BUDGET#), no other item.
    publisher.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [BUDGET_PK] } },
      }),
    );
    // Its one item (FleetSweeps in lambdas/adapters/aws/ledger: pk=FLEET#, sk=SWEEP), and no other.
    publisher.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.ledger.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [FLEET_SWEEP_PK] } },
      }),
    );
    const ledgerKey = props.ledger.encryptionKey;
    if (ledgerKey !== undefined) {
      // The table key is decrypted on every access; the write needs a data key under it too.
      publisher.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [ledgerKey.keyArn],
          conditions: viaService(this, 'dynamodb'),
        }),
      );
    }
  }

  /** Runs the publisher on `secretAgeSchedule`. */
  private createSecretAgeSchedule(props: RotatorMonitoringProps): events.Rule {
    return new events.Rule(this, 'SecretAgeSchedule', {
      description: 'Runs the secret-age publisher',
      schedule: props.secretAgeSchedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [
        new eventTargets.LambdaFunction(this.secretAgePublisher.function, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
  }

  /**
   * Fleet runs and their items: one item is one client's rotation, a child execution of the map,
   * which Step Functions counts under the state machine ARN `<fleet ARN>/<map label>`.
   * `rotator status --fleet` adds what no metric has: the rotations waiting for consumers.
   */
  private fleetWidgets(
    props: RotatorMonitoringProps,
    executions: (label: string, metric: cloudwatch.Metric) => cloudwatch.Metric,
  ): cloudwatch.IWidget[][] {
    if (props.fleetRotation === undefined) return [];
    const { stateMachine, mapLabel } = props.fleetRotation;
    const items = (metricName: string, label: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/States',
        metricName,
        dimensionsMap: { StateMachineArn: `${stateMachine.stateMachineArn}/${mapLabel}` },
        label,
        period: FIVE_MINUTES,
        statistic: 'Sum',
      });
    return [
      [
        new cloudwatch.GraphWidget({
          title: 'Fleet runs (rotator rotate --all | --selector)',
          width: 8,
          left: [
            executions('Started', stateMachine.metricStarted()),
            executions('Succeeded', stateMachine.metricSucceeded()),
            executions('Failed (over the tolerated failures)', stateMachine.metricFailed()),
            executions('Stopped', stateMachine.metricAborted()),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: 'Fleet run items (one per client: rotated, not rotated, stopped)',
          width: 16,
          left: [
            items('ExecutionsStarted', 'Started'),
            items('ExecutionsSucceeded', 'Rotated'),
            items('ExecutionsFailed', 'Not rotated (cancelled, refused, failed)'),
            items('ExecutionsAborted', 'Stopped with the run'),
          ],
        }),
      ],
    ];
  }

  /** Executions, execution time, queues, alarm states and the rotation metrics on one page. */
  private createDashboard(props: RotatorMonitoringProps, stuckThresholdMs: number): cloudwatch.Dashboard {
    const executions = (label: string, metric: cloudwatch.Metric): cloudwatch.Metric =>
      metric.with({ label, period: FIVE_MINUTES, statistic: 'Sum' });
    // The rotation metrics are searched by their exact dimension set, so every trigger, outcome
    // and reason gets its own line without this construct listing them. Hourly: rotations are days
    // apart, and the secret-age counts come once an hour.
    const search = (
      metricName: string,
      dimensions: readonly string[],
      statistic: string,
    ): cloudwatch.IMetric =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${[ROTATOR_METRICS_NAMESPACE, ...dimensions].join(',')}} MetricName="${metricName}"', '${statistic}', 3600)`,
        usingMetrics: {},
        // No label: CloudWatch names each line by its dimension values (CDK would use the expression).
        label: '',
        period: Duration.hours(1),
      });
    const service = POWERTOOLS_SERVICE_DIMENSION;
    return new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-rotator`,
      defaultInterval: Duration.days(7),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Rotation executions',
            width: 12,
            left: [
              executions('Started', props.stateMachine.metricStarted()),
              executions('Succeeded', props.stateMachine.metricSucceeded()),
              executions('Failed', props.stateMachine.metricFailed()),
              executions('Timed out', props.stateMachine.metricTimedOut()),
              executions('Aborted', props.stateMachine.metricAborted()),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Execution time (ms)',
            width: 12,
            left: [
              props.stateMachine.metricTime({ label: 'Maximum', period: FIVE_MINUTES, statistic: 'Maximum' }),
              props.stateMachine.metricTime({ label: 'p50', period: FIVE_MINUTES, statistic: 'p50' }),
            ],
            leftAnnotations: [{ label: 'Stuck', value: stuckThresholdMs }],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Undelivered and failed events (queue depth)',
            width: 12,
            left: [
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
                label: 'Dead-letter queue',
                period: FIVE_MINUTES,
                statistic: 'Maximum',
              }),
              props.asyncFailureQueue.metricApproximateNumberOfMessagesVisible({
                label: 'Async-failure queue',
                period: FIVE_MINUTES,
                statistic: 'Maximum',
              }),
            ],
          }),
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            width: 12,
            alarms: [...this.alarms.values(), this.secretsOverdueAlarm, this.fleetDriftAlarm],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Rotation outcomes (by trigger, outcome, reason)',
            width: 8,
            left: [search('RotationOutcome', [service, 'Trigger', 'Outcome', 'Reason'], 'Sum')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Rotation duration (ms, maximum, by trigger and outcome)',
            width: 8,
            left: [search('RotationDuration', [service, 'Trigger', 'Outcome'], 'Maximum')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Time to first consumer report (ms, maximum, by trigger)',
            width: 8,
            left: [search('TimeToFirstConsumerReport', [service, 'Trigger'], 'Maximum')],
          }),
        ],
        ...this.fleetWidgets(props, executions),
        [
          new cloudwatch.GraphWidget({
            title: 'Secret ages (registered clients, overdue and unmeasured secrets, hourly)',
            width: 24,
            left: [
              secretAgeMetric(SECRET_AGE_METRICS.overdue).with({ label: 'Overdue' }),
              secretAgeMetric(SECRET_AGE_METRICS.unmeasured).with({ label: 'Not measured' }),
            ],
            leftAnnotations: [{ label: 'Alarm above', value: 0 }],
            // The fleet's size is orders of magnitude above the others: its own axis.
            right: [secretAgeMetric(SECRET_AGE_METRICS.managedClients).with({ label: 'Registered clients' })],
            leftYAxis: { min: 0 },
            rightYAxis: { min: 0 },
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title:
              'Fleet drift at Stytch (managed clients mid-rotation or missing there, unmanaged clients, hourly)',
            width: 24,
            left: [
              secretAgeMetric(DRIFT_METRICS.midRotationAtStytch).with({ label: 'Mid-rotation at Stytch' }),
              secretAgeMetric(DRIFT_METRICS.missingAtStytch).with({ label: 'Missing at Stytch' }),
            ],
            leftAnnotations: [{ label: 'Alarm above (sum)', value: 0 }],
            // Not alarmed: Stytch clients the rotator does not own, on their own axis.
            right: [secretAgeMetric(DRIFT_METRICS.unmanaged).with({ label: 'Unmanaged at Stytch' })],
            leftYAxis: { min: 0 },
            rightYAxis: { min: 0 },
          }),
        ],
      ],
    });
  }
}

/**
 * Every problem with the tunable props, as `name: problem` lines (empty when they are fine).
 * {@link StytchM2MRotator} reports them with its own, before it builds anything.
 */
export function rotatorMonitoringOptionsProblems(options: RotatorMonitoringOptions): string[] {
  const problems: string[] = [];
  const emails = options.alarmEmails ?? [];
  const seen = new Set<string>();
  emails.forEach((email, index) => {
    if (Token.isUnresolved(email)) return;
    if (!EMAIL.test(email)) problems.push(`alarmEmails[${index}] "${email}" is not an email address`);
    const key = email.toLowerCase();
    if (seen.has(key)) problems.push(`alarmEmails[${index}] "${email}" is listed twice`);
    seen.add(key);
  });
  const number = (name: keyof typeof DEFAULTS, min: number, inclusive: boolean): void => {
    const value = options[name];
    if (value === undefined) return;
    if (!Number.isFinite(value) || (inclusive ? value < min : value <= min)) {
      problems.push(`${name} must be a number ${inclusive ? '>=' : '>'} ${min}, got ${value}`);
    }
  };
  number('stuckRotationMarginMinutes', 0, true);
  number('secretAgeMarginDays', 0, true);
  number('defaultRotationPeriodDays', 0, false);
  const longest = options.longestDeadlineSeconds;
  if (
    longest !== undefined &&
    !(Number.isFinite(longest) && longest >= 1 && longest <= MAX_DEADLINE_SECONDS)
  ) {
    problems.push(
      `longestDeadlineSeconds must be a number from 1 to ${MAX_DEADLINE_SECONDS} (the longest deadline a policy may set), got ${longest}`,
    );
  }
  const schedule = options.secretAgeSchedule?.expressionString;
  if (schedule !== undefined && !Token.isUnresolved(schedule)) {
    const periodSeconds = ratePeriodSeconds(schedule);
    if (periodSeconds !== undefined && periodSeconds > 3600) {
      problems.push(
        `secretAgeSchedule "${schedule}" runs less often than hourly: the secrets-overdue alarm needs a datapoint every hour`,
      );
    }
  }
  return problems;
}

/** An hourly count of the sweep ({@link SECRET_AGE_METRICS}, {@link DRIFT_METRICS}): no dimension, one value per run. */
function secretAgeMetric(metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: ROTATOR_METRICS_NAMESPACE,
    metricName,
    period: Duration.hours(1),
    statistic: 'Maximum',
  });
}
