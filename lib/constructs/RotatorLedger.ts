import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BY_FLEET_RUN_INDEX, BY_FLEET_RUN_PROJECTED } from '../../lambdas/adapters/aws/ledger/ledgerTable.js';

/** Props of {@link RotatorLedger}. */
export interface RotatorLedgerProps {
  /**
   * The customer-managed key that encrypts the ledger and the fingerprint key (and the managed
   * secrets, which `rotator apply` creates with it).
   * @default - a new key with yearly automatic rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the key, the ledger and the secrets when the stack is deleted, for all of
   * them (`DESTROY` also turns the ledger's deletion protection off: a stack that leaves nothing).
   * @default - the ledger (deletion-protected) and the key that encrypts it are kept
   * (`RETAIN`); the fingerprint key is kept unless the deploy that created it fails
   * (`RETAIN_ON_UPDATE_OR_DELETE`), see {@link LEDGER_REMOVAL}
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Where the resources are created. {@link StytchM2MRotator} passes itself: its resources were
   * its own children before it was split by concern, so a new logical id would replace them.
   * @default - this construct
   */
  readonly resourceScope?: Construct;
}

/**
 * What a deleted stack leaves of the ledger and its keys (docs/deploying.md, "What a deleted stack
 * leaves"). The ledger is the audit trail: kept, and deletion-protected. It is always `RETAIN`,
 * not `RETAIN_ON_UPDATE_OR_DELETE`: deletion protection would make the rollback of a failed first
 * deploy fail on deleting it; kept, it is an empty table with a generated name, so a retry creates
 * another. The key encrypts it (a table whose key is gone becomes unreadable), so it is kept as
 * long. The fingerprint key goes with the fingerprints the kept ledger holds. The managed secrets
 * are not the stack's: `rotator apply` creates them, and they outlive it. (A stack from before the
 * registry held them as `ManagedSecret<n>`, `RETAIN_ON_UPDATE_OR_DELETE`: an update that drops
 * them from the template leaves them in place, docs/deploying.md.)
 */
export const LEDGER_REMOVAL = {
  ledger: RemovalPolicy.RETAIN,
  encryptionKey: RemovalPolicy.RETAIN,
  fingerprintKey: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
} as const;

/**
 * The rotator's state and keys: the customer-managed key, the ledger table (the registry of managed
 * clients, one lock item per client, one item per rotation) and the fingerprint HMAC key. Nothing
 * per client: a fleet's size does not show in the template.
 */
export class RotatorLedger extends Construct {
  /** The key that encrypts the ledger and the secrets (the given one, else a new one). */
  public readonly encryptionKey: kms.IKey;
  /** The ledger: one lock item per client, one item per rotation, the fingerprint index. */
  public readonly table: dynamodb.Table;
  /** The HMAC key of secret fingerprints (ledger entries, leak reports). */
  public readonly fingerprintKey: secretsmanager.Secret;

  public constructor(scope: Construct, id: string, props: RotatorLedgerProps = {}) {
    super(scope, id);
    const within = props.resourceScope ?? this;
    const given = props.removalPolicy;
    this.encryptionKey =
      props.encryptionKey ?? RotatorLedger.createEncryptionKey(within, given ?? LEDGER_REMOVAL.encryptionKey);
    this.table = new dynamodb.Table(within, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Webhook delivery records (idempotency per X-GitHub-Delivery) expire; rotations never do.
      timeToLiveAttribute: 'ttl',
      removalPolicy: given ?? LEDGER_REMOVAL.ledger,
      // Only a stack asked to leave nothing behind may delete it.
      deletionProtection: given !== RemovalPolicy.DESTROY,
    });
    this.table.addLocalSecondaryIndex({
      indexName: 'byStartedAt',
      sortKey: { name: 'startedAt', type: dynamodb.AttributeType.STRING },
    });
    // A fleet run's rotation records, for its progress (ledgerTable.ts BY_FLEET_RUN_INDEX).
    this.table.addGlobalSecondaryIndex({
      indexName: BY_FLEET_RUN_INDEX,
      partitionKey: { name: 'fleetRun', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'clientId', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...BY_FLEET_RUN_PROJECTED],
    });
    this.fingerprintKey = this.createFingerprintKey(within, given ?? LEDGER_REMOVAL.fingerprintKey);
  }

  /**
   * The key {@link RotatorLedger} creates when it is given none, as `<scope>/EncryptionKey`: for a
   * composer that needs the key before the ledger ({@link StytchM2MRotator} encrypts its bus with
   * it, and creates the bus before the ledger so the key policy keeps its statement order).
   */
  public static createEncryptionKey(
    scope: Construct,
    removalPolicy: RemovalPolicy = LEDGER_REMOVAL.encryptionKey,
  ): kms.Key {
    return new kms.Key(scope, 'EncryptionKey', {
      description: 'stytch-m2m-rotator: managed client secrets, ledger and events',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      removalPolicy,
    });
  }

  private createFingerprintKey(within: Construct, removalPolicy: RemovalPolicy): secretsmanager.Secret {
    const fingerprintKey = new secretsmanager.Secret(within, 'FingerprintKey', {
      description:
        'stytch-m2m-rotator: HMAC key of the fingerprints the ledger keeps of managed secrets and leak reports carry',
      encryptionKey: this.encryptionKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    Validations.of(fingerprintKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the fingerprint key would orphan every fingerprint in the ledger (leak reports could no longer ' +
        'name a client); it never authenticates anything, and only the rotator and its operators can read it.',
    });
    return fingerprintKey;
  }
}
