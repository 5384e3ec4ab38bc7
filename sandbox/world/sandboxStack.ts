/**
 * What makes the sandbox look like a deployment to `rotator --stack`: the stack outputs (as a
 * CloudFormation stack in moto), the schedule group `rotator apply` and `register` use, and the
 * schedules of the world's clients in it.
 */
import {
  AlreadyExistsException,
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
} from '@aws-sdk/client-cloudformation';
import { ConflictException, CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SchedulerSchedules } from '#adapters/aws/SchedulerSchedules.js';
import { rotationScheduleName, scheduledRotationInput } from '#core/registry.js';
import type { awsClientConfig } from './awsClientConfig.js';
import type { SandboxClient } from './sandboxConfig.js';
import { SANDBOX_FLEET_BUCKET } from './sandboxFleet.js';
import { WORLD_RESOURCE_NAMES } from './worldResources.js';
import { WORLD_STACK_NAME } from './worldStack.js';

/** The stack the sandbox's outputs are in (moto), named like the deployed one. */
export const SANDBOX_STACK_NAME = WORLD_STACK_NAME;
/** The schedule group and role `rotator register --schedule` uses (the stack outputs' stand-ins). */
export const REGISTERED_SCHEDULES_GROUP = 'stytch-m2m-rotator-registered';
export const REGISTERED_SCHEDULES_ROLE_ARN = `arn:aws:iam::123456789012:role/stytch-m2m-rotator-registered-schedules`;

/** The settings of an SDK client that talks to moto directly. */
type DirectClientConfig = ReturnType<typeof awsClientConfig>;

/**
 * The stack outputs of a deployment that the sandbox has, by output key (lib/RotatorStack.ts), and
 * the Stytch base URL: a deployment talks to Stytch's own API (the client's default), the sandbox
 * to its emulator, so its stack says where (`rotator --stack … register` needs it).
 */
export function sandboxStackOutputs(
  stateMachineArn: string,
  secretPrefix: string,
  stytchBaseUrl: string,
  fleetStateMachineArn: string,
): Record<string, string> {
  const names = WORLD_RESOURCE_NAMES;
  return {
    StateMachineArn: stateMachineArn,
    FleetStateMachineArn: fleetStateMachineArn,
    FleetBucketName: SANDBOX_FLEET_BUCKET,
    LedgerTableName: names.tableName,
    EventBusName: names.eventBusName,
    SecretPrefix: secretPrefix,
    FingerprintKeySecretArn: names.fingerprintKeySecretId,
    StytchCredentialsSecretArn: names.credentialsSecretId,
    RegisteredSchedulesGroup: REGISTERED_SCHEDULES_GROUP,
    RegisteredSchedulesRoleArn: REGISTERED_SCHEDULES_ROLE_ARN,
    StytchBaseUrl: stytchBaseUrl,
  };
}

/**
 * The schedule group the stack creates, and each client's schedule in it as `rotator apply` makes
 * it (so `rotator status` shows them; they fire when a demo scenario says so, not on their clock).
 * A reused moto (`--aws-endpoint`, run after run) has them from an earlier run: this run's win.
 */
export async function createSandboxSchedules(
  direct: DirectClientConfig,
  clients: readonly SandboxClient[],
  stateMachineArn: string,
): Promise<void> {
  const scheduler = new SchedulerClient(direct);
  try {
    await scheduler
      .send(new CreateScheduleGroupCommand({ Name: REGISTERED_SCHEDULES_GROUP }))
      .catch((error) => {
        if (!(error instanceof ConflictException)) throw error;
      });
    const schedules = new SchedulerSchedules({ client: scheduler });
    for (const client of clients) {
      if (client.schedule === undefined) continue;
      await schedules.putRotationSchedule({
        name: rotationScheduleName(client.clientId),
        group: REGISTERED_SCHEDULES_GROUP,
        description: `Scheduled rotation of ${client.clientId}`,
        expression: client.schedule.expression,
        timeZone: client.schedule.timeZone,
        ...(client.schedule.flexibleWindowMinutes === undefined
          ? {}
          : { flexibleWindowMinutes: client.schedule.flexibleWindowMinutes }),
        stateMachineArn,
        roleArn: REGISTERED_SCHEDULES_ROLE_ARN,
        input: scheduledRotationInput(client.clientId),
      });
    }
  } finally {
    scheduler.destroy();
  }
}

/**
 * The stack outputs a deployment has, as a stack in moto: `rotator --stack StytchM2MRotator` finds
 * the sandbox's resources the way it finds a deployment's. Replaces the one an earlier run left.
 */
export async function putSandboxStack(
  direct: DirectClientConfig,
  outputs: Record<string, string>,
): Promise<void> {
  const cloudFormation = new CloudFormationClient(direct);
  const createStack = new CreateStackCommand({
    StackName: SANDBOX_STACK_NAME,
    TemplateBody: JSON.stringify({
      Resources: { SandboxMarker: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
      Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
    }),
  });
  try {
    await cloudFormation.send(createStack).catch(async (error) => {
      if (!(error instanceof AlreadyExistsException)) throw error;
      await cloudFormation.send(new DeleteStackCommand({ StackName: SANDBOX_STACK_NAME }));
      await cloudFormation.send(createStack);
    });
  } finally {
    cloudFormation.destroy();
  }
}
