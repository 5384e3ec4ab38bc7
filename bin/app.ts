import { existsSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from '../lib/config/DeploymentConfig.js';
import { RotatorStack } from '../lib/RotatorStack.js';

// The CDK app. The deployment config comes from `-c config=<path>`, else config/rotator.json,
// else the sample (so `npx cdk synth` works on a fresh clone). cdk-nag's AwsSolutions pack runs
// as a validation plugin: any unacknowledged finding fails `cdk synth`.
const app = new App();
const configPath =
  (app.node.tryGetContext('config') as string | undefined) ??
  (existsSync('config/rotator.json') ? 'config/rotator.json' : 'config/rotator.sample.json');
if (configPath.endsWith('rotator.sample.json')) {
  process.stderr.write('cdk: using config/rotator.sample.json (pass -c config=<path> for your own)\n');
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new RotatorStack(app, 'StytchM2MRotator', {
  config: loadDeploymentConfig(configPath),
  description: 'stytch-m2m-rotator: zero-downtime rotation of Stytch M2M client secrets',
});
app.synth();
