import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { workflowFunctionEnvironment } from '../lambdas/wiring/environment.js';
import type { DeploymentConfig } from './config/DeploymentConfig.js';
import { FleetRotation } from './constructs/FleetRotation.js';
import { RotationTriggers } from './constructs/RotationTriggers.js';
import { RotationWorkflow } from './constructs/RotationWorkflow.js';
import { RotatorAccess } from './constructs/RotatorAccess.js';
import { RotatorLedger } from './constructs/RotatorLedger.js';
import { TokenRevocations } from './constructs/TokenRevocations.js';
import { GitHubWebhookReceiver } from './GitHubWebhookReceiver.js';
import type { RotatorFunction } from './RotatorFunction.js';
import {
  RotatorMonitoring,
  type RotatorMonitoringOptions,
  rotatorMonitoringOptionsProblems,
} from './RotatorMonitoring.js';

export {
  FUNCTION_ACCESS,
  type FunctionAccess,
  type RotatorFunctionName,
} from './constructs/functionAccess.js';

/** Props of {@link StytchM2MRotator}. */
export interface StytchM2MRotatorProps {
  /**
   * The validated deployment config: the Stytch credentials, the secret prefix, the leak scanners.
   * The managed clients are not props: they are registry data (`rotator apply`, docs/fleet.md).
   */
  readonly config: DeploymentConfig;
  /**
   * The customer-managed key that encrypts the managed secrets, the ledger and the event bus.
   * @default - a new key with yearly automatic rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Name of the custom event bus that carries the rotation events.
   * @default 'stytch-m2m-rotator'
   */
  readonly eventBusName?: string;
  /**
   * What happens to every stateful resource when the stack is deleted, for all of them alike
   * (`DESTROY`, for a stack that must leave nothing, also turns the ledger's deletion protection off).
   * @default - only what must survive is kept, and nothing kept has a fixed name that a retry or
   * a new stack would collide with: the ledger (deletion-protected) and its key are kept; the
   * managed secrets, the fingerprint key and the log groups are kept unless the deploy that
   * created them fails; the queues, the schedule group and the GitHub secrets are deleted
   * (docs/deploying.md, "What a deleted stack leaves")
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Log retention of every function and of the state machine's execution log.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Alarms, lifecycle notifications and a dashboard ({@link RotatorMonitoring}); `false` leaves them out.
   * @default - on, with the defaults of {@link RotatorMonitoringOptions}
   */
  readonly monitoring?: RotatorMonitoringOptions | false;
  /**
   * Base URL of the GitHub API the secret-scanning webhook fetches alerts from (GitHub Enterprise Server: `https://<host>/api/v3`).
   * @default 'https://api.github.com'
   */
  readonly githubApiUrl?: string;
}

/**
 * The rotation service of stytch-m2m-rotator: everything needed to rotate Stytch M2M client
 * secrets without downtime, in one construct usable by any CDK app. See docs/design.md.
 */
export class StytchM2MRotator extends Construct {
  /** The key that encrypts the managed secrets, the ledger and the events. */
  public readonly encryptionKey: kms.IKey;
  /** The custom event bus for `Rotation *`, `Consumer Health Reported` and `Secret Leak Detected`. */
  public readonly eventBus: events.EventBus;
  /** The ledger: the registry of managed clients, one lock item per client, one item per rotation. */
  public readonly ledger: dynamodb.Table;
  /** The HMAC key of secret fingerprints (ledger entries, leak reports); operators need read access to report a leaked value. */
  public readonly fingerprintKey: secretsmanager.Secret;
  /** The rotation workflow. */
  public readonly stateMachine: sfn.StateMachine;
  /** Fleet rotation (`rotator rotate --all | --selector`): a Distributed Map over the rotation workflow. */
  public readonly fleetRotation: FleetRotation;
  /** The schedule group `rotator apply` and `rotator register` create the clients' schedules in. */
  public readonly registeredSchedules: scheduler.ScheduleGroup;
  /** The role those schedules start executions with (`rotator register` passes it). */
  public readonly registeredSchedulesRole: iam.Role;
  /** The GitHub secret-scanning webhook (a Function URL) that turns alerts into `Secret Leak Detected`. */
  public readonly githubWebhook: GitHubWebhookReceiver;
  /** Receives `Secret Leak Detected` events: starts leak rotations and preempts rotations in progress. */
  public readonly leakIntake: lambda.IFunction;
  /** Receives `Consumer Health Reported` events and answers the waiting workflow. */
  public readonly healthAggregator: lambda.IFunction;
  /**
   * Receives the state machine's FAILED, ABORTED and TIMED_OUT status changes (default bus): makes
   * the client whole and releases a lock the dead execution left.
   */
  public readonly executionReconciler: lambda.IFunction;
  /** Events and schedules that could not be delivered to their target. */
  public readonly deadLetterQueue: sqs.Queue;
  /**
   * Events a rule delivered to a function that then failed on them, after Lambda's retries (the
   * on-failure destination of the leak intake, the health aggregator, the execution reconciler and
   * the SecretAgeDays publisher): each message holds the event and the error.
   */
  public readonly asyncFailureQueue: sqs.Queue;
  /**
   * Token revocation (docs/token-revocation.md): the document resource servers poll, their read
   * policy, and the publisher that records a leak rotation's (or an operator's) cutoff.
   */
  public readonly tokenRevocations: TokenRevocations;
  /** Every function of the rotator, by step name. */
  public readonly functions: ReadonlyMap<string, RotatorFunction>;
  /** Alarms, the alerts topic and the dashboard; undefined when `monitoring` is `false`. */
  public readonly monitoring?: RotatorMonitoring;
  /**
   * The consumer grant: PutEvents of `Consumer Health Reported` with the source of the caller's
   * `rotator-consumer` principal tag only. Attach it to a tagged role and the role is that
   * consumer; no change to this stack per consumer. Untaggable principals: {@link grantHealthReports}.
   */
  public readonly consumerPolicy: iam.ManagedPolicy;
  /**
   * The operator grant (the rotator CLI): rotate, cancel, status, history, and `Secret Leak
   * Detected` as the operator source. No secret value. {@link grantOperator} attaches it.
   */
  public readonly operatorPolicy: iam.ManagedPolicy;
  readonly #access: RotatorAccess;

