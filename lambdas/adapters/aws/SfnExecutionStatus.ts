import type { SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionStatus, ExecutionStatusPort } from '#core/ports.js';
import { awsErrorCode, wrapAwsError } from './errors.js';
import { sfnSdk } from './sdk/sfn.js';

/** Props of {@link SfnExecutionStatus}. */
export interface SfnExecutionStatusProps {
  /** Built once per container by the handler. */
  readonly client: SFNClient;
}

const STATUSES: ReadonlySet<string> = new Set<ExecutionStatus>([
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
]);

/**
 * {@link ExecutionStatusPort} over DescribeExecution. An execution Step Functions does not know
 * (`ExecutionDoesNotExist`, e.g. expired from its 90-day history) is reported as `null`; any
 * other failure is thrown (wrapped once, retryable when AWS says so), never guessed.
 */
export class SfnExecutionStatus implements ExecutionStatusPort {
  readonly #client: SFNClient;

  public constructor(props: SfnExecutionStatusProps) {
    this.#client = props.client;
  }

  public async status(executionArn: string): Promise<ExecutionStatus | null> {
    const { DescribeExecutionCommand } = await sfnSdk();
    try {
      const described = await this.#client.send(new DescribeExecutionCommand({ executionArn }));
      const status = described.status ?? '';
      // A status this code does not know yet: treat it as running, the safe side for a lock.
      return STATUSES.has(status) ? (status as ExecutionStatus) : 'RUNNING';
    } catch (error) {
      if (awsErrorCode(error) === 'ExecutionDoesNotExist') return null;
      throw wrapAwsError(error, { service: 'SFN', operation: 'DescribeExecution', resource: executionArn });
    }
  }
}
