import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CliError } from './errors.js';
import type { CliIo } from './io.js';
import { awsClientConfig, RESOURCES } from './resources.js';

/** The stack outputs the CLI reads, and the variable each one stands in for (from {@link RESOURCES}). */
export const OUTPUT_VARIABLES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.values(RESOURCES).flatMap((spec) => (spec.output === undefined ? [] : [[spec.output, spec.env]])),
);

/**
 * The deployment's resources from its CloudFormation stack's outputs, as the variables they stand
 * in for. A variable already set wins (and a flag wins over both), so one value can be overridden.
 */
export async function stackEnv(io: CliIo, stackName: string): Promise<Record<string, string>> {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName) && !stackName.startsWith('arn:')) {
    throw new CliError(`--stack "${stackName.slice(0, 140)}" is not a stack name`, { code: 'usage' });
  }
  const cloudFormation = new CloudFormationClient(awsClientConfig(io));
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Stacks?.[0]?.Outputs ?? [];
    const env: Record<string, string> = {};
    for (const output of outputs) {
      const variable = output.OutputKey === undefined ? undefined : OUTPUT_VARIABLES[output.OutputKey];
      if (variable !== undefined && output.OutputValue !== undefined) env[variable] = output.OutputValue;
    }
    return env;
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "does not exist".
    if (error instanceof Error && /does not exist/i.test(error.message)) {
      throw new CliError(`the stack ${stackName} does not exist here (region and account as configured)`, {
        code: 'missing_stack',
        cause: error,
      });
    }
    throw error;
  } finally {
    cloudFormation.destroy();
  }
}
