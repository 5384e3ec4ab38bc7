import { ArnFormat, Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EVENT_SOURCES, ROTATOR_EVENT_SOURCE } from '../lambdas/core/events.js';
import { TRIGGERS } from '../lambdas/core/model.js';
import { resolvePolicy } from '../lambdas/core/policy.js';
import { ratePeriodSeconds } from '../lambdas/core/scheduleExpression.js';
import { secretAgePublisherEnvironment } from '../lambdas/wiring/environment.js';
import type { ManagedClient } from './config/DeploymentConfig.js';
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
   * How many days past its rotation period (and flexible window) a secret may be before it alarms:
   * room for one cancelled scheduled rotation to be retried by hand.
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
   * When the publisher measures every managed secret's age (`SecretAgeDays`). The age alarms
   * evaluate one-hour periods, so a `rate(...)` less often than hourly is refused.
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly secretAgeSchedule?: events.Schedule;
}

/** Props of {@link RotatorMonitoring}. */
export interface RotatorMonitoringProps extends RotatorMonitoringOptions {
  /** The rotation workflow to watch. */
  readonly stateMachine: sfn.IStateMachine;
  /** The rotator's dead-letter queue (undeliverable events and schedules). */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The rotator's on-failure destination of asynchronous invocations (events a function failed on
   * after Lambda's retries): the SecretAgeDays publisher sends its failures there too, and an alarm
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
  /** The managed clients: their schedules and policies set the thresholds. */
  readonly clients: readonly ManagedClient[];
  /**
   * The managed secret of every client in `clients`, by client id. The SecretAgeDays publisher may
   * list their versions (`secretsmanager:ListSecretVersionIds` on these ARNs only); it never reads
   * a value, so it needs no access to their key.
   */
  readonly managedSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  /** The managed secrets' name prefix: the publisher reads `<secretPrefix>/<clientId>`. */
  readonly secretPrefix: string;
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
 * search names the exact dimension set it matches. SecretAgeDays has no such dimension.
 */
const POWERTOOLS_SERVICE_DIMENSION = 'service';
/** The lifecycle events that end a rotation, forwarded to the topic. */
export const LIFECYCLE_DETAIL_TYPES = [
  'Rotation Completed',
  'Rotation Cancelled',
  'Rotation Failed',
] as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DEFAULTS = { stuckRotationMarginMinutes: 60, secretAgeMarginDays: 1, defaultRotationPeriodDays: 31 };
const FIVE_MINUTES = Duration.minutes(5);
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
  /** One `SecretAgeDays` alarm per managed client, by client id. */
  public readonly secretAgeAlarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** Executions, execution time, dead letters, alarm states and the rotation metrics on one page. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Publishes `SecretAgeDays` of every managed secret, on `secretAgeSchedule`. */
  public readonly secretAgePublisher: RotatorFunction;
  /** Runs the publisher. */
  public readonly secretAgeSchedule: events.Rule;

  readonly #alarmAction: cloudwatchActions.SnsAction;

