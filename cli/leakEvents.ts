import type { AwsClients } from '#adapters/aws/awsClients.js';
import { AwsServiceError, EventBridgePublisher, EventPublishError } from '#adapters/aws/index.js';
import { EVENT_SOURCES, type SecretLeakDetectedDetail } from '#core/events.js';
import { CliError } from './errors.js';

/**
 * `detail.source` of the leak reports the CLI publishes (`leak report`, `emergency`): the audit
 * text saying which tool reported it. The person is `detail.requestedBy` (`cli:<user>`); who
 * may say so at all is the envelope source, {@link EVENT_SOURCES}.operator, which only principals
 * holding the stack's operator grant may use.
 */
export const CLI_LEAK_SOURCE = 'rotator-cli';

/**
 * Publishes one `Secret Leak Detected` as an operator (envelope source
 * `stytch-m2m-rotator.operator`, validated by the rotator's own publisher) and returns its event
 * id; a refused entry is one line, exit 2. An `AccessDeniedException` means the caller does not
 * hold the operator grant (the stack's `OperatorPolicyArn`).
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
      source: EVENT_SOURCES.operator,
    }).publish({
      detailType: 'Secret Leak Detected',
      detail,
    });
    return eventId ?? '';
  } catch (error) {
    if (error instanceof AwsServiceError && error.errorCode === 'AccessDeniedException') {
      // Setup, not a defect: these credentials are not an operator's.
      throw new CliError(
        `the event bus ${eventBus} refused the leak report: AccessDeniedException: only a principal holding the ` +
          `stack's operator grant (OperatorPolicyArn) may publish as ${EVENT_SOURCES.operator}`,
        { code: 'put_events_denied', cause: error },
      );
    }
    if (!(error instanceof EventPublishError)) throw error;
    throw new CliError(`the event bus ${eventBus} refused the leak report: ${error.message}`, {
      code: 'put_events',
      cause: error,
    });
  }
}
