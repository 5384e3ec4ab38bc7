import { EventBridgePublisher, EventPublishError } from '#adapters/aws/index.js';
import type { SecretLeakDetectedDetail } from '#core/events.js';
import { CliError } from './errors.js';
import type { AwsClients } from './resources.js';

/**
 * Publishes one `Secret Leak Detected` through the rotator's own publisher (validated, source
 * `stytch-m2m-rotator`) and returns its event id; a refused entry is one line, exit 2.
 */
export async function publishLeak(
  aws: AwsClients,
  eventBus: string,
  detail: SecretLeakDetectedDetail,
): Promise<string> {
  try {
    const [eventId] = await new EventBridgePublisher({
      client: aws.eventBridge,
      eventBusName: eventBus,
    }).publish({
      detailType: 'Secret Leak Detected',
      detail,
    });
    return eventId ?? '';
  } catch (error) {
    if (!(error instanceof EventPublishError)) throw error;
    throw new CliError(`the event bus ${eventBus} refused the leak report: ${error.message}`, {
      code: 'put_events',
      cause: error,
    });
  }
}
