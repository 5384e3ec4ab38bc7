/**
 * Fleet rotation in a world (`rotator rotate --all | --selector`): the fleet bucket `cdk deploy`
 * would create, made in moto, and the fleet workflow of the synthesized template in the local
 * executor, its Distributed Map reading the selection from that bucket and each item starting
 * (and waiting for) an execution of the rotation workflow, as `states:startExecution.sync:2` does.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LocalExecutor } from '../localExecutor/index.js';
import type { awsClientConfig } from './awsClientConfig.js';
import { resourceLogicalId, stateMachineLogicalId, WORLD_STACK_NAME } from './worldStack.js';

/** The bucket of the world's fleet runs (a deployment's is the `FleetBucketName` output). */
export const SANDBOX_FLEET_BUCKET = 'stytch-m2m-rotator-fleet';
/** The fleet workflow's name in a world. */
export const FLEET_STATE_MACHINE_NAME = `${WORLD_STACK_NAME}-fleet`;

/** The Map state and its item's tasks, as lib/constructs/FleetRotation.ts names them. */
const MAP_STATE = 'RotateEach';
const ROTATE_CLIENT_STATE = 'RotateClient';
const PREEMPT_STATE = 'PreemptRotationInProgress';

/** `PutEvents` as the fleet workflow's role sends it (through the sandbox gateway, on the world's bus). */
export type FleetEventSender = (entries: readonly FleetEventEntry[]) => Promise<void>;

/** One entry of the `events:putEvents` task, its `Detail` an object as the definition builds it. */
export interface FleetEventEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: unknown;
}

/** The settings of an SDK client that talks to moto directly. */
type DirectClientConfig = ReturnType<typeof awsClientConfig>;

/** Creates the fleet bucket in moto (idempotent: a reused moto has it from an earlier run). */
export async function createFleetBucket(direct: DirectClientConfig): Promise<void> {
  const s3 = fleetS3Client(direct);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: SANDBOX_FLEET_BUCKET })).catch((error: Error) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
  } finally {
    s3.destroy();
  }
}

/**
 * The template's fleet workflow in the local executor: the map's ItemReader reads the selection
 * object from moto, and each item's `RotateClient` starts an execution of `rotation` and resolves
 * with what `startExecution.sync:2` returns once it has ended (its output parsed), or fails with
 * `States.TaskFailed` when it did not succeed, the describe output as the cause, as on AWS.
 * A leak run's `PreemptRotationInProgress` sends its entries with `sendEvents`.
 */
export function createFleetExecutor(
  template: unknown,
  rotation: LocalExecutor,
  s3: S3Client,
  timeScale: number,
  sendEvents: FleetEventSender,
): LocalExecutor {
  // The definition names the bucket by its Ref, which the executor resolves to the logical id.
  const bucketRef = resourceLogicalId(template, 'AWS::S3::Bucket', 'FleetRotation/SelectionBucket');
  // And the rotation workflow by a placeholder ARN named after its logical id.
  const rotationRef = `:stateMachine:${stateMachineLogicalId(template, 'Rotator/Workflow/StateMachine')}`;
  return LocalExecutor.fromTemplate(template, {
    handlers: {},
    stateMachineLogicalId: stateMachineLogicalId(template, 'FleetRotation/StateMachine'),
    stateMachineName: FLEET_STATE_MACHINE_NAME,
    retryIntervalScale: timeScale,
    waitTimeScale: timeScale,
    itemReaders: {
      [MAP_STATE]: async (parameters) => {
        const { Bucket, Key } = parameters as { Bucket?: unknown; Key?: unknown };
        const bucket = Bucket === bucketRef ? SANDBOX_FLEET_BUCKET : String(Bucket);
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: String(Key) }));
        const items: unknown = JSON.parse((await object.Body?.transformToString()) ?? 'null');
        if (!Array.isArray(items)) throw new Error(`s3://${bucket}/${String(Key)} is not a JSON array`);
        return items;
      },
    },
    taskHandlers: {
      [ROTATE_CLIENT_STATE]: async (parameters) => {
        const { StateMachineArn, Input } = parameters as { StateMachineArn?: unknown; Input?: unknown };
        const arn = String(StateMachineArn);
        if (arn !== rotation.stateMachineArn && !arn.endsWith(rotationRef)) {
          throw Object.assign(new Error(`State Machine Does Not Exist: '${String(StateMachineArn)}'`), {
            name: 'StepFunctions.StateMachineDoesNotExistException',
          });
        }
        const { executionArn } = rotation.startExecution({ input: Input });
        const ended = await rotation.waitForExecution(executionArn);
        const described = {
          ExecutionArn: ended.executionArn,
          StateMachineArn: ended.stateMachineArn,
          Name: ended.name,
          Status: ended.status,
          StartDate: ended.startDate.getTime(),
          StopDate: ended.stopDate?.getTime(),
          Input: Input,
          ...(ended.output === undefined ? {} : { Output: JSON.parse(ended.output) as unknown }),
          ...(ended.error === undefined ? {} : { Error: ended.error }),
          ...(ended.cause === undefined ? {} : { Cause: ended.cause }),
        };
        if (ended.status === 'SUCCEEDED') return described;
        throw Object.assign(new Error(JSON.stringify(described)), { name: 'States.TaskFailed' });
      },
      // The definition names the bus by its placeholder ARN: the world has one bus.
      [PREEMPT_STATE]: async (parameters) => {
        const { Entries } = parameters as { Entries?: FleetEventEntry[] };
        await sendEvents(Entries ?? []);
        return { Entries: (Entries ?? []).map(() => ({ EventId: 'sandbox' })), FailedEntryCount: 0 };
      },
    },
  });
}

/** An S3 client for {@link createFleetExecutor}, talking to moto directly. */
export function fleetS3Client(direct: DirectClientConfig): S3Client {
  return new S3Client({ ...direct, forcePathStyle: true });
}
