import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import type { HealthReporter } from '../secretSource.js';

// The library's only EventBridge code: the rest of consumer/ sees the HealthReporter port.
export type { EventBridgeClient };

/** AWS credentials (or a provider of them) for the clients the library builds itself. */
export type AwsCredentials = EventBridgeClientConfig['credentials'];

/** An EventBridge client from the standard SDK configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, …) and `credentials`. */
export function defaultEventBridgeClient(credentials?: AwsCredentials): EventBridgeClient {
  return new EventBridgeClient(credentials === undefined ? {} : { credentials });
}

/** {@link HealthReporter} that puts `Consumer Health Reported` on the rotator's bus. */
export function eventBridgeReporter(
  client: EventBridgeClient,
  eventBusName: string,
  source: string,
): HealthReporter {
  return {
    async report(detail) {
      const answer = await client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: eventBusName,
              Source: source,
              DetailType: 'Consumer Health Reported',
              Detail: JSON.stringify(detail),
            },
          ],
        }),
      );
      if ((answer.FailedEntryCount ?? 0) > 0) {
        throw new Error(`PutEvents refused the report: ${answer.Entries?.[0]?.ErrorCode ?? 'unknown error'}`);
      }
    },
  };
}
