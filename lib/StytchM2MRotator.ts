import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Props of {@link StytchM2MRotator}. */
export interface StytchM2MRotatorProps {
  /**
   * The customer-managed key that encrypts the managed secrets, the ledger and the event bus.
   * @default - a new key with yearly automatic rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Name of the custom event bus that carries the rotation events.
   * @default 'stytch-m2m-rotator'
   */
  readonly eventBusName?: string;
  /**
   * What happens to the key when the stack is deleted. Secrets encrypted with it become
   * unreadable once it is gone, so it is retained by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly keyRemovalPolicy?: RemovalPolicy;
}

const EVENT_BUS_NAME_PATTERN = /^[A-Za-z0-9._-]{1,256}$/;

/**
 * The rotation service of stytch-m2m-rotator: everything needed to rotate Stytch M2M client
 * secrets without downtime, in one construct usable by any CDK app.
 *
 * Today it holds the shared foundations (the encryption key and the event bus); the rotation
 * state machine, ledger, triggers and monitoring are added to it (issue 5).
 */
export class StytchM2MRotator extends Construct {
  /** The key that encrypts the managed secrets, the ledger and the events. */
  public readonly encryptionKey: kms.IKey;
  /** The custom event bus for `Rotation *`, `Consumer Health Reported` and `Secret Leak Detected`. */
  public readonly eventBus: events.EventBus;

  public constructor(scope: Construct, id: string, props: StytchM2MRotatorProps = {}) {
    super(scope, id);
    validateProps(props);

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'EncryptionKey', {
        description: 'stytch-m2m-rotator: managed client secrets, ledger and events',
        enableKeyRotation: true,
        rotationPeriod: Duration.days(365),
        removalPolicy: props.keyRemovalPolicy ?? RemovalPolicy.RETAIN,
      });

    this.eventBus = new events.EventBus(this, 'EventBus', {
      eventBusName: props.eventBusName ?? 'stytch-m2m-rotator',
      kmsKey: this.encryptionKey,
      description: 'Rotation lifecycle, consumer health reports and leak alerts',
    });
  }
}

/** Checks every prop and throws once, listing every problem. */
function validateProps(props: StytchM2MRotatorProps): void {
  const problems: string[] = [];
  if (props.eventBusName !== undefined && !EVENT_BUS_NAME_PATTERN.test(props.eventBusName)) {
    problems.push(`eventBusName "${props.eventBusName}" must be 1-256 characters of A-Z a-z 0-9 . _ -`);
  }
  if (props.eventBusName === 'default') {
    problems.push('eventBusName must not be "default": the rotator needs its own bus');
  }
  if (props.encryptionKey !== undefined && props.keyRemovalPolicy !== undefined) {
    problems.push(
      'keyRemovalPolicy applies only to a key the construct creates; drop it or drop encryptionKey',
    );
  }
  if (problems.length > 0) {
    throw new Error(`Invalid StytchM2MRotator props:\n- ${problems.join('\n- ')}`);
  }
}
