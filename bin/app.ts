import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RotatorStack } from '../lib/RotatorStack.js';

// The CDK app. cdk-nag's AwsSolutions pack runs as a validation plugin: any unacknowledged
// finding fails `cdk synth`.
const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
new RotatorStack(app, 'StytchM2MRotator', {
  description: 'stytch-m2m-rotator: zero-downtime rotation of Stytch M2M client secrets',
});
app.synth();