  public constructor(scope: Construct, id: string, props: StytchM2MRotatorProps) {
    super(scope, id);
    validateProps(props);
    const { config } = props;
    // Every concern creates its resources in this construct (`resourceScope: this`), as they were
    // before the rotator was split by concern: the same logical ids, so an update of a deployed
    // stack neither replaces anything nor fails on a retained resource's fixed name.
    this.encryptionKey = props.encryptionKey ?? RotatorLedger.createEncryptionKey(this, props.removalPolicy);
    this.eventBus = new events.EventBus(this, 'EventBus', {
      // A fixed name, which consumers publish their health reports to. It is never kept (a retry or
      // a new stack does not collide with it); a second rotator in one region passes another.
      eventBusName: props.eventBusName ?? 'stytch-m2m-rotator',
      kmsKey: this.encryptionKey,
      description: 'Rotation lifecycle, consumer health reports and leak alerts',
    });
    const keys = new RotatorLedger(this, 'LedgerAndKeys', {
      encryptionKey: this.encryptionKey,
      resourceScope: this,
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });
    this.ledger = keys.table;
    this.fingerprintKey = keys.fingerprintKey;

    const functionProps = {
      ledger: this.ledger,
      eventBus: this.eventBus,
      encryptionKey: this.encryptionKey,
      fingerprintKey: this.fingerprintKey,
      stytchCredentialsSecretArn: config.stytch.projectCredentialsSecretArn,
      secretPrefix: config.secretPrefix,
      environment: workflowFunctionEnvironment({
        tableName: this.ledger.tableName,
        eventBusName: this.eventBus.eventBusName,
        secretPrefix: config.secretPrefix,
        stytchCredentialsSecretId: config.stytch.projectCredentialsSecretArn,
        fingerprintKeySecretId: this.fingerprintKey.secretArn,
        stytchRequestsPerSecond: config.stytch.requestsPerSecond,
        secretsManagerWritesPerSecond: config.secretsManagerWritesPerSecond,
      }),
      resourceScope: this,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.removalPolicy === undefined ? {} : { logRemovalPolicy: props.removalPolicy }),
    };
    const workflow = new RotationWorkflow(this, 'RotationWorkflow', functionProps);
    this.stateMachine = workflow.stateMachine;
    const leakScannerSources = config.leakScanners.map((scanner) => scanner.source);
    const triggers = new RotationTriggers(this, 'Triggers', {
      ...functionProps,
      stateMachine: this.stateMachine,
      leakScannerSources,
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });
    this.asyncFailureQueue = triggers.asyncFailureQueue;
    this.deadLetterQueue = triggers.deadLetterQueue;
    this.healthAggregator = triggers.healthAggregator.function;
    this.leakIntake = triggers.leakIntake.function;
    this.executionReconciler = triggers.executionReconciler.function;
    this.registeredSchedules = triggers.registeredSchedules;
    this.registeredSchedulesRole = triggers.registeredSchedulesRole;
    this.tokenRevocations = new TokenRevocations(this, 'TokenRevocations', {
      eventBus: this.eventBus,
      asyncFailureQueue: this.asyncFailureQueue,
      deadLetterQueue: this.deadLetterQueue,
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.removalPolicy === undefined ? {} : { logRemovalPolicy: props.removalPolicy }),
    });
    this.functions = new Map<string, RotatorFunction>([
      ...workflow.functions,
      ['HealthAggregator', triggers.healthAggregator],
      ['LeakIntake', triggers.leakIntake],
      ['ExecutionReconciler', triggers.executionReconciler],
      ['TokenRevocationPublisher', this.tokenRevocations.publisher],
    ]);

    this.githubWebhook = new GitHubWebhookReceiver(this, 'GitHubWebhook', {
      ledger: this.ledger,
      eventBus: this.eventBus,
      encryptionKey: this.encryptionKey,
      fingerprintKey: this.fingerprintKey,
      ...(props.githubApiUrl === undefined ? {} : { githubApiUrl: props.githubApiUrl }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });
    this.fleetRotation = new FleetRotation(this, 'FleetRotation', {
      rotationStateMachine: this.stateMachine,
      eventBus: this.eventBus,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });
    this.#access = new RotatorAccess(this, 'Access', {
      eventBus: this.eventBus,
      stateMachine: this.stateMachine,
      fleet: { stateMachine: this.fleetRotation.stateMachine, bucket: this.fleetRotation.bucket },
      ledger: this.ledger,
      encryptionKey: this.encryptionKey,
      fingerprintKey: this.fingerprintKey,
      registeredSchedules: this.registeredSchedules,
      secretPrefix: config.secretPrefix,
      leakScannerSources,
      crossAccountConsumerAccounts: config.crossAccountConsumerAccounts,
      resourceScope: this,
    });
    this.consumerPolicy = this.#access.consumerPolicy;
    this.operatorPolicy = this.#access.operatorPolicy;
    if (props.monitoring !== false) this.monitoring = this.createMonitoring(props);
  }

  /**
   * Lets `grantee` publish health reports as consumer `consumerName` only (`Consumer Health
   * Reported` with `events:source` = `stytch-m2m-rotator.consumer.<consumerName>`): for a principal
   * that cannot carry the `rotator-consumer` tag. A tagged role needs {@link consumerPolicy} instead.
   * @throws Error when `consumerName` is not a consumer name
   */
  public grantHealthReports(grantee: iam.IGrantable, consumerName: string): iam.Grant {
    return this.#access.grantHealthReports(grantee, consumerName);
  }

  /** Attaches the {@link operatorPolicy} to `grantee` (a role, a user or a group of this account). */
  public grantOperator(grantee: iam.IGrantable): void {
    this.#access.grantOperator(grantee);
  }

  private createMonitoring(props: StytchM2MRotatorProps): RotatorMonitoring {
    return new RotatorMonitoring(this, 'Monitoring', {
      ...(props.monitoring === false ? {} : props.monitoring),
      stateMachine: this.stateMachine,
      fleetRotation: { stateMachine: this.fleetRotation.stateMachine, mapLabel: this.fleetRotation.mapLabel },
      deadLetterQueue: this.deadLetterQueue,
      asyncFailureQueue: this.asyncFailureQueue,
      eventBus: this.eventBus,
      encryptionKey: this.encryptionKey,
      ledger: this.ledger,
      secretPrefix: props.config.secretPrefix,
      stytchCredentialsSecretArn: props.config.stytch.projectCredentialsSecretArn,
      stytchRequestsPerSecond: props.config.stytch.requestsPerSecond,
      githubWebhookFailures: this.githubWebhook.failedDeliveries,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.removalPolicy === undefined ? {} : { logRemovalPolicy: props.removalPolicy }),
    });
  }
}

const EVENT_BUS_NAME_PATTERN = /^[A-Za-z0-9._-]{1,256}$/;
/** Checks every prop and throws once, listing every problem. */
function validateProps(props: StytchM2MRotatorProps): void {
  const problems: string[] = [];
  if (props.eventBusName !== undefined && !EVENT_BUS_NAME_PATTERN.test(props.eventBusName)) {
    problems.push(`eventBusName "${props.eventBusName}" must be 1-256 characters of A-Z a-z 0-9 . _ -`);
  }
  if (props.eventBusName === 'default') {
    problems.push('eventBusName must not be "default": the rotator needs its own bus');
  }
  if (props.monitoring !== undefined && props.monitoring !== false) {
    problems.push(
      ...rotatorMonitoringOptionsProblems(props.monitoring).map((problem) => `monitoring.${problem}`),
    );
  }
  if (problems.length > 0) {
    throw new Error(`Invalid StytchM2MRotator props:\n- ${problems.join('\n- ')}`);
  }
}
