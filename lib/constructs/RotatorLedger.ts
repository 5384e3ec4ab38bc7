import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SecretPrefixSchema } from '../../lambdas/core/model.js';
import type { ManagedClient } from '../config/DeploymentConfig.js';

/** Props of {@link RotatorLedger}. */
export interface RotatorLedgerProps {
  /** The managed clients: each gets a secret named `<secretPrefix>/<clientId>`. */
  readonly clients: readonly Pick<ManagedClient, 'clientId' | 'kind'>[];
  /** The managed secrets' name prefix. */
  readonly secretPrefix: string;
  /**
   * The customer-managed key that encrypts the ledger, the managed secrets and the fingerprint key.
   * @default - a new key with yearly automatic rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the key, the ledger and the secrets when the stack is deleted, for all of
   * them (`DESTROY` also turns the ledger's deletion protection off: a stack that leaves nothing).
   * @default - the ledger (deletion-protected) and the key that encrypts it are kept
   * (`RETAIN`); the managed secrets and the fingerprint key are kept unless the deploy that
   * created them fails (`RETAIN_ON_UPDATE_OR_DELETE`), see {@link LEDGER_REMOVAL}
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Where the resources are created. {@link StytchM2MRotator} passes itself: its resources were
   * its own children before it was split by concern, and the managed secrets are retained with
   * fixed names, so a new logical id would fail an update on "already exists".
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
 * long. The managed secrets hold the live credentials consumers use once enrolled, and only a
 * placeholder before: kept on delete, gone with a failed first deploy. The fingerprint key goes
 * with the fingerprints the kept ledger holds.
 */
export const LEDGER_REMOVAL = {
  ledger: RemovalPolicy.RETAIN,
  encryptionKey: RemovalPolicy.RETAIN,
  managedSecrets: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
  fingerprintKey: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
} as const;

/**
 * The rotator's state and keys: the customer-managed key, the ledger table (one lock item per
 * client, one item per rotation), one secret per managed client and the fingerprint HMAC key.
 */
export class RotatorLedger extends Construct {
  /** The key that encrypts the ledger and the secrets (the given one, else a new one). */
  public readonly encryptionKey: kms.IKey;
  /** The ledger: one lock item per client, one item per rotation, the fingerprint index. */
  public readonly table: dynamodb.Table;
  /** One secret per managed client, by client id. */
  public readonly managedSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** The HMAC key of secret fingerprints (ledger entries, leak reports). */
  public readonly fingerprintKey: secretsmanager.Secret;

  public constructor(scope: Construct, id: string, props: RotatorLedgerProps) {
    super(scope, id);
    validateProps(props);
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
    this.managedSecrets = this.createManagedSecrets(within, props, given ?? LEDGER_REMOVAL.managedSecrets);
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

  private createManagedSecrets(
    within: Construct,
    props: RotatorLedgerProps,
    removalPolicy: RemovalPolicy,
  ): Map<string, secretsmanager.Secret> {
    const secrets = new Map<string, secretsmanager.Secret>();
    props.clients.forEach((client, index) => {
      const secret = new secretsmanager.Secret(within, `ManagedSecret${index}`, {
        // A fixed name, unlike every other kept resource: consumers read their secret by this name
        // (docs/consumers.md), and `rotator register` names its clients' secrets the same way.
        secretName: `${props.secretPrefix}/${client.clientId}`,
        description: `Stytch ${client.kind} client ${client.clientId}: AWSCURRENT is what consumers use`,
        encryptionKey: this.encryptionKey,
        // A placeholder until the client is enrolled: never the real secret, which must not be in
        // the template. StartRotation refuses a client whose AWSCURRENT is not a managed value.
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ enrolled: false }),
          generateStringKey: 'placeholder',
        },
        removalPolicy,
      });
      secrets.set(client.clientId, secret);
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          "This secret is rotated by the rotator's own Step Functions workflow (schedules per client, leak " +
          'alerts, the CLI), not by a Secrets Manager rotation Lambda: Stytch issues the next secret, so ' +
          'Secrets Manager cannot generate it.',
      });
    });
    return secrets;
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

/** Checks every prop and throws once, listing every problem. */
function validateProps(props: RotatorLedgerProps): void {
  const problems: string[] = [];
  if (!Array.isArray(props.clients)) problems.push('clients is required');
  const prefix = props.secretPrefix;
  if (prefix === undefined || prefix === null) {
    problems.push('secretPrefix is required');
  } else if (!Token.isUnresolved(prefix)) {
    const parsed = SecretPrefixSchema.safeParse(prefix);
    if (!parsed.success) {
      problems.push(`secretPrefix "${prefix}" ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    }
  }
  // Two clients with one id would be two secrets with one name: CloudFormation fails only at deploy.
  const seen = new Map<string, number>();
  (Array.isArray(props.clients) ? props.clients : []).forEach((client, index) => {
    const first = seen.get(client.clientId);
    if (first !== undefined) {
      problems.push(`clients[${index}].clientId "${client.clientId}" is already listed at clients[${first}]`);
    } else {
      seen.set(client.clientId, index);
    }
  });
  if (problems.length > 0) throw new Error(`Invalid RotatorLedger props:\n- ${problems.join('\n- ')}`);
}
