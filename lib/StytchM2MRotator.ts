import { ArnFormat, Duration, RemovalPolicy, Stack, TimeZone, Validations } from 'aws-cdk-lib';
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

/** What rotating a registered client's secret takes: read it, store AWSPENDING, move the labels. */
const ROTATING_SECRET_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:ListSecretVersionIds',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;
/** What matching a leaked value takes: read the labels and the values. */
const READING_SECRET_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:ListSecretVersionIds',
] as const;

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

    const stytchCredentials = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'StytchProjectCredentials',
      config.stytch.projectCredentialsSecretArn,
    );

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

    // `rotator register` creates secrets under the prefix at run time, so the functions that rotate
    // need the prefix, not only the config's named secrets.
    const registeredSecretsArn = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${config.secretPrefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const registeredSecretsStatement = (actions: readonly string[]): iam.PolicyStatement =>
      new iam.PolicyStatement({ actions: [...actions], resources: [registeredSecretsArn] });
    const acknowledgeRegisteredSecrets = (fn: lambda.IFunction): void => {
      Validations.of(fn).acknowledge({
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

    // Least privilege, per function: named ARNs only.
    const grantLedger = (fn: lambda.IFunction): void => {
      this.ledger.grantReadWriteData(fn);
      Validations.of(fn).acknowledge(
        {
          id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.ledger.node.defaultChild as dynamodb.CfnTable)}.Arn>/index/*]`,
          reason:
            "The ledger's only index is byStartedAt (history, newest first); the wildcard covers it and nothing else.",
        },
        {
          id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
          reason:
            "Granted by DynamoDB's grant for a table encrypted with the rotator's own key, on that one key ARN only.",
        },
        {
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason:
            "Granted by DynamoDB's grant for a table encrypted with the rotator's own key, on that one key ARN only.",
        },
      );
    };
    for (const rotatorFunction of functions.values()) grantLedger(rotatorFunction.function);
    const grantPublish = (grantee: lambda.IFunction): void => {
      this.eventBus.grantPutEventsTo(grantee);
      this.encryptionKey.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    };
    for (const name of [
      'StartRotation',
      'PublishPending',
      'CompleteRotation',
      'CancelRotation',
      'RecordFailure',
    ]) {
      grantPublish(lambdaOf(name));
    }
    // What starting, completing or cancelling at Stytch and moving the labels takes.
    const grantRotateSecrets = (grantee: lambda.IFunction): void => {
      stytchCredentials.grantRead(grantee);
      this.fingerprintKey.grantRead(grantee);
      for (const secret of secrets.values()) {
        secret.grantRead(grantee);
        secret.grantWrite(grantee);
      }
      grantee.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:UpdateSecretVersionStage'],
          resources: [...secrets.values()].map((secret) => secret.secretArn),
        }),
      );
      grantee.addToRolePolicy(registeredSecretsStatement(ROTATING_SECRET_ACTIONS));
      acknowledgeRegisteredSecrets(grantee);
    };
    for (const name of ['StartRotation', 'CompleteRotation', 'CancelRotation']) {
      grantRotateSecrets(lambdaOf(name));
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
    // make each function depend on the state machine, which depends on the functions.
    for (const name of ['AwaitConsumers', 'HealthAggregator']) {
      const role = lambdaOf(name).role;
      if (!role) throw new Error(`function ${name} has no role`);
      new iam.Policy(this, `${name}TaskResponsePolicy`, {
        roles: [role],
        statements: [
          new iam.PolicyStatement({
            actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
            resources: [this.stateMachine.stateMachineArn],
          }),
        ],
      });
    }
    this.healthAggregator = lambdaOf('HealthAggregator');

    // Whether a lock's holder is still running: DescribeExecution on this state machine's
    // executions (their ARNs are `…:execution:<state machine name>:<execution name>`).
    const executionsArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const describeExecutionsStatement = (): iam.PolicyStatement =>
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionsArn] });
    const stateMachineLogicalId = Stack.of(this).getLogicalId(
      this.stateMachine.node.defaultChild as sfn.CfnStateMachine,
    );
    const acknowledgeExecutions = (scope: Construct): void => {
      Validations.of(scope).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${stateMachineLogicalId}.Name>:*]`,
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
    this.leakIntake = fn(
      'LeakIntakeFunction',
      'leakIntake',
      'Turns Secret Leak Detected into a leak rotation, or preempts the rotation in progress',
      { invokedByRule: true, environment: stateMachineEnvironment },
    ).function;
    this.stateMachine.grantStartExecution(this.leakIntake);
    grantLedger(this.leakIntake);
    this.fingerprintKey.grantRead(this.leakIntake);
    for (const secret of secrets.values()) secret.grantRead(this.leakIntake);
    this.leakIntake.addToRolePolicy(registeredSecretsStatement(READING_SECRET_ACTIONS));
    acknowledgeRegisteredSecrets(this.leakIntake);
    // Built after the state machine, so its default policy may name it (no cycle).
    this.leakIntake.addToRolePolicy(describeExecutionsStatement());
    acknowledgeExecutions(this.leakIntake);
    new iam.Policy(this, 'LeakIntakeTaskResponsePolicy', {
      roles: this.leakIntake.role === undefined ? [] : [this.leakIntake.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [this.stateMachine.stateMachineArn],
        }),
      ],
    });

    // An execution that failed, was stopped or timed out never ran its own cleanup: the reconciler
    // does what CompleteRotation or CancelRotation would have, so it needs what both of them have.
    this.executionReconciler = fn(
      'ExecutionReconcilerFunction',
      'executionReconciler',
      'Reconciles a rotation whose execution failed, was stopped or timed out, and releases its lock',
      { invokedByRule: true, environment: stateMachineEnvironment },
    ).function;
    grantLedger(this.executionReconciler);
    grantPublish(this.executionReconciler);
    grantRotateSecrets(this.executionReconciler);
    this.executionReconciler.addToRolePolicy(describeExecutionsStatement());
    acknowledgeExecutions(this.executionReconciler);

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

    new events.Rule(this, 'LeakRule', {
      eventBus: this.eventBus,
      description:
        'Secret Leak Detected (by client id or fingerprint) goes to the leak intake: a leak rotation, or preemption',
      eventPattern: { detailType: ['Secret Leak Detected'] },
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
      description: 'Consumer Health Reported goes to the health aggregator',
      eventPattern: { detailType: ['Consumer Health Reported'] },
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
        ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
        ...(props.removalPolicy === undefined ? {} : { logRemovalPolicy: props.removalPolicy }),
      });
    }
  }
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
