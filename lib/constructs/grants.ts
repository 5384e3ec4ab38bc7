import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';
import { EVENT_SOURCES } from '../../lambdas/core/events.js';
import type { FunctionAccess } from './functionAccess.js';

/** The detail-type of a consumer's report on a pending secret. */
export const HEALTH_REPORT_DETAIL_TYPE = 'Consumer Health Reported';
/** The detail-type of a leak report. */
export const LEAK_DETAIL_TYPE = 'Secret Leak Detected';

/** What the rotator's functions are granted access to: the ledger, the bus, the keys and the secrets. */
export interface RotatorFunctionResources {
  /** The ledger table. */
  readonly ledger: dynamodb.ITable;
  /** The bus the functions publish `Rotation *` events to (as the rotator only). */
  readonly eventBus: events.IEventBus;
  /** The key that encrypts the ledger, the managed secrets and the fingerprint key. */
  readonly encryptionKey: kms.IKey;
  /** The HMAC key of secret fingerprints. */
  readonly fingerprintKey: secretsmanager.ISecret;
  /** ARN of the secret holding the Stytch project credentials. */
  readonly stytchCredentialsSecretArn: string;
  /** Managed secrets are named `<secretPrefix>/<client id>`. */
  readonly secretPrefix: string;
}

/** The names of {@link RotatorFunctionResources}, which JavaScript callers may leave out. */
export const FUNCTION_RESOURCE_NAMES = [
  'ledger',
  'eventBus',
  'encryptionKey',
  'fingerprintKey',
  'stytchCredentialsSecretArn',
  'secretPrefix',
] as const satisfies readonly (keyof RotatorFunctionResources)[];

/** `<name> is required` for each of `names` that `props` lacks (JavaScript callers get no compile-time check). */
export function missingProps<P extends object>(props: P, names: readonly (keyof P & string)[]): string[] {
  return names
    .filter((name) => props[name] === undefined || props[name] === null)
    .map((name) => `${name} is required`);
}

/**
 * Every managed secret is named `<prefix>/<client id>`: the config's, and those `rotator register`
 * creates at run time. One ARN pattern covers both.
 */
export function managedSecretsArn(scope: IConstruct, secretPrefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${secretPrefix}/*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** Acknowledges cdk-nag's finding on the managed-secrets wildcard, on `scope` only. */
export function acknowledgeManagedSecrets(scope: IConstruct, secretPrefix: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretPrefix}/*]`,
    reason:
      'Clients registered at run time (rotator register) get secrets under the managed prefix; the wildcard ' +
      'is that prefix only, which holds nothing but managed client secrets.',
  });
}

/** The condition that binds a key grant to calls made through one service. */
export function viaService(scope: IConstruct, service: string): Record<string, unknown> {
  const stack = Stack.of(scope);
  return { StringEquals: { 'kms:ViaService': `${service}.${stack.region}.${stack.urlSuffix}` } };
}

/**
 * Least privilege, per function: grants `grantee` the actions its steps call ({@link FunctionAccess}),
 * on named ARNs, as explicit statements (the CDK's grants would add Scan, UpdateSecret, indexes).
 */
export function grantFunctionAccess(
  grantee: lambda.IFunction,
  access: FunctionAccess,
  resources: RotatorFunctionResources,
): void {
  const add = (statement: iam.PolicyStatement): void => {
    grantee.addToRolePolicy(statement);
  };
  const { encryptionKey } = resources;
  if (access.ledger.length > 0) {
    add(new iam.PolicyStatement({ actions: [...access.ledger], resources: [resources.ledger.tableArn] }));
    // The table key is decrypted on every access; writes also need a data key under it.
    const writes = access.ledger.some(
      (action) => action !== 'dynamodb:GetItem' && action !== 'dynamodb:Query',
    );
    add(
      new iam.PolicyStatement({
        actions: writes ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
        resources: [encryptionKey.keyArn],
        conditions: viaService(grantee, 'dynamodb'),
      }),
    );
  }
  if (access.publishes) {
    // Only as the rotator: a function cannot speak for a consumer, an operator or the webhook.
    add(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [resources.eventBus.eventBusArn],
        conditions: { StringEquals: { 'events:source': EVENT_SOURCES.rotator } },
      }),
    );
  }
  grantSecretAccess(grantee, access, resources);
}

