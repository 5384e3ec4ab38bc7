import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { StytchM2MRotator } from './StytchM2MRotator.js';

/** Props of {@link RotatorStack}. */
export interface RotatorStackProps extends StackProps {
  /**
   * Name of the rotator's event bus.
   * @default 'stytch-m2m-rotator'
   */
  readonly eventBusName?: string;
}

/** The deployable stack: one {@link StytchM2MRotator} and the outputs a CLI and consumers need. */
export class RotatorStack extends Stack {
  public readonly rotator: StytchM2MRotator;

  public constructor(scope: Construct, id: string, props: RotatorStackProps = {}) {
    super(scope, id, props);
    this.rotator = new StytchM2MRotator(this, 'Rotator', {
      ...(props.eventBusName === undefined ? {} : { eventBusName: props.eventBusName }),
    });
    new CfnOutput(this, 'EventBusName', {
      value: this.rotator.eventBus.eventBusName,
      description: 'Event bus for Rotation Pending, Consumer Health Reported and Secret Leak Detected',
    });
    new CfnOutput(this, 'EncryptionKeyArn', {
      value: this.rotator.encryptionKey.keyArn,
      description: 'KMS key that encrypts the managed secrets (consumers need kms:Decrypt on it)',
    });
  }
}
