import { ArnFormat, Duration, RemovalPolicy, Stack, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CONSUMER_PRINCIPAL_TAG, consumerSource, EVENT_SOURCES } from '../lambdas/core/events.js';
import { ConsumerNameSchema } from '../lambdas/core/model.js';
import type { DeploymentConfig } from './config/DeploymentConfig.js';
import { GitHubWebhookReceiver } from './GitHubWebhookReceiver.js';
import { RotationStateMachine } from './RotationStateMachine.js';
import { RotatorFunction } from './RotatorFunction.js';
import {
  RotatorMonitoring,
  type RotatorMonitoringOptions,
  rotatorMonitoringOptionsProblems,
} from './RotatorMonitoring.js';

/** Props of {@link StytchM2MRotator}. */
export interface StytchM2MRotatorProps {
  /** The validated deployment config: managed clients, their schedules and policies, the Stytch credentials. */
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
   * What happens to the key, the ledger and the managed secrets when the stack is deleted.
   * Secrets encrypted with the key become unreadable once it is gone, so all are kept by default.
   * @default RemovalPolicy.RETAIN
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
 * What one function of the rotator may do, as the IAM actions its code calls: the ledger's item
 * calls (lambdas/adapters/aws/DynamoLedger.ts: GetItem, PutItem, UpdateItem, DeleteItem, and Query
 * on the table for the registered clients; never Scan, never the index), the managed secrets'
 * calls (SecretsManagerStore: DescribeSecret for the labels, GetSecretValue, PutSecretValue,
 * UpdateSecretVersionStage; never UpdateSecret), and which other secrets it reads.
 */
export interface FunctionAccess {
  /** Item calls on the ledger table. */
  readonly ledger: readonly string[];
  /** Publishes events (as {@link EVENT_SOURCES.rotator}, and only as that). */
  readonly publishes: boolean;
  /** Calls on the managed secrets (`<prefix>/*`). */
  readonly managedSecrets: readonly string[];
  /** Reads the Stytch project credentials: it talks to Stytch. */
  readonly stytchCredentials: boolean;
  /** Reads the fingerprint key: it fingerprints secrets (index writes, leak matching). */
  readonly fingerprintKey: boolean;
}

const GET = 'dynamodb:GetItem';
const PUT = 'dynamodb:PutItem';
const UPDATE = 'dynamodb:UpdateItem';
const DELETE = 'dynamodb:DeleteItem';
const QUERY = 'dynamodb:Query';
const DESCRIBE_SECRET = 'secretsmanager:DescribeSecret';
const READ_SECRET = 'secretsmanager:GetSecretValue';
const PUT_SECRET = 'secretsmanager:PutSecretValue';
const MOVE_LABEL = 'secretsmanager:UpdateSecretVersionStage';

/**
 * Each function's access, read off what its steps call (lambdas/core/steps/*, leakIntake.ts,
 * staleRotation.ts, reconcile.ts, decision.ts, fingerprintedSecrets.ts) through the adapters.
 * A registered client's settings are a ledger GetItem (`clients.find`); the leak intake also lists
 * them (`clients.ids`: a Query on the table).
 */
export const FUNCTION_ACCESS = {
  /** Lock (conditional put, takeover), rotation record, fingerprint index; the stale holder's cleanup (reconcile) too. */
  StartRotation: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, PUT_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
  /** Records the pending step and announces it: no secret. */
  PublishPending: {
    ledger: [GET, UPDATE],
    publishes: true,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Stores the task token and answers it if the wait is already decided (decision.ts): no secret. */
  AwaitConsumers: {
    ledger: [GET, UPDATE],
    publishes: false,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Promotes AWSPENDING (labels, fingerprint index), completes at Stytch, proves the old secret dead. */
  CompleteRotation: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
  /** Drops AWSPENDING (or promotes it, reconcile.ts), cancels at Stytch. */
  CancelRotation: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
  /** Records the failure and announces it: no secret. */
  RecordFailure: {
    ledger: [GET, UPDATE],
    publishes: true,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Records a report and decides the wait (decision.ts): no secret, no event. */
  HealthAggregator: {
    ledger: [GET, UPDATE],
    publishes: false,
    managedSecrets: [],
    stytchCredentials: false,
    fingerprintKey: false,
  },
  /** Matches a leak (fingerprint index, else every client's live secrets), records it, escalates or starts a rotation. */
  LeakIntake: {
    ledger: [GET, PUT, UPDATE, QUERY],
    publishes: false,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET],
    stytchCredentials: false,
    fingerprintKey: true,
  },
  /** What CompleteRotation or CancelRotation would have done for an execution that died (staleRotation.ts, reconcile.ts). */
  ExecutionReconciler: {
    ledger: [GET, PUT, UPDATE, DELETE],
    publishes: true,
    managedSecrets: [DESCRIBE_SECRET, READ_SECRET, MOVE_LABEL],
    stytchCredentials: true,
    fingerprintKey: true,
  },
} as const satisfies Record<string, FunctionAccess>;

/** A function of {@link FUNCTION_ACCESS}. */
export type RotatorFunctionName = keyof typeof FUNCTION_ACCESS;

function accessOf(name: string): FunctionAccess {
  const access = (FUNCTION_ACCESS as Record<string, FunctionAccess>)[name];
  if (access === undefined) throw new Error(`no access declared for function ${name}`);
  return access;
}

/** The detail-type of a consumer's report on a pending secret. */
const HEALTH_REPORT_DETAIL_TYPE = 'Consumer Health Reported';
/** The detail-type of a leak report. */
const LEAK_DETAIL_TYPE = 'Secret Leak Detected';

const EVENT_BUS_NAME_PATTERN = /^[A-Za-z0-9._-]{1,256}$/;
/** Lambda's environment is 4 KB in all; leave room for the other variables. */
const MAX_CLIENTS_ENV_BYTES = 3000;

/**
 * The rotation service of stytch-m2m-rotator: everything needed to rotate Stytch M2M client
 * secrets without downtime, in one construct usable by any CDK app. See DESIGN.md.
 */
export class StytchM2MRotator extends Construct {
  /** The key that encrypts the managed secrets, the ledger and the events. */
  public readonly encryptionKey: kms.IKey;
  /** The custom event bus for `Rotation *`, `Consumer Health Reported` and `Secret Leak Detected`. */
  public readonly eventBus: events.EventBus;
  /** The ledger: one lock item per client, one item per rotation. */
  public readonly ledger: dynamodb.Table;
  /** The HMAC key of secret fingerprints (ledger entries, leak reports); operators need read access to report a leaked value. */
  public readonly fingerprintKey: secretsmanager.Secret;
  /** One secret per managed client, by client id. */
  public readonly managedSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** The rotation workflow. */
  public readonly stateMachine: sfn.StateMachine;
  /** The schedule group `rotator register` creates run-time clients' schedules in. */
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

  public constructor(scope: Construct, id: string, props: StytchM2MRotatorProps) {
    super(scope, id);
    const clientsJson = validateProps(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const { config } = props;

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'EncryptionKey', {
        description: 'stytch-m2m-rotator: managed client secrets, ledger and events',
        enableKeyRotation: true,
        rotationPeriod: Duration.days(365),
        removalPolicy,
      });

    this.eventBus = new events.EventBus(this, 'EventBus', {
      eventBusName: props.eventBusName ?? 'stytch-m2m-rotator',
      kmsKey: this.encryptionKey,
      description: 'Rotation lifecycle, consumer health reports and leak alerts',
    });

    this.ledger = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Webhook delivery records (idempotency per X-GitHub-Delivery) expire; rotations never do.
      timeToLiveAttribute: 'ttl',
      removalPolicy,
    });
    this.ledger.addLocalSecondaryIndex({
      indexName: 'byStartedAt',
      sortKey: { name: 'startedAt', type: dynamodb.AttributeType.STRING },
    });

    const secrets = new Map<string, secretsmanager.Secret>();
    config.clients.forEach((client, index) => {
      const secret = new secretsmanager.Secret(this, `ManagedSecret${index}`, {
        secretName: `${config.secretPrefix}/${client.clientId}`,
        description: `Stytch ${client.kind} client ${client.clientId}: AWSCURRENT is what consumers use`,
        encryptionKey: this.encryptionKey,
        // A placeholder until the client is enrolled: never the real secret, which must not be in
        // the template. StartRotation refuses a client whose AWSCURRENT is not a managed value.
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ enrolled: false }),
          generateStringKey: 'placeholder',
        },
        removalPolicy,
      });
      secrets.set(client.clientId, secret);
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          "This secret is rotated by the rotator's own Step Functions workflow (schedules per client, leak " +
          'alerts, the CLI), not by a Secrets Manager rotation Lambda: Stytch issues the next secret, so ' +
          'Secrets Manager cannot generate it.',
      });
    });
    this.managedSecrets = secrets;

    this.fingerprintKey = new secretsmanager.Secret(this, 'FingerprintKey', {
      description:
        'stytch-m2m-rotator: HMAC key of the fingerprints the ledger keeps of managed secrets and leak reports carry',
      encryptionKey: this.encryptionKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    Validations.of(this.fingerprintKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the fingerprint key would orphan every fingerprint in the ledger (leak reports could no longer ' +
        'name a client); it never authenticates anything, and only the rotator and its operators can read it.',
    });

    // Every managed secret is named `<prefix>/<client id>`: the config's, and those `rotator
    // register` creates at run time. One ARN pattern covers both.
    const managedSecretsArn = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${config.secretPrefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const acknowledgeManagedSecrets = (scope: Construct): void => {
      Validations.of(scope).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${config.secretPrefix}/*]`,
        reason:
          'Clients registered at run time (rotator register) get secrets under the managed prefix; the wildcard ' +
          'is that prefix only, which holds nothing but managed client secrets.',
      });
    };

    // Lambda retries a failed asynchronous invocation twice, then drops the event unless the
    // function has an on-failure destination: every function a rule invokes sends it here.
    this.asyncFailureQueue = new sqs.Queue(this, 'AsyncFailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.asyncFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the on-failure destination of the functions EventBridge invokes (their failed ' +
        'events end here); cdk-nag recognises only SQS redrive as DLQ use. Nothing consumes it automatically, ' +
        'so it needs no DLQ.',
    });

    const environment = {
      ROTATOR_TABLE_NAME: this.ledger.tableName,
      ROTATOR_EVENT_BUS_NAME: this.eventBus.eventBusName,
      ROTATOR_SECRET_PREFIX: config.secretPrefix,
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: config.stytch.projectCredentialsSecretArn,
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: this.fingerprintKey.secretArn,
      ROTATOR_CLIENTS: clientsJson,
    };
    const fn = (
      id: string,
      handlerFile: string,
      description: string,
      options: { readonly invokedByRule?: boolean; readonly environment?: Record<string, string> } = {},
    ): RotatorFunction =>
      new RotatorFunction(this, id, {
        handlerFile,
        description,
        environment: { ...environment, ...options.environment },
        ...(options.invokedByRule === true ? { asyncFailureQueue: this.asyncFailureQueue } : {}),
        ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
        ...(props.removalPolicy === undefined ? {} : { logRemovalPolicy: props.removalPolicy }),
      });
    const functions = new Map<string, RotatorFunction>([
      [
        'StartRotation',
        fn('StartRotationFunction', 'startRotation', 'Starts a rotation at Stytch and stores AWSPENDING'),
      ],
      [
        'PublishPending',
        fn('PublishPendingFunction', 'publishPending', 'Announces the pending secret to consumers'),
      ],
      [
        'AwaitConsumers',
        fn('AwaitConsumersFunction', 'awaitConsumers', 'Keeps the task token while consumers report'),
      ],
      [
        'CompleteRotation',
        fn('CompleteRotationFunction', 'completeRotation', 'Promotes AWSPENDING and completes at Stytch'),
      ],
      [
        'CancelRotation',
        fn('CancelRotationFunction', 'cancelRotation', 'Drops AWSPENDING and cancels at Stytch'),
      ],
      [
        'RecordFailure',
        fn('RecordFailureFunction', 'recordFailure', 'Records a rotation that could not end cleanly'),
      ],
      [
        'HealthAggregator',
        fn('HealthAggregatorFunction', 'healthAggregator', 'Records consumer health reports', {
          invokedByRule: true,
        }),
      ],
    ]);
    this.functions = functions;
    const lambdaOf = (name: string): lambda.IFunction => {
      const found = functions.get(name);
      if (!found) throw new Error(`no function ${name}`);
      return found.function;
    };

    // Least privilege, per function: each gets the actions its steps call (FUNCTION_ACCESS), on
    // named ARNs, as explicit statements (the CDK's grants would add Scan, UpdateSecret, indexes).
    const stack = Stack.of(this);
    const viaService = (service: string): Record<string, unknown> => ({
      StringEquals: { 'kms:ViaService': `${service}.${stack.region}.${stack.urlSuffix}` },
    });
    const grantAccess = (grantee: lambda.IFunction, access: FunctionAccess): void => {
      const add = (statement: iam.PolicyStatement): void => {
        grantee.addToRolePolicy(statement);
      };
      if (access.ledger.length > 0) {
        add(new iam.PolicyStatement({ actions: [...access.ledger], resources: [this.ledger.tableArn] }));
        // The table key is decrypted on every access; writes also need a data key under it.
        const writes = access.ledger.some(
          (action) => action !== 'dynamodb:GetItem' && action !== 'dynamodb:Query',
        );
        add(
          new iam.PolicyStatement({
            actions: writes ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
            resources: [this.encryptionKey.keyArn],
            conditions: viaService('dynamodb'),
          }),
        );
      }
      if (access.publishes) {
        // Only as the rotator: a function cannot speak for a consumer, an operator or the webhook.
        add(
          new iam.PolicyStatement({
            actions: ['events:PutEvents'],
            resources: [this.eventBus.eventBusArn],
            conditions: { StringEquals: { 'events:source': EVENT_SOURCES.rotator } },
          }),
        );
      }
      const secretReads: string[] = [];
      if (access.stytchCredentials) secretReads.push(config.stytch.projectCredentialsSecretArn);
      if (access.fingerprintKey) secretReads.push(this.fingerprintKey.secretArn);
      if (secretReads.length > 0) {
        add(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secretReads }));
      }
      if (access.managedSecrets.length > 0) {
        // The prefix covers the config's secrets and those `rotator register` creates at run time.
        add(new iam.PolicyStatement({ actions: [...access.managedSecrets], resources: [managedSecretsArn] }));
        acknowledgeManagedSecrets(grantee.role ?? grantee);
      }
      const readsValues =
        access.fingerprintKey || access.managedSecrets.includes('secretsmanager:GetSecretValue');
      const writesValues = access.managedSecrets.includes('secretsmanager:PutSecretValue');
      if (readsValues || writesValues) {
        // The managed secrets and the fingerprint key are encrypted with the rotator's key.
        add(
          new iam.PolicyStatement({
            actions: writesValues ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
            resources: [this.encryptionKey.keyArn],
            conditions: viaService('secretsmanager'),
          }),
        );
      }
    };
    // Granted before the state machine exists: it depends on these functions.
    for (const [name, rotatorFunction] of functions) {
      grantAccess(rotatorFunction.function, accessOf(name));
    }

    this.stateMachine = new RotationStateMachine(this, 'Workflow', {
      functions: {
        startRotation: lambdaOf('StartRotation'),
        publishPending: lambdaOf('PublishPending'),
        awaitConsumers: lambdaOf('AwaitConsumers'),
        completeRotation: lambdaOf('CompleteRotation'),
        cancelRotation: lambdaOf('CancelRotation'),
        recordFailure: lambdaOf('RecordFailure'),
      },
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    }).stateMachine;

    // Task responses are granted in their own policy: in the role's default policy they would
    // make each function depend on the state machine, which depends on the functions. Success and
    // failure only: nothing sends a heartbeat (SfnTaskCallbacks).
    const taskResponseStatement = (): iam.PolicyStatement =>
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [this.stateMachine.stateMachineArn],
      });
    for (const name of ['AwaitConsumers', 'HealthAggregator']) {
      const role = lambdaOf(name).role;
      if (!role) throw new Error(`function ${name} has no role`);
      new iam.Policy(this, `${name}TaskResponsePolicy`, {
        roles: [role],
        statements: [taskResponseStatement()],
      });
    }
    this.healthAggregator = lambdaOf('HealthAggregator');

    // Whether a lock's holder is still running: DescribeExecution on this state machine's
    // executions (their ARNs are `…:execution:<state machine name>:<execution name>`).
    const executionsArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const describeExecutionsStatement = (): iam.PolicyStatement =>
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionsArn] });
    const stateMachineLogicalId = stack.getLogicalId(
      this.stateMachine.node.defaultChild as sfn.CfnStateMachine,
    );
    const executionsFinding = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${stateMachineLogicalId}.Name>:*]`;
    const acknowledgeExecutions = (scope: Construct): void => {
      Validations.of(scope).acknowledge({
        id: executionsFinding,
        reason:
          'DescribeExecution of the execution holding a lock (or, for the reconciler, the one that ended), whose ' +
          "name is only known at run time; the wildcard is the execution name within this one state machine's " +
          'executions.',
      });
    };
    // StartRotation in its own policy, like the task responses: the state machine depends on it.
    const startRotationRole = lambdaOf('StartRotation').role;
    if (!startRotationRole) throw new Error('function StartRotation has no role');
    acknowledgeExecutions(
      new iam.Policy(this, 'StartRotationDescribeExecutionPolicy', {
        roles: [startRotationRole],
        statements: [describeExecutionsStatement()],
      }),
    );

    // The leak intake (which starts the workflow) and the reconciler come after the state machine,
    // so they alone can be given its ARN: the steps cannot, the state machine depends on them.
    const stateMachineEnvironment = { ROTATOR_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn };
    const leakIntake = fn(
      'LeakIntakeFunction',
      'leakIntake',
      'Turns Secret Leak Detected into a leak rotation, or preempts the rotation in progress',
      { invokedByRule: true, environment: stateMachineEnvironment },
    );
    functions.set('LeakIntake', leakIntake);
    this.leakIntake = leakIntake.function;
    grantAccess(this.leakIntake, accessOf('LeakIntake'));
    this.leakIntake.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [this.stateMachine.stateMachineArn],
      }),
    );
    // Built after the state machine, so its default policy may name it (no cycle).
    this.leakIntake.addToRolePolicy(describeExecutionsStatement());
    acknowledgeExecutions(this.leakIntake.role ?? this.leakIntake);
    new iam.Policy(this, 'LeakIntakeTaskResponsePolicy', {
      roles: this.leakIntake.role === undefined ? [] : [this.leakIntake.role],
      statements: [taskResponseStatement()],
    });

    // An execution that failed, was stopped or timed out never ran its own cleanup: the reconciler
    // does what CompleteRotation or CancelRotation would have (reconcile.ts: promote or drop the
    // pending secret, complete or cancel at Stytch), so it needs what both of them have.
    const reconciler = fn(
      'ExecutionReconcilerFunction',
      'executionReconciler',
      'Reconciles a rotation whose execution failed, was stopped or timed out, and releases its lock',
      { invokedByRule: true, environment: stateMachineEnvironment },
    );
    functions.set('ExecutionReconciler', reconciler);
    this.executionReconciler = reconciler.function;
    grantAccess(this.executionReconciler, accessOf('ExecutionReconciler'));
    this.executionReconciler.addToRolePolicy(describeExecutionsStatement());
    acknowledgeExecutions(this.executionReconciler.role ?? this.executionReconciler);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the EventBridge rule targets and the Scheduler targets; ' +
        'cdk-nag recognises only SQS redrive as DLQ use. Nothing consumes it automatically, so it needs no DLQ.',
    });

    const leakReporterSources = [
      EVENT_SOURCES.rotator,
      EVENT_SOURCES.githubWebhook,
      EVENT_SOURCES.operator,
      ...config.leakScanners.map((scanner) => scanner.source),
    ];
    new events.Rule(this, 'LeakRule', {
      eventBus: this.eventBus,
      description:
        'Secret Leak Detected from a known reporter (the rotator, the GitHub webhook, operators, configured scanners) goes to the leak intake',
      // The source is who spoke, and IAM decides who may use which: an event from anyone else never
      // reaches the intake (the bus policy and the publishers' events:source conditions).
      eventPattern: { source: [...leakReporterSources], detailType: [LEAK_DETAIL_TYPE] },
      targets: [
        new eventTargets.LambdaFunction(this.leakIntake, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
    new events.Rule(this, 'HealthRule', {
      eventBus: this.eventBus,
      description: "Consumer Health Reported, from a consumer's own source, goes to the health aggregator",
      // Only a consumer's source (`stytch-m2m-rotator.consumer.<name>`, which only that consumer's
      // principal may use); the aggregator checks that the name matches the report's `consumer`.
      eventPattern: {
        source: events.Match.prefix(EVENT_SOURCES.consumerPrefix),
        detailType: [HEALTH_REPORT_DETAIL_TYPE],
      },
      targets: [
        new eventTargets.LambdaFunction(this.healthAggregator, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    // Step Functions sends every Standard execution's status changes to the default bus.
    new events.Rule(this, 'ExecutionEndedRule', {
      description:
        'A rotation execution that failed, was stopped or timed out goes to the execution reconciler',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'ABORTED', 'TIMED_OUT'],
          stateMachineArn: [this.stateMachine.stateMachineArn],
        },
      },
      targets: [
        new eventTargets.LambdaFunction(this.executionReconciler, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    config.clients.forEach((client, index) => {
      if (client.schedule === undefined) return;
      const { expression, timeZone, flexibleWindowMinutes } = client.schedule;
      new scheduler.Schedule(this, `Schedule${index}`, {
        description: `Scheduled rotation of ${client.clientId}`,
        schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(timeZone)),
        timeWindow:
          flexibleWindowMinutes === undefined
            ? scheduler.TimeWindow.off()
            : scheduler.TimeWindow.flexible(Duration.minutes(flexibleWindowMinutes)),
        target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
          input: scheduler.ScheduleTargetInput.fromObject({
            clientId: client.clientId,
            trigger: 'schedule',
            requestedBy: 'eventbridge-scheduler',
          }),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 3,
        }),
      });
    });

    // Schedules of clients registered at run time: `rotator register` creates them in this group,
    // with this role as their target role (the config's schedules are in the template).
    this.registeredSchedules = new scheduler.ScheduleGroup(this, 'RegisteredSchedules', {
      removalPolicy,
    });
    this.registeredSchedulesRole = new iam.Role(this, 'RegisteredSchedulesRole', {
      description:
        'Assumed by EventBridge Scheduler to start rotations of clients registered with rotator register',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    this.stateMachine.grantStartExecution(this.registeredSchedulesRole);

    this.githubWebhook = new GitHubWebhookReceiver(this, 'GitHubWebhook', {
      ledger: this.ledger,
      eventBus: this.eventBus,
      encryptionKey: this.encryptionKey,
      fingerprintKey: this.fingerprintKey,
      ...(props.githubApiUrl === undefined ? {} : { githubApiUrl: props.githubApiUrl }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });

    // Who may say what on the bus (issue 13). A consumer speaks only as itself: the source its
    // principal tag names. An operator reports leaks (the CLI's `leak report` and `emergency`).
    this.consumerPolicy = new iam.ManagedPolicy(this, 'ConsumerHealthReportsPolicy', {
      description:
        `stytch-m2m-rotator consumers: publish Consumer Health Reported as ${EVENT_SOURCES.consumerPrefix}` +
        `<the ${CONSUMER_PRINCIPAL_TAG} principal tag>; attach it to roles tagged ${CONSUMER_PRINCIPAL_TAG}=<consumer name>`,
      statements: [
        new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [this.eventBus.eventBusArn],
          conditions: {
            StringEquals: {
              // An IAM policy variable, resolved per request: a role without the tag matches nothing.
              'events:source': `${EVENT_SOURCES.consumerPrefix}\${aws:PrincipalTag/${CONSUMER_PRINCIPAL_TAG}}`,
              'events:detail-type': HEALTH_REPORT_DETAIL_TYPE,
            },
          },
        }),
      ],
    });

    const registeredSchedulesArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.registeredSchedules.scheduleGroupName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const configSchedulesArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: 'default/*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const thisStackArn = stack.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${stack.stackName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
      description:
        'stytch-m2m-rotator operators (the rotator CLI): rotate, cancel, status, history, leak report. ' +
        'No secret values: rotator register and repair need more (see the README).',
      statements: [
        new iam.PolicyStatement({
          // Leak reports, and the `Rotation Failed` that `rotator repair --apply` announces when it
          // closes a rotation whose execution ended: always as the operator, never as the rotator.
          sid: 'ReportAsOperator',
          actions: ['events:PutEvents'],
          resources: [this.eventBus.eventBusArn],
          conditions: {
            StringEquals: {
              'events:source': EVENT_SOURCES.operator,
              'events:detail-type': [LEAK_DETAIL_TYPE, 'Rotation Failed'],
            },
          },
        }),
        new iam.PolicyStatement({
          sid: 'RunRotations',
          actions: [
            'states:StartExecution',
            'states:ListExecutions',
            'states:SendTaskSuccess',
            'states:SendTaskFailure',
            'states:SendTaskHeartbeat',
          ],
          resources: [this.stateMachine.stateMachineArn],
        }),
        new iam.PolicyStatement({
          sid: 'FollowRotations',
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'],
          resources: [executionsArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadAndWriteTheLedger',
          actions: [
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:Query',
          ],
          resources: [this.ledger.tableArn, `${this.ledger.tableArn}/index/byStartedAt`],
        }),
        new iam.PolicyStatement({
          sid: 'LedgerKey',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [this.encryptionKey.keyArn],
          conditions: viaService('dynamodb'),
        }),
        new iam.PolicyStatement({
          sid: 'SecretLabelsNotValues',
          actions: ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'],
          resources: [managedSecretsArn],
        }),
        // Fingerprints a leaked value on the operator's machine (`leak report --secret-stdin`): the
        // HMAC key, not a client secret; a fingerprint reveals nothing of the value.
        new iam.PolicyStatement({
          sid: 'FingerprintKey',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.fingerprintKey.secretArn],
        }),
        new iam.PolicyStatement({
          sid: 'FingerprintKeyDecrypt',
          actions: ['kms:Decrypt'],
          resources: [this.encryptionKey.keyArn],
          conditions: viaService('secretsmanager'),
        }),
        new iam.PolicyStatement({
          sid: 'ListManagedSecrets',
          actions: ['secretsmanager:ListSecrets'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'ListSchedules',
          actions: ['scheduler:ListSchedules'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'ReadSchedules',
          actions: ['scheduler:GetSchedule'],
          resources: [configSchedulesArn, registeredSchedulesArn],
        }),
        new iam.PolicyStatement({
          sid: 'FindTheStack',
          actions: ['cloudformation:DescribeStacks'],
          resources: [thisStackArn],
        }),
      ],
    });
    acknowledgeManagedSecrets(this.operatorPolicy);
    Validations.of(this.operatorPolicy).acknowledge(
      {
        id: executionsFinding,
        reason:
          "Describe, follow and stop this state machine's executions, whose names are only known at run time; " +
          "the wildcard is the execution name within this one state machine's executions.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'secretsmanager:ListSecrets and scheduler:ListSchedules support no resource-level permissions (Service ' +
          'Authorization Reference); they list names and metadata, never a value.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/default/*]',
        reason:
          "GetSchedule of the config's schedules (in the default group, named by CloudFormation): read only.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${nagName(this.registeredSchedules.scheduleGroupName)}/*]`,
        reason:
          'GetSchedule of the schedules rotator register creates in the registered-clients group: read only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${nagName(stack.stackName)}/*]`,
        reason:
          "DescribeStacks of this stack (the wildcard is its id suffix): the CLI reads the stack's outputs.",
      },
    );

    // The bus policy: who may publish which source. Same-account principals still need the
    // identity policies above (an account principal here delegates to IAM); other accounts' consumers
    // need this statement and their own IAM.
    const account = stack.account;
    const busStatement = (
      sid: string,
      principals: iam.IPrincipal[],
      conditions: Record<string, Record<string, unknown>>,
    ): void => {
      this.eventBus.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals,
          actions: ['events:PutEvents'],
          resources: [this.eventBus.eventBusArn],
          conditions,
        }),
      );
    };
    const thisAccount = [new iam.AccountPrincipal(account)];
    busStatement('RotatorFunctions', thisAccount, {
      StringEquals: { 'events:source': EVENT_SOURCES.rotator },
    });
    busStatement('LeakReporters', thisAccount, {
      StringEquals: {
        'events:source': [
          EVENT_SOURCES.githubWebhook,
          EVENT_SOURCES.operator,
          ...config.leakScanners.map((scanner) => scanner.source),
        ],
        'events:detail-type': LEAK_DETAIL_TYPE,
      },
    });
    busStatement('Consumers', thisAccount, {
      StringLike: { 'events:source': `${EVENT_SOURCES.consumerPrefix}*` },
      StringEquals: { 'events:detail-type': HEALTH_REPORT_DETAIL_TYPE },
    });
    if (config.crossAccountConsumerAccounts.length > 0) {
      busStatement(
        'CrossAccountConsumers',
        config.crossAccountConsumerAccounts.map((id) => new iam.AccountPrincipal(id)),
        {
          StringLike: { 'events:source': `${EVENT_SOURCES.consumerPrefix}*` },
          StringEquals: { 'events:detail-type': HEALTH_REPORT_DETAIL_TYPE },
        },
      );
    }

    if (props.monitoring !== false) {
      this.monitoring = new RotatorMonitoring(this, 'Monitoring', {
        ...props.monitoring,
        stateMachine: this.stateMachine,
        deadLetterQueue: this.deadLetterQueue,
        asyncFailureQueue: this.asyncFailureQueue,
        eventBus: this.eventBus,
        encryptionKey: this.encryptionKey,
        clients: config.clients,
        managedSecrets: this.managedSecrets,
        secretPrefix: config.secretPrefix,
        githubWebhookFailures: this.githubWebhook.failedDeliveries,
        ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
        ...(props.removalPolicy === undefined ? {} : { logRemovalPolicy: props.removalPolicy }),
      });
    }
  }

  /**
   * Lets `grantee` publish health reports as consumer `consumerName` only (`Consumer Health
   * Reported` with `events:source` = `stytch-m2m-rotator.consumer.<consumerName>`): for a principal
   * that cannot carry the `rotator-consumer` tag. A tagged role needs {@link consumerPolicy} instead.
   * @throws Error when `consumerName` is not a consumer name
   */
  public grantHealthReports(grantee: iam.IGrantable, consumerName: string): iam.Grant {
    const parsed = ConsumerNameSchema.safeParse(consumerName);
    if (!parsed.success) {
      throw new Error(
        `grantHealthReports: consumer name ${JSON.stringify(consumerName)} ${parsed.error.issues[0]?.message ?? 'is invalid'}`,
      );
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [this.eventBus.eventBusArn],
      conditions: {
        StringEquals: {
          'events:source': consumerSource(parsed.data),
          'events:detail-type': HEALTH_REPORT_DETAIL_TYPE,
        },
      },
    });
  }

  /** Attaches the {@link operatorPolicy} to `grantee` (a role, a user or a group of this account). */
  public grantOperator(grantee: iam.IGrantable): void {
    const principal = grantee.grantPrincipal as iam.IPrincipal & {
      addManagedPolicy?: (policy: iam.IManagedPolicy) => void;
    };
    if (typeof principal.addManagedPolicy !== 'function') {
      throw new Error('grantOperator: the grantee must be an IAM role, user or group');
    }
    principal.addManagedPolicy(this.operatorPolicy);
  }
}

/** A name as cdk-nag writes it in a finding id: the name itself, or `<AWS::StackName>` for the stack's own token. */
function nagName(name: string): string {
  return Token.isUnresolved(name) ? '<AWS::StackName>' : name;
}

/** Checks every prop and throws once, listing every problem; returns the clients' JSON for the functions. */
function validateProps(props: StytchM2MRotatorProps): string {
  const problems: string[] = [];
  if (props.eventBusName !== undefined && !EVENT_BUS_NAME_PATTERN.test(props.eventBusName)) {
    problems.push(`eventBusName "${props.eventBusName}" must be 1-256 characters of A-Z a-z 0-9 . _ -`);
  }
  if (props.eventBusName === 'default') {
    problems.push('eventBusName must not be "default": the rotator needs its own bus');
  }
  const clients = Object.fromEntries(
    props.config.clients.map((client) => [client.clientId, { kind: client.kind, policy: client.policy }]),
  );
  const clientsJson = JSON.stringify(clients);
  if (Buffer.byteLength(clientsJson) > MAX_CLIENTS_ENV_BYTES) {
    problems.push(
      `config.clients describe ${Buffer.byteLength(clientsJson)} bytes of policy; a Lambda environment holds ` +
        `at most ${MAX_CLIENTS_ENV_BYTES} here: split the clients over several deployments`,
    );
  }
  if (props.monitoring !== undefined && props.monitoring !== false) {
    problems.push(
      ...rotatorMonitoringOptionsProblems(props.monitoring).map((problem) => `monitoring.${problem}`),
    );
  }
  if (problems.length > 0) {
    throw new Error(`Invalid StytchM2MRotator props:\n- ${problems.join('\n- ')}`);
  }
  return clientsJson;
}
