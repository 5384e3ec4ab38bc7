import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BY_FLEET_RUN_INDEX } from '../../lambdas/adapters/aws/ledger/ledgerTable.js';
import { CONSUMER_PRINCIPAL_TAG, consumerSource, EVENT_SOURCES } from '../../lambdas/core/events.js';
import { FLEET_SELECTIONS_PREFIX } from '../../lambdas/core/fleetRotation.js';
import { ConsumerNameSchema } from '../../lambdas/core/model.js';
import {
  acknowledgeManagedSecrets,
  executionsArn,
  executionsFinding,
  HEALTH_REPORT_DETAIL_TYPE,
  LEAK_DETAIL_TYPE,
  managedSecretsArn,
  missingProps,
  nagName,
  viaService,
} from './grants.js';

/** Props of {@link RotatorAccess}. */
export interface RotatorAccessProps {
  /** The rotator's bus: its resource policy says which account may publish which source. */
  readonly eventBus: events.EventBus;
  /** The rotation workflow operators run, follow and stop. */
  readonly stateMachine: sfn.StateMachine;
  /**
   * The fleet workflow and its selection bucket (`rotator rotate --all | --selector`): operators
   * start and follow runs, write selections and read results.
   * @default - no fleet rotation grants
   */
  readonly fleet?: { readonly stateMachine: sfn.StateMachine; readonly bucket: s3.IBucket };
  /** The ledger operators read and repair. */
  readonly ledger: dynamodb.ITable;
  /** The key that encrypts the ledger and the fingerprint key. */
  readonly encryptionKey: kms.IKey;
  /** The HMAC key operators fingerprint a leaked value with. */
  readonly fingerprintKey: secretsmanager.ISecret;
  /** The schedule group of clients registered at run time (operators read its schedules). */
  readonly registeredSchedules: scheduler.IScheduleGroup;
  /** Managed secrets are named `<secretPrefix>/<client id>` (operators see their labels, never a value). */
  readonly secretPrefix: string;
  /**
   * Sources of the configured leak scanners, which this account may publish leak reports as.
   * @default - none
   */
  readonly leakScannerSources?: readonly string[];
  /**
   * Other accounts whose principals may publish consumer health reports to the bus.
   * @default - none
   */
  readonly crossAccountConsumerAccounts?: readonly string[];
  /**
   * Where the resources are created. {@link StytchM2MRotator} passes itself: its resources were
   * its own children before it was split by concern, and a new logical id would replace the
   * managed policies that consumer and operator roles have attached.
   * @default - this construct
   */
  readonly resourceScope?: Construct;
}

const ACCOUNT_ID = /^\d{12}$/;

/**
 * Who may say what on the bus, and who may run the rotator (issue 13): the consumer and operator
 * managed policies, and the bus policy. A consumer speaks only as itself (the source its principal
 * tag names); an operator reports leaks and runs, follows and repairs rotations, never reading a
 * secret value.
 */
export class RotatorAccess extends Construct {
  /**
   * The consumer grant: PutEvents of `Consumer Health Reported` with the source of the caller's
   * `rotator-consumer` principal tag only.
   */
  public readonly consumerPolicy: iam.ManagedPolicy;
  /** The operator grant (the rotator CLI): rotate, cancel, status, history, leak report. */
  public readonly operatorPolicy: iam.ManagedPolicy;
  readonly #eventBus: events.IEventBus;

