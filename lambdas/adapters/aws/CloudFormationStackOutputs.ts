import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AwsAdapterError, wrapAwsError } from './errors.js';

/** Props of {@link CloudFormationStackOutputs}. */
export interface CloudFormationStackOutputsProps {
  /** Built once per run by the caller (the CLI builds one per command). */
  readonly client: CloudFormationClient;
}

/** CloudFormation knows no stack of that name (in the region and account the client uses). Permanent. */
export class StackNotFoundError extends AwsAdapterError {
  public readonly stackName: string;

  public constructor(stackName: string, options: ErrorOptions = {}) {
    super(`CloudFormation has no stack ${stackName}`, options);
    this.name = 'StackNotFoundError';
    this.stackName = stackName;
  }
}

/** A deployed stack's outputs, read with DescribeStacks. */
export class CloudFormationStackOutputs {
  readonly #client: CloudFormationClient;

  public constructor(props: CloudFormationStackOutputsProps) {
    this.#client = props.client;
  }

  /**
   * The outputs of `stackName` (a name or a stack ARN), by output key.
   * @throws {StackNotFoundError} when the stack does not exist
   * @throws {AwsServiceError} when the call failed otherwise
   */
  public async outputs(stackName: string): Promise<Record<string, string>> {
    try {
      const { Stacks } = await this.#client.send(new DescribeStacksCommand({ StackName: stackName }));
      const outputs: Record<string, string> = {};
      for (const output of Stacks?.[0]?.Outputs ?? []) {
        if (output.OutputKey !== undefined && output.OutputValue !== undefined) {
          outputs[output.OutputKey] = output.OutputValue;
        }
      }
      return outputs;
    } catch (error) {
      // CloudFormation answers a missing stack with a ValidationError "Stack with id … does not exist".
      if (error instanceof Error && /does not exist/i.test(error.message)) {
        throw new StackNotFoundError(stackName, { cause: error });
      }
      throw wrapAwsError(error, {
        service: 'CloudFormation',
        operation: 'DescribeStacks',
        resource: stackName,
      });
    }
  }
}