/** The secrets part of {@link grantFunctionAccess}: the secrets it reads, the managed ones, their key. */
function grantSecretAccess(
  grantee: lambda.IFunction,
  access: FunctionAccess,
  resources: RotatorFunctionResources,
): void {
  const add = (statement: iam.PolicyStatement): void => {
    grantee.addToRolePolicy(statement);
  };
  const secretReads: string[] = [];
  if (access.stytchCredentials) secretReads.push(resources.stytchCredentialsSecretArn);
  if (access.fingerprintKey) secretReads.push(resources.fingerprintKey.secretArn);
  if (secretReads.length > 0) {
    add(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secretReads }));
  }
  if (access.managedSecrets.length > 0) {
    // The prefix covers the config's secrets and those `rotator register` creates at run time.
    add(
      new iam.PolicyStatement({
        actions: [...access.managedSecrets],
        resources: [managedSecretsArn(grantee, resources.secretPrefix)],
      }),
    );
    acknowledgeManagedSecrets(grantee.role ?? grantee, resources.secretPrefix);
  }
  const readsValues =
    access.fingerprintKey || access.managedSecrets.includes('secretsmanager:GetSecretValue');
  const writesValues = access.managedSecrets.includes('secretsmanager:PutSecretValue');
  if (readsValues || writesValues) {
    // The managed secrets and the fingerprint key are encrypted with the rotator's key.
    add(
      new iam.PolicyStatement({
        actions: writesValues ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
        resources: [resources.encryptionKey.keyArn],
        conditions: viaService(grantee, 'secretsmanager'),
      }),
    );
  }
}

/**
 * The ARN pattern of the state machine's executions (`…:execution:<state machine name>:<execution
 * name>`): execution names are only known at run time.
 */
export function executionsArn(stateMachine: sfn.StateMachine): string {
  return Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The cdk-nag finding id of {@link executionsArn}'s wildcard. */
export function executionsFinding(stateMachine: sfn.StateMachine): string {
  const logicalId = Stack.of(stateMachine).getLogicalId(
    stateMachine.node.defaultChild as sfn.CfnStateMachine,
  );
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${logicalId}.Name>:*]`;
}

/** Whether a lock's holder is still running: DescribeExecution on this state machine's executions. */
export function describeExecutionsStatement(stateMachine: sfn.StateMachine): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['states:DescribeExecution'],
    resources: [executionsArn(stateMachine)],
  });
}

/** Acknowledges the executions wildcard of {@link describeExecutionsStatement} on `scope` only. */
export function acknowledgeExecutions(scope: IConstruct, stateMachine: sfn.StateMachine): void {
  Validations.of(scope).acknowledge({
    id: executionsFinding(stateMachine),
    reason:
      'DescribeExecution of the execution holding a lock (or, for the reconciler, the one that ended), whose ' +
      "name is only known at run time; the wildcard is the execution name within this one state machine's " +
      'executions.',
  });
}

/**
 * Answering a task token: success and failure only (nothing sends a heartbeat: SfnTaskCallbacks).
 * Granted in a policy of its own: in the role's default policy it would make the function depend
 * on the state machine, which depends on the functions.
 */
export function taskResponseStatement(stateMachine: sfn.IStateMachine): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
    resources: [stateMachine.stateMachineArn],
  });
}

/** A name as cdk-nag writes it in a finding id: the name itself, or `<AWS::StackName>` for the stack's own token. */
export function nagName(name: string): string {
  return Token.isUnresolved(name) ? '<AWS::StackName>' : name;
}
