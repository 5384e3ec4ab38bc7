import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbSdk } from '../sdk/dynamoDb.js';
import { dynamoDocumentSdk } from '../sdk/dynamoDocument.js';
import { lazyClient } from './lazyClient.js';

/**
 * A DynamoDB document client from the standard configuration, dropping `undefined` attributes
 * (the ledger's items have optional ones); made (both SDK packages imported) on first use.
 */
export function dynamoDocumentClient(): DynamoDBDocumentClient {
  return lazyClient(async () => {
    const [{ DynamoDBClient }, { DynamoDBDocumentClient }] = await Promise.all([
      dynamoDbSdk(),
      dynamoDocumentSdk(),
    ]);
    return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
  });
}
