import { CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCES } from '../../lambdas/core/events.js';
import { REVOCATION_DOCUMENT_KEY } from '../../lambdas/core/tokenRevocation.js';
import { tokenRevocationPublisherEnvironment } from '../../lambdas/wiring/tokenRevocationEnvironment.js';
import { RotatorFunction } from '../RotatorFunction.js';

/** The operator's request event (`rotator revoke-tokens`). */
export const TOKEN_REVOCATION_REQUEST_DETAIL_TYPE = 'Token Revocation Requested';

/** Props of {@link TokenRevocations}. */
export interface TokenRevocationsProps {
  /** The rotator's bus: the rule listens on it, the publisher announces `Client Tokens Revoked` on it. */
  readonly eventBus: events.IEventBus;
  /**
   * Where the publisher's failed invocations end, after Lambda's retries.
   * @default - none (the failure is in the function's logs only)
   */
  readonly asyncFailureQueue?: sqs.IQueue;
  /**
   * Where the rule's undeliverable events end.
   * @default - none
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * What happens to the bucket when the stack is deleted. `DESTROY` also empties it first (a
   * custom resource), since CloudFormation cannot delete a bucket that holds the document.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE - kept unless the deploy that created it
   * fails: deleting a stack must not fail on a non-empty bucket, and its name is CloudFormation's
   * (a retry or a new stack does not collide with it)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Log retention of the publisher.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the publisher's log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (see {@link RotatorFunction})
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Token revocation (issue 16, docs/token-revocation.md): the bucket holding the one revocation
 * document resource servers poll, the managed policy that lets them read it (GetObject on that one
 * key), and the TokenRevocationPublisher behind a rule for a leak rotation's `Rotation Completed`
 * (from the rotator) and an operator's `Token Revocation Requested` (from the operator source).
 */
export class TokenRevocations extends Construct {
  /** The bucket of the document (SSE-S3, no public access, TLS only, no versioning). */
  public readonly bucket: s3.Bucket;
  /** The document's object key. */
  public readonly documentKey: string = REVOCATION_DOCUMENT_KEY;
  /** Attach to a resource server's role: s3:GetObject on the document, nothing else. */
  public readonly readerPolicy: iam.ManagedPolicy;
  /** Merges records into the document and announces `Client Tokens Revoked`. */
  public readonly publisher: RotatorFunction;
  /** The rules that run the publisher: a leak rotation's completion, an operator's request. */
  public readonly rules: readonly events.Rule[];

  public constructor(scope: Construct, id: string, props: TokenRevocationsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // The document names client ids and times, no secret: S3's own key is enough, and readers
      // need no grant on the rotator's KMS key (a resource server in any account or language).
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Off: the document is rewritten whole on every revocation and its records expire within
      // the hour; old versions would keep expired records for nothing. Concurrency is the ETag's
      // (conditional writes), not a version's.
      versioned: false,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    acknowledgeBucketFindings(this.bucket);
    this.readerPolicy = new iam.ManagedPolicy(this, 'ReaderPolicy', {
      description:
        'stytch-m2m-rotator resource servers: read the token revocation document (s3:GetObject on that one key)',
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadTheRevocationDocument',
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects(REVOCATION_DOCUMENT_KEY)],
        }),
      ],
    });
    this.publisher = this.createPublisher(props);
    // The empty document on create, written by the publisher (CloudFormation invokes it directly):
    // a fail-closed verifier then has a document before the first revocation. Its properties
    // never change, so no update runs it again; and the write is conditional anyway.
    const initialDocument = new CustomResource(this, 'InitialDocument', {
      serviceToken: this.publisher.function.functionArn,
      resourceType: 'Custom::TokenRevocationDocument',
      properties: { Bucket: this.bucket.bucketName, Key: REVOCATION_DOCUMENT_KEY },
    });
    // After the publisher's policy exists (it grants the PutObject), not only the function.
    initialDocument.node.addDependency(this.publisher);
    const target = new eventTargets.LambdaFunction(this.publisher.function, {
      ...(props.deadLetterQueue === undefined ? {} : { deadLetterQueue: props.deadLetterQueue }),
      retryAttempts: 3,
      maxEventAge: Duration.hours(1),
    });
    // Rules, not one `$or` pattern: each source says one thing, and IAM decides who may use
    // which source (a leak's ending only from the rotator's own functions).
    const rule = (id: string, description: string, eventPattern: events.EventPattern): events.Rule =>
      new events.Rule(this, id, { eventBus: props.eventBus, description, eventPattern, targets: [target] });
    const fromRotator = (detailType: string, detail: Record<string, string[]>): events.EventPattern => ({
      source: [EVENT_SOURCES.rotator],
      detailType: [detailType],
      detail,
    });
    this.rules = [
      rule(
        'LeakRotationRule',
        "A leak rotation's Rotation Completed goes to the token revocation publisher",
        fromRotator('Rotation Completed', { trigger: ['leak'] }),
      ),
      // A leak of the current secret preempts a scheduled or manual rotation by completing it at
      // once: its completion kills the leaked secret, though its trigger is not `leak`.
      rule(
        'LeakPreemptionRule',
        'A rotation a leak completed at once (leak_escalated) goes to the token revocation publisher',
        fromRotator('Rotation Completed', { reason: ['leak_escalated'] }),
      ),
      // A leak of the pending secret cancels the rotation in progress: the leaked secret dies then.
      rule(
        'LeakedPendingRule',
        'A rotation cancelled because its pending secret leaked goes to the token revocation publisher',
        fromRotator('Rotation Cancelled', { reason: ['leak_of_pending'] }),
      ),
      rule(
        'OperatorRequestRule',
        "An operator's Token Revocation Requested goes to the token revocation publisher",
        { source: [EVENT_SOURCES.operator], detailType: [TOKEN_REVOCATION_REQUEST_DETAIL_TYPE] },
      ),
    ];
  }

  /** The publisher: reads and conditionally writes the one key, publishes as the rotator only. */
  private createPublisher(props: TokenRevocationsProps): RotatorFunction {
    const publisher = new RotatorFunction(this, 'PublisherFunction', {
      handlerFile: 'tokenRevocationPublisher',
      description: 'Publishes token revocation records (the document and Client Tokens Revoked)',
      environment: tokenRevocationPublisherEnvironment({
        eventBusName: props.eventBus.eventBusName,
        bucketName: this.bucket.bucketName,
      }),
      ...(props.asyncFailureQueue === undefined ? {} : { asyncFailureQueue: props.asyncFailureQueue }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.logRemovalPolicy === undefined ? {} : { logRemovalPolicy: props.logRemovalPolicy }),
    });
    publisher.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [this.bucket.arnForObjects(REVOCATION_DOCUMENT_KEY)],
      }),
    );
    publisher.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [props.eventBus.eventBusArn],
        conditions: { StringEquals: { 'events:source': EVENT_SOURCES.rotator } },
      }),
    );
    return publisher;
  }
}

/** The bucket's findings, each acknowledged with its reason, on the bucket only. */
function acknowledgeBucketFindings(bucket: s3.Bucket): void {
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'No server access log bucket: the one object is read by resource servers every few seconds (the logs ' +
      'would dwarf it) and written by one function, whose every write is in its log and on the bus as ' +
      `Client Tokens Revoked; CloudTrail data events on ${Stack.of(bucket).stackName} can be enabled if reads need auditing.`,
  });
}
