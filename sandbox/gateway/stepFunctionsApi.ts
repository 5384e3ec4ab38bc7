/**
 * The Step Functions API (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Action>`) served from the
 * local executor: request fields as the SDK sends them, answers as AWS gives them.
 */
import { type ExecutionStatus, type LocalExecutor, LocalSfnApiError, page } from '../localExecutor/index.js';
import { AwsJsonError } from './awsJson.js';

const EXECUTION_STATUSES = new Set([
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
]);

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new AwsJsonError('ValidationException', `1 validation error detected: '${field}' must not be null`);
  }
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsJsonError('ValidationException', `'${field}' must be a string`);
  return value;
}

function optionalInteger(body: Record<string, unknown>, field: string, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new AwsJsonError('ValidationException', `'${field}' must be an integer from 0 to ${max}`);
  }
  return value;
}

/** The executor of state machine `arn`. */
function byStateMachine(executors: readonly LocalExecutor[], arn: string): LocalExecutor {
  const executor = executors.find((candidate) => candidate.stateMachineArn === arn);
  if (executor === undefined) {
    throw new AwsJsonError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  }
  return executor;
}

/**
 * The executor of execution `arn` (`arn:aws:states:<region>:<account>:execution:<machine>:<name>`);
 * the first when none matches, which then answers ExecutionDoesNotExist as AWS does.
 */
function byExecution(executors: readonly LocalExecutor[], arn: string): LocalExecutor {
  const machine = arn.split(':')[6];
  return (executors.find((candidate) => candidate.stateMachineName === machine) ??
    executors[0]) as LocalExecutor;
}

/** Answers a task token with whichever executor issued it (each knows only its own tokens). */
function answerToken(executors: readonly LocalExecutor[], answer: (executor: LocalExecutor) => void): void {
  let unknown: unknown;
  for (const executor of executors) {
    try {
      answer(executor);
      return;
    } catch (error) {
      if (
        !(error instanceof LocalSfnApiError) ||
        (error.name !== 'TaskDoesNotExist' && error.name !== 'InvalidToken')
      ) {
        throw error;
      }
      unknown ??= error;
    }
  }
  throw unknown;
}

/** The actions served; anything else is `UnknownOperationException`, as AWS answers. */
export const STEP_FUNCTIONS_ACTIONS = [
  'StartExecution',
  'DescribeExecution',
  'ListExecutions',
  'GetExecutionHistory',
  'StopExecution',
  'SendTaskSuccess',
  'SendTaskFailure',
  'SendTaskHeartbeat',
  'DescribeStateMachine',
  'ListStateMachines',
] as const;

/** Runs one Step Functions action against the executor; throws {@link AwsJsonError} or the executor's API errors. */
export function callStepFunctions(
  executors: readonly LocalExecutor[],
  action: string,
  body: Record<string, unknown>,
  createdAt: Date,
): unknown {
  switch (action) {
    case 'StartExecution': {
      const executor = byStateMachine(executors, requiredString(body, 'stateMachineArn'));
      const inputText = optionalString(body, 'input') ?? '{}';
      let input: unknown;
      try {
        input = JSON.parse(inputText);
      } catch {
        throw new AwsJsonError(
          'InvalidExecutionInput',
          'Invalid State Machine Execution Input: the input is not JSON',
        );
      }
      const name = optionalString(body, 'name');
      return executor.startExecution({ input, ...(name === undefined ? {} : { name }) });
    }
    case 'DescribeExecution':
      return byExecution(executors, requiredString(body, 'executionArn')).describeExecution(
        requiredString(body, 'executionArn'),
      );
    case 'ListExecutions': {
      const arn = optionalString(body, 'stateMachineArn');
      const executor = arn === undefined ? (executors[0] as LocalExecutor) : byStateMachine(executors, arn);
      const statusFilter = optionalString(body, 'statusFilter');
      if (statusFilter !== undefined && !EXECUTION_STATUSES.has(statusFilter)) {
        throw new AwsJsonError(
          'ValidationException',
          `'statusFilter' must be one of ${[...EXECUTION_STATUSES]}`,
        );
      }
      const executions = executor.listExecutions(
        statusFilter === undefined ? {} : { statusFilter: statusFilter as ExecutionStatus },
      );
      // AWS's default page for ListExecutions is 100.
      const { items, nextToken } = page(
        executions,
        optionalInteger(body, 'maxResults', 1000) || 100,
        optionalString(body, 'nextToken'),
      );
      return { executions: items, ...(nextToken === undefined ? {} : { nextToken }) };
    }
    case 'GetExecutionHistory': {
      const maxResults = optionalInteger(body, 'maxResults', 1000);
      const nextToken = optionalString(body, 'nextToken');
      const executionArn = requiredString(body, 'executionArn');
      return byExecution(executors, executionArn).getExecutionHistory(executionArn, {
        reverseOrder: body.reverseOrder === true,
        includeExecutionData: body.includeExecutionData !== false,
        ...(maxResults === undefined || maxResults === 0 ? {} : { maxResults }),
        ...(nextToken === undefined ? {} : { nextToken }),
      });
    }
    case 'StopExecution': {
      const error = optionalString(body, 'error');
      const cause = optionalString(body, 'cause');
      const executionArn = requiredString(body, 'executionArn');
      return byExecution(executors, executionArn).stopExecution(executionArn, {
        ...(error === undefined ? {} : { error }),
        ...(cause === undefined ? {} : { cause }),
      });
    }
    case 'SendTaskSuccess':
      answerToken(executors, (executor) =>
        executor.sendTaskSuccess(requiredString(body, 'taskToken'), requiredString(body, 'output')),
      );
      return {};
    case 'SendTaskFailure':
      answerToken(executors, (executor) =>
        executor.sendTaskFailure(
          requiredString(body, 'taskToken'),
          optionalString(body, 'error'),
          optionalString(body, 'cause'),
        ),
      );
      return {};
    case 'SendTaskHeartbeat':
      answerToken(executors, (executor) => executor.sendTaskHeartbeat(requiredString(body, 'taskToken')));
      return {};
    case 'DescribeStateMachine': {
      const executor = byStateMachine(executors, requiredString(body, 'stateMachineArn'));
      return {
        stateMachineArn: executor.stateMachineArn,
        name: executor.stateMachineName,
        status: 'ACTIVE',
        type: 'STANDARD',
        definition: JSON.stringify(executor.definition),
        roleArn: `arn:aws:iam::123456789012:role/${executor.stateMachineName}Role`,
        creationDate: createdAt,
      };
    }
    case 'ListStateMachines':
      return {
        stateMachines: executors.map((executor) => ({
          stateMachineArn: executor.stateMachineArn,
          name: executor.stateMachineName,
          type: 'STANDARD',
          creationDate: createdAt,
        })),
      };
    default:
      throw new AwsJsonError(
        'UnknownOperationException',
        `The sandbox does not serve AWSStepFunctions.${action}`,
      );
  }
}
