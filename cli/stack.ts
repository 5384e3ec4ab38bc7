import { type AwsClients, CloudFormationStackOutputs, StackNotFoundError } from '#adapters/aws/index.js';
import { CliError } from './errors.js';
import { RESOURCES } from './resources.js';

/** The stack outputs the CLI reads, and the variable each one stands in for (from {@link RESOURCES}). */
export const OUTPUT_VARIABLES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.values(RESOURCES).flatMap((spec) => (spec.output === undefined ? [] : [[spec.output, spec.env]])),
);

/**
 * The deployment's resources from its CloudFormation stack's outputs, as the variables they stand
 * in for. A variable already set wins (and a flag wins over both), so one value can be overridden.
 */
export async function stackEnv(
  aws: Pick<AwsClients, 'cloudFormation'>,
  stackName: string,
): Promise<Record<string, string>> {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName) && !stackName.startsWith('arn:')) {
    throw new CliError(`--stack "${stackName.slice(0, 140)}" is not a stack name`, { code: 'usage' });
  }
  let outputs: Record<string, string>;
  try {
    outputs = await new CloudFormationStackOutputs({ client: aws.cloudFormation }).outputs(stackName);
  } catch (error) {
    if (error instanceof StackNotFoundError) {
      throw new CliError(`the stack ${stackName} does not exist here (region and account as configured)`, {
        code: 'missing_stack',
        cause: error,
      });
    }
    throw error;
  }
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(outputs)) {
    const variable = OUTPUT_VARIABLES[key];
    if (variable !== undefined) env[variable] = value;
  }
  return env;
}
