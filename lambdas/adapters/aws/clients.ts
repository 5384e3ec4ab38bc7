import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/*
 * The SDK clients of a Lambda function (a CLI run uses AwsClients, which it closes), each from the
 * standard configuration: region and credentials from the environment, `AWS_ENDPOINT_URL` pointing
 * them at the sandbox. Each is made when first used (its first call), not when the function's
 * deps are assembled, and its SDK package is imported then (sdk/): importing a function loads no
 * SDK, and an invocation that never calls a service never loads that service's package. One
 * module per client (clients/): a bundle names the SDK package of every module it holds, so a
 * function's wiring imports the builders of the clients it uses from there (the secret-age
 * publisher's bundle names DynamoDB's and Secrets Manager's alone); this module re-exports them for the rest.
 */

export { dynamoDocumentClient } from './clients/dynamoDocument.js';
export { eventBridgeClient } from './clients/eventBridge.js';
export { lazyClient } from './clients/lazyClient.js';
export { secretsManagerClient } from './clients/secretsManager.js';
export { sfnClient } from './clients/sfn.js';

/** The SDK clients a function's adapters use. */
export interface FunctionClients {
  readonly secretsManager: SecretsManagerClient;
  /** A document client that drops `undefined` attributes (the ledger's items have optional ones). */
  readonly dynamoDocument: DynamoDBDocumentClient;
  readonly eventBridge: EventBridgeClient;
  readonly sfn: SFNClient;
}