  public constructor(scope: Construct, id: string, props: RotatorMonitoringProps) {
    super(scope, id);
    const problems = [...rotatorMonitoringOptionsProblems(props), ...managedSecretsProblems(props)];
    if (problems.length > 0) throw new Error(`Invalid RotatorMonitoring props:\n- ${problems.join('\n- ')}`);
    const stuckMarginMinutes = props.stuckRotationMarginMinutes ?? DEFAULTS.stuckRotationMarginMinutes;
    // "Stuck past its deadline": AWS/States has no per-machine count of open executions, and
    // ExecutionTime is published when an execution closes. An execution ends at most a bounded
    // time after its deadline (the wait times out at it; each later step retries for ~30 min at
    // most), so one that closes later than the longest deadline any policy allows plus that margin
    // was stuck (hung retries, a step that kept timing out). One that never closes is stopped by the
    // state machine's own timeout and trips ExecutionsTimedOut, so the two alarms together cover
    // both. Thresholds use the longest deadline of all clients and triggers: one alarm, no false alarm.
    const stuckThresholdMs = (maxPolicyDeadlineSeconds(props.clients) + stuckMarginMinutes * 60) * 1000;
    this.topic = this.createTopic(props);
    this.lifecycleRule = this.createLifecycleRule(props);
    this.#alarmAction = new cloudwatchActions.SnsAction(this.topic);
    this.alarms = this.createWorkflowAlarms(props, stuckMarginMinutes, stuckThresholdMs);
    this.secretAgeAlarms = this.createSecretAgeAlarms(props);
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
              `A rotation ran longer than the longest policy deadline plus ${stuckMarginMinutes} min ` +
              `(${stuckThresholdMs} ms): it was stuck after its deadline.`,
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
              'A function invoked by an event (leak intake, health aggregator, execution reconciler, SecretAgeDays ' +
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

  /** One `SecretAgeDays` alarm per managed client, by client id. */
  private createSecretAgeAlarms(props: RotatorMonitoringProps): Map<string, cloudwatch.Alarm> {
    const ageMarginDays = props.secretAgeMarginDays ?? DEFAULTS.secretAgeMarginDays;
    const defaultPeriodDays = props.defaultRotationPeriodDays ?? DEFAULTS.defaultRotationPeriodDays;
    // SecretAgeDays: days since the client's AWSCURRENT version was created, dimension ClientId only
    // (an alarm matches the exact dimension set, so no Powertools `service` dimension). The
    // publisher below writes it hourly from each managed secret's versions (ListSecretVersionIds:
    // CreatedDate of the AWSCURRENT one). Missing data is
    // treated as missing, not breaching: the alarm stays INSUFFICIENT_DATA until the publisher is
    // deployed instead of paging for every client, and the topic is told when it goes
    // INSUFFICIENT_DATA later (three silent hours: the publisher stopped, so the age is unknown).
    const secretAgeAlarms = new Map<string, cloudwatch.Alarm>();
    props.clients.forEach((client, index) => {
      const periodDays = rotationPeriodDays(client.schedule?.expression) ?? defaultPeriodDays;
      const windowDays = (client.schedule?.flexibleWindowMinutes ?? 0) / 1440;
      const threshold = round(periodDays + windowDays + ageMarginDays);
      const created = this.alarm(
        `SecretAgeAlarm${index}`,
        new cloudwatch.Metric({
          namespace: ROTATOR_METRICS_NAMESPACE,
          metricName: 'SecretAgeDays',
          dimensionsMap: { ClientId: client.clientId },
          period: Duration.hours(1),
          statistic: 'Maximum',
        }),
        {
          threshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: cloudwatch.TreatMissingData.MISSING,
          name: `secret-age-${client.clientId}`,
          alarmDescription:
            `The AWSCURRENT secret of ${client.clientId} is older than ${threshold} days (rotation period ` +
            `${round(periodDays)} d + window + ${ageMarginDays} d margin): its rotations are not happening.`,
        },
      );
      created.addInsufficientDataAction(this.#alarmAction);
      secretAgeAlarms.set(client.clientId, created);
    });
    return secretAgeAlarms;
  }

  /** The SecretAgeDays publisher: lists the managed secrets' versions, never a value. */
  private createSecretAgePublisher(props: RotatorMonitoringProps): RotatorFunction {
    // The publisher gets the clients in the rotation functions' format (the same JSON
    // StytchM2MRotator writes), and the namespace the alarms watch, explicitly.
    const publisher = new RotatorFunction(this, 'SecretAgePublisher', {
      handlerFile: 'secretAgePublisher',
      description: 'Publishes SecretAgeDays: the age of every managed AWSCURRENT secret',
      environment: {
        POWERTOOLS_METRICS_NAMESPACE: ROTATOR_METRICS_NAMESPACE,
        ...secretAgePublisherEnvironment({
          secretPrefix: props.secretPrefix,
          clients: Object.fromEntries(props.clients.map((c) => [c.clientId, c])),
        }),
      },
      timeout: Duration.minutes(1),
      asyncFailureQueue: props.asyncFailureQueue,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.logRemovalPolicy === undefined ? {} : { logRemovalPolicy: props.logRemovalPolicy }),
    });
    // Version metadata of the named secrets only: no value, so no GetSecretValue and no kms:Decrypt.
    publisher.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:ListSecretVersionIds'],
        resources: props.clients.flatMap((c) => {
          const secret = props.managedSecrets.get(c.clientId);
          return secret === undefined ? [] : [secret.secretArn];
        }),
      }),
    );
    return publisher;
  }

  /** Runs the publisher on `secretAgeSchedule`. */
  private createSecretAgeSchedule(props: RotatorMonitoringProps): events.Rule {
    return new events.Rule(this, 'SecretAgeSchedule', {
      description: 'Runs the SecretAgeDays publisher',
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

  /** Executions, execution time, queues, alarm states and the rotation metrics on one page. */
  private createDashboard(props: RotatorMonitoringProps, stuckThresholdMs: number): cloudwatch.Dashboard {
    const executions = (label: string, metric: cloudwatch.Metric): cloudwatch.Metric =>
      metric.with({ label, period: FIVE_MINUTES, statistic: 'Sum' });
    // The custom metrics are searched by their exact dimension set, so every trigger, outcome,
    // reason and client gets its own line without this construct listing them. Hourly: rotations
    // are days apart, and SecretAgeDays comes once an hour.
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
            alarms: [...this.alarms.values(), ...this.secretAgeAlarms.values()],
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
        [
          new cloudwatch.GraphWidget({
            title: 'Secret age (days, by client)',
            width: 24,
            left: [search('SecretAgeDays', ['ClientId'], 'Maximum')],
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
  const schedule = options.secretAgeSchedule?.expressionString;
  if (schedule !== undefined && !Token.isUnresolved(schedule)) {
    const periodDays = rotationPeriodDays(schedule);
    if (periodDays !== undefined && periodDays > 1 / 24) {
      problems.push(
        `secretAgeSchedule "${schedule}" runs less often than hourly: the SecretAgeDays alarms need a datapoint every hour`,
      );
    }
  }
  return problems;
}

/** Every client needs its managed secret: the publisher measures it and may list only those. */
function managedSecretsProblems(props: RotatorMonitoringProps): string[] {
  return props.clients
    .filter((client) => !props.managedSecrets.has(client.clientId))
    .map((client) => `managedSecrets has no secret for client "${client.clientId}"`);
}

/** The period of `rate(N unit)` in days; undefined for a cron expression or no schedule. */
function rotationPeriodDays(expression: string | undefined): number | undefined {
  const seconds = expression === undefined ? undefined : ratePeriodSeconds(expression);
  return seconds === undefined ? undefined : seconds / 86_400;
}

/** The longest deadline any rotation of these clients can have, over every trigger. */
function maxPolicyDeadlineSeconds(clients: readonly ManagedClient[]): number {
  let longest = 0;
  for (const client of clients) {
    for (const trigger of TRIGGERS) {
      longest = Math.max(longest, resolvePolicy(trigger, client.policy).deadlineSeconds);
    }
  }
  return longest;
}

function round(days: number): number {
  return Math.round(days * 1000) / 1000;
}
