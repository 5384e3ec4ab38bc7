import type { SFNClient } from '@aws-sdk/client-sfn';
import type { WorkflowStarterPort } from '#core/deps.js';
import type { WorkflowInput } from '#core/workflow.js';
import { awsErrorCode, wrapAwsError } from './errors.js';
import { sfnSdk } from './sdk/sfn.js';

/** Props of {@link SfnWorkflowStarter}. */
export interface SfnWorkflowStarterProps {
  /** Built once per container by the handler. */
  readonly client: SFNClient;
  readonly stateMachineArn: string;
}

/**
 * {@link WorkflowStarterPort} over StartExecution. Execution names are unique per state machine
 * (90 days for Standard workflows), so a name derived from the event that asked for the rotation
 * makes a redelivered event start nothing: AWS returns the running execution for the same name and
 * input, and `ExecutionAlreadyExists` once it has ended, which is reported as already started.
 */
export class SfnWorkflowStarter implements WorkflowStarterPort {
  readonly #props: SfnWorkflowStarterProps;

  public constructor(props: SfnWorkflowStarterProps) {
    this.#props = props;
  }

  public async start(
    name: string,
    input: WorkflowInput,
  ): Promise<{ executionArn: string; alreadyStarted: boolean }> {
    const { client, stateMachineArn } = this.#props;
    const { StartExecutionCommand } = await sfnSdk();
    try {
      const started = await client.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return {
        executionArn: started.executionArn ?? executionArnOf(stateMachineArn, name),
        alreadyStarted: false,
      };
    } catch (error) {
      if (awsErrorCode(error) === 'ExecutionAlreadyExists') {
        return { executionArn: executionArnOf(stateMachineArn, name), alreadyStarted: true };
      }
      throw wrapAwsError(error, {
        service: 'SFN',
        operation: 'StartExecution',
        resource: `${stateMachineArn}/${name}`,
      });
    }
  }

  /**
   * Starts a new execution under a name Step Functions chooses, so every call starts one: for an
   * operator's request, which is a new rotation each time (a redelivered event uses {@link start}).
   * @returns the execution's ARN
   */
  public async startNew(input: WorkflowInput): Promise<string> {
    const { client, stateMachineArn } = this.#props;
    const { StartExecutionCommand } = await sfnSdk();
    try {
      const started = await client.send(
        new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
      );
      return started.executionArn ?? '';
    } catch (error) {
      throw wrapAwsError(error, { service: 'SFN', operation: 'StartExecution', resource: stateMachineArn });
    }
  }
}

/** `arn:…:stateMachine:<sm>` → `arn:…:execution:<sm>:<name>`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