  public constructor(scope: Construct, id: string, props: RotatorAccessProps) {
    super(scope, id);
    validateProps(props);
    const within = props.resourceScope ?? this;
    this.#eventBus = props.eventBus;
    this.consumerPolicy = new iam.ManagedPolicy(within, 'ConsumerHealthReportsPolicy', {
      description:
        `stytch-m2m-rotator consumers: publish Consumer Health Reported as ${EVENT_SOURCES.consumerPrefix}` +
        `<the ${CONSUMER_PRINCIPAL_TAG} principal tag>; attach it to roles tagged ${CONSUMER_PRINCIPAL_TAG}=<consumer name>`,
      statements: [
        new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [props.eventBus.eventBusArn],
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
    this.operatorPolicy = new iam.ManagedPolicy(within, 'OperatorPolicy', {
      description:
        'stytch-m2m-rotator operators (the rotator CLI): rotate, cancel, status, history, leak report. ' +
        'No secret values: rotator register and repair need more (see the README).',
      statements: operatorStatements(this, props),
    });
    acknowledgeOperatorFindings(this.operatorPolicy, props);
    addBusPolicy(props);
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
      resourceArns: [this.#eventBus.eventBusArn],
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

/** ARNs of the schedules operators may read, and of this stack (the CLI reads its outputs). */
function operatorArns(scope: Construct, props: RotatorAccessProps) {
  const stack = Stack.of(scope);
  const scheduleArn = (group: string): string =>
    stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${group}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  return {
    registeredSchedules: scheduleArn(props.registeredSchedules.scheduleGroupName),
    thisStack: stack.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${stack.stackName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
  };
}

/** The operator policy's statements: everything the CLI's read and run commands call, no secret value. */
function operatorStatements(scope: Construct, props: RotatorAccessProps): iam.PolicyStatement[] {
  const arns = operatorArns(scope, props);
  const statement = (
    sid: string,
    actions: string[],
    resources: string[],
    conditions?: Record<string, unknown>,
  ) =>
    new iam.PolicyStatement({ sid, actions, resources, ...(conditions === undefined ? {} : { conditions }) });
  return [
    // Leak reports, the `Rotation Failed` that `rotator repair --apply` announces when it closes a
    // rotation whose execution ended, and `rotator revoke-tokens`' request: always as the
    // operator, never as the rotator.
    statement('ReportAsOperator', ['events:PutEvents'], [props.eventBus.eventBusArn], {
      StringEquals: {
        'events:source': EVENT_SOURCES.operator,
        'events:detail-type': [LEAK_DETAIL_TYPE, 'Rotation Failed', 'Token Revocation Requested'],
      },
    }),
    statement(
      'RunRotations',
      [
        'states:StartExecution',
        'states:ListExecutions',
        'states:SendTaskSuccess',
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
      ],
      [props.stateMachine.stateMachineArn],
    ),
    statement(
      'FollowRotations',
      ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'],
      [executionsArn(props.stateMachine)],
    ),
    statement(
      'ReadAndWriteTheLedger',
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ],
      [props.ledger.tableArn, `${props.ledger.tableArn}/index/byStartedAt`],
    ),
    ...fleetStatements(props, statement),
    statement(
      'LedgerKey',
      ['kms:Decrypt', 'kms:GenerateDataKey'],
      [props.encryptionKey.keyArn],
      viaService(scope, 'dynamodb'),
    ),
    statement(
      'SecretLabelsNotValues',
      ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'],
      [managedSecretsArn(scope, props.secretPrefix)],
    ),
    // Fingerprints a leaked value on the operator's machine (`leak report --secret-stdin`): the
    // HMAC key, not a client secret; a fingerprint reveals nothing of the value.
    statement('FingerprintKey', ['secretsmanager:GetSecretValue'], [props.fingerprintKey.secretArn]),
    statement(
      'FingerprintKeyDecrypt',
      ['kms:Decrypt'],
      [props.encryptionKey.keyArn],
      viaService(scope, 'secretsmanager'),
    ),
    statement('ListManagedSecrets', ['secretsmanager:ListSecrets'], ['*']),
    statement('ListSchedules', ['scheduler:ListSchedules'], ['*']),
    statement('ReadSchedules', ['scheduler:GetSchedule'], [arns.registeredSchedules]),
    statement('FindTheStack', ['cloudformation:DescribeStacks'], [arns.thisStack]),
  ];
}

/** Run, follow and stop fleet rotations; write their selections, read their results and progress. */
function fleetStatements(
  props: RotatorAccessProps,
  statement: (sid: string, actions: string[], resources: string[]) => iam.PolicyStatement,
): iam.PolicyStatement[] {
  if (props.fleet === undefined) return [];
  const { stateMachine, bucket } = props.fleet;
  return [
    statement(
      'RunFleetRotations',
      ['states:StartExecution', 'states:ListExecutions'],
      [stateMachine.stateMachineArn],
    ),
    statement(
      'FollowFleetRotations',
      ['states:DescribeExecution', 'states:StopExecution'],
      [executionsArn(stateMachine)],
    ),
    statement(
      'WriteFleetSelections',
      ['s3:PutObject'],
      [bucket.arnForObjects(`${FLEET_SELECTIONS_PREFIX}*`)],
    ),
    statement('ReadFleetRuns', ['s3:GetObject'], [bucket.arnForObjects('*')]),
    statement('FleetProgress', ['dynamodb:Query'], [`${props.ledger.tableArn}/index/${BY_FLEET_RUN_INDEX}`]),
  ];
}

/** The operator policy's wildcards, each acknowledged with its reason, on that policy only. */
function acknowledgeOperatorFindings(policy: iam.ManagedPolicy, props: RotatorAccessProps): void {
  const stack = Stack.of(policy);
  acknowledgeManagedSecrets(policy, props.secretPrefix);
  if (props.fleet !== undefined) {
    const bucketId = stack.getLogicalId(props.fleet.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(policy).acknowledge(
      {
        id: executionsFinding(props.fleet.stateMachine),
        reason: "Describe and stop the fleet workflow's runs, whose names are only known at run time.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${FLEET_SELECTIONS_PREFIX}*]`,
        reason: 'Each fleet run writes its own selection object, named after the run.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
        reason:
          "Read a fleet run's selection and the results the map wrote: client ids and execution ARNs only.",
      },
    );
  }
  Validations.of(policy).acknowledge(
    {
      id: executionsFinding(props.stateMachine),
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
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${nagName(props.registeredSchedules.scheduleGroupName)}/*]`,
      reason:
        'GetSchedule of the clients’ schedules (rotator apply and register create them in this group): read only.',
    },
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${nagName(stack.stackName)}/*]`,
      reason:
        "DescribeStacks of this stack (the wildcard is its id suffix): the CLI reads the stack's outputs.",
    },
  );
}

/**
 * The bus policy: who may publish which source. Same-account principals still need the identity
 * policies above (an account principal here delegates to IAM); other accounts' consumers need this
 * statement and their own IAM.
 */
function addBusPolicy(props: RotatorAccessProps): void {
  const busStatement = (
    sid: string,
    principals: iam.IPrincipal[],
    conditions: Record<string, Record<string, unknown>>,
  ): void => {
    props.eventBus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals,
        actions: ['events:PutEvents'],
        resources: [props.eventBus.eventBusArn],
        conditions,
      }),
    );
  };
  const thisAccount = [new iam.AccountPrincipal(Stack.of(props.eventBus).account)];
  busStatement('RotatorFunctions', thisAccount, {
    StringEquals: { 'events:source': EVENT_SOURCES.rotator },
  });
  busStatement('LeakReporters', thisAccount, {
    StringEquals: {
      'events:source': [
        EVENT_SOURCES.githubWebhook,
        EVENT_SOURCES.operator,
        ...(props.leakScannerSources ?? []),
      ],
      'events:detail-type': LEAK_DETAIL_TYPE,
    },
  });
  const consumerReports = () => ({
    StringLike: { 'events:source': `${EVENT_SOURCES.consumerPrefix}*` },
    StringEquals: { 'events:detail-type': HEALTH_REPORT_DETAIL_TYPE },
  });
  busStatement('Consumers', thisAccount, consumerReports());
  const accounts = props.crossAccountConsumerAccounts ?? [];
  if (accounts.length > 0) {
    busStatement(
      'CrossAccountConsumers',
      accounts.map((account) => new iam.AccountPrincipal(account)),
      consumerReports(),
    );
  }
}

/** Checks every prop and throws once, listing every problem. */
function validateProps(props: RotatorAccessProps): void {
  const problems = missingProps(props, [
    'eventBus',
    'stateMachine',
    'ledger',
    'encryptionKey',
    'fingerprintKey',
    'registeredSchedules',
    'secretPrefix',
  ]);
  (props.crossAccountConsumerAccounts ?? []).forEach((account, index) => {
    if (!Token.isUnresolved(account) && !ACCOUNT_ID.test(account)) {
      problems.push(`crossAccountConsumerAccounts[${index}] "${account}" is not a 12-digit AWS account id`);
    }
  });
  if (problems.length > 0) throw new Error(`Invalid RotatorAccess props:\n- ${problems.join('\n- ')}`);
}
