import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  type ListExecutionsCommandOutput,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type FleetRunInput, FleetRunInputSchema, fleetSelectionKey } from '#core/fleetRotation.js';
import { parseJsonOrUndefined } from '#core/json.js';
import { wrapAwsError } from './errors.js';

/** Props of {@link FleetRunReader}. */
export interface FleetRunReaderProps {
  readonly sfn: SFNClient;
  /** The fleet workflow (stack output FleetStateMachineArn). */
  readonly stateMachineArn: string;
}

/** Props of {@link FleetRuns}: a reader's, and the bucket a run's selection is written to. */
export interface FleetRunsProps extends FleetRunReaderProps {
  readonly s3: S3Client;
  /** The fleet bucket (stack output FleetBucketName). */
  readonly bucket: string;
}

/** A fleet run as Step Functions describes it; `input` is null when it is not a fleet input we wrote. */
export interface FleetRunDescription {
  readonly fleetRun: string;
  readonly executionArn: string;
  readonly status: string;
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly input: FleetRunInput | null;
  readonly error?: string;
  readonly cause?: string;
}

/**
 * Fleet runs as they are read: the fleet workflow's executions, each named after its run. Reading
 * needs no bucket, so `status --fleet` works where only the fleet workflow is known.
 */
export class FleetRunReader {
  readonly #props: FleetRunReaderProps;

  public constructor(props: FleetRunReaderProps) {
    this.#props = props;
  }

  /** The run of execution `executionArn`. */
  public async describe(executionArn: string): Promise<FleetRunDescription> {
    try {
      const described = await this.#props.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const parsed = FleetRunInputSchema.safeParse(parseJsonOrUndefined(described.input));
      return {
        fleetRun: described.name ?? executionArn.split(':').at(-1) ?? executionArn,
        executionArn,
        status: described.status ?? 'UNKNOWN',
        startDate: described.startDate ?? new Date(0),
        ...(described.stopDate === undefined ? {} : { stopDate: described.stopDate }),
        input: parsed.success ? parsed.data : null,
        ...(described.error === undefined ? {} : { error: described.error }),
        ...(described.cause === undefined ? {} : { cause: described.cause }),
      };
    } catch (error) {
      throw wrapAwsError(error, { service: 'SFN', operation: 'DescribeExecution', resource: executionArn });
    }
  }

  /** The latest `limit` runs, newest first. */
  public async latest(limit: number): Promise<readonly FleetRunDescription[]> {
    const { sfn, stateMachineArn } = this.#props;
    let listed: ListExecutionsCommandOutput;
    try {
      listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: limit }));
    } catch (error) {
      throw wrapAwsError(error, { service: 'SFN', operation: 'ListExecutions', resource: stateMachineArn });
    }
    const arns = (listed.executions ?? []).flatMap((execution) =>
      execution.executionArn === undefined ? [] : [execution.executionArn],
    );
    return Promise.all(arns.slice(0, limit).map((arn) => this.describe(arn)));
  }
}

/**
 * Fleet runs, started and read: the selection object in the fleet bucket and the fleet workflow's
 * executions. A run's execution is named after it, and its selection is `selections/<run>.json`.
 */
export class FleetRuns extends FleetRunReader {
  readonly #props: FleetRunsProps;

  public constructor(props: FleetRunsProps) {
    super(props);
    this.#props = props;
  }

  /**
   * Writes the selection (a JSON array of `{clientId}`), then starts the run with `input` pointing
   * at it. The selection is written first: a run never starts without its items.
   */
  public async start(
    fleetRun: string,
    clientIds: readonly string[],
    input: Omit<FleetRunInput, 'selection'>,
  ): Promise<{ executionArn: string; input: FleetRunInput }> {
    const { s3, sfn, bucket, stateMachineArn } = this.#props;
    const key = fleetSelectionKey(fleetRun);
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: JSON.stringify(clientIds.map((clientId) => ({ clientId }))),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      throw wrapAwsError(error, { service: 'S3', operation: 'PutObject', resource: `${bucket}/${key}` });
    }
    const runInput: FleetRunInput = { ...input, selection: { bucket, key, count: clientIds.length } };
    try {
      const started = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name: fleetRun, input: JSON.stringify(runInput) }),
      );
      return { executionArn: started.executionArn ?? '', input: runInput };
    } catch (error) {
      throw wrapAwsError(error, { service: 'SFN', operation: 'StartExecution', resource: fleetRun });
    }
  }
}
