import { existsSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { forTerminal } from '../cli/terminalText.js';
import { DeploymentConfigNotGivenError, selectDeploymentConfig } from '../lib/config/configSelection.js';
import {
  type DeploymentConfig,
  DeploymentConfigError,
  loadDeploymentConfig,
} from '../lib/config/DeploymentConfig.js';
import { RotatorStack } from '../lib/RotatorStack.js';

// The CDK app. The deployment config comes from `-c config=<path>`, else config/rotator.json;
// with neither it stops (never the sample: a forgotten config would deploy made-up clients).
// cdk-nag's AwsSolutions pack runs as a validation plugin: any unacknowledged finding fails `cdk synth`.
const app = new App();
const { path: configPath, allowSample } = selectionOrExit();
const config = configOrExit(configPath);
if (config.sample === true && !allowSample) {
  process.stderr.write(
    `cdk: ${configPath} is the sample: it synthesizes, CloudFormation refuses to deploy it (-c allowSample=true to deploy it on purpose)\n`,
  );
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new RotatorStack(app, 'StytchM2MRotator', {
  config,
  allowSample,
  description: 'stytch-m2m-rotator: zero-downtime rotation of Stytch M2M client secrets',
});
app.synth();

/** Which config to synthesize; with none given, how to give one on stderr and exit 2. */
function selectionOrExit(): ReturnType<typeof selectDeploymentConfig> {
  try {
    return selectDeploymentConfig((key) => app.node.tryGetContext(key), existsSync);
  } catch (error) {
    if (!(error instanceof DeploymentConfigNotGivenError)) throw error;
    process.stderr.write(`cdk: ${error.message}\n`);
    process.exit(2);
  }
}

/**
 * The deployment config, or, when it is invalid, every problem with its path on stderr and exit 2
 * (a setup problem, not a stack trace from zod); `rotator config validate <file>` prints the same list.
 */
function configOrExit(path: string): DeploymentConfig {
  try {
    return loadDeploymentConfig(path);
  } catch (error) {
    if (!(error instanceof DeploymentConfigError)) throw error;
    const count = error.issues.length;
    process.stderr.write(
      `cdk: ${path} is not a valid deployment config (${count} problem${count === 1 ? '' : 's'}):\n` +
        error.issues.map((issue) => `  ${forTerminal(issue, 500)}\n`).join(''),
    );
    process.exit(2);
  }
}
