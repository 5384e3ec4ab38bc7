import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/*
 * The SDK clients of a Lambda function (a CLI run uses AwsClients, which it closes), each from the
 * standard configuration: region and credentials from the environment, `AWS_ENDPOINT_URL` pointing
 * them at the sandbox. One builder per client, so a function's bundle holds only the SDK clients
 * its wiring builds (the publisher's holds Secrets Manager's alone).
 */

/** The SDK clients a function's adapters use. */
export interface FunctionClients {
  readonly secretsManager: SecretsManagerClient;
  /** A document client that drops `undefined` attributes (the ledger's items have optional ones). */
  readonly dynamoDocument: DynamoDBDocumentClient;
  readonly eventBridge: EventBridgeClient;
  readonly sfn: SFNClient;
}

/**
 * Instruments a client without changing its type (the Powertools tracer's `captureAWSv3Client`);
 * applied to the base DynamoDB client, since a document client shares its middleware.
 */
export type CaptureClient = <C>(client: C) => C;

const asIs: CaptureClient = (client) => client;

/** A Secrets Manager client. */
export function secretsManagerClient(capture: CaptureClient = asIs): SecretsManagerClient {
  return capture(new SecretsManagerClient({}));
}

/** A DynamoDB document client over a captured base client, dropping `undefined` attributes. */
export function dynamoDocumentClient(capture: CaptureClient = asIs): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(capture(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** An EventBridge client. */
export function eventBridgeClient(capture: CaptureClient = asIs): EventBridgeClient {
  return capture(new EventBridgeClient({}));
}

/** A Step Functions client. */
export function sfnClient(capture: CaptureClient = asIs): SFNClient {
  return capture(new SFNClient({}));
}
