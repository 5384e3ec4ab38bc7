import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SCHEMAS, ROTATOR_EVENT_SOURCE, type RotatorEvent } from '#core/events.js';
import type { EventBusPort } from '#core/ports.js';
import {
  EventPublishError,
  type FailedEventEntry,
  InvalidEventError,
  issueSummaries,
  wrapAwsError,
} from './errors.js';
import { eventBridgeSdk } from './sdk/eventBridge.js';

/** PutEvents takes at most 10 entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;

/** Props of {@link EventBridgePublisher}. */
export interface EventBridgePublisherProps {
  /** Built once per container by the handler. */
  readonly client: EventBridgeClient;
  /** The rotator's bus (name or ARN). */
  readonly eventBusName: string;
  /**
   * The envelope `source`: who is speaking. IAM lets each principal use only its own (see
   * `EVENT_SOURCES` in lambdas/core/events.ts), and the rules route by it.
   * @default EVENT_SOURCES.rotator ('stytch-m2m-rotator', the stack's own functions)
   */
  readonly source?: string;
}

/**
 * {@link EventBusPort} over EventBridge PutEvents. Every event's detail is validated against its
 * schema in `EVENT_SCHEMAS` before anything is sent (the schemas are strict, which also keeps a
 * secret from riding along in an unknown field), then sent with the publisher's `source` in
 * batches of at most 10.
 *
 * A partial failure (`FailedEntryCount > 0`) is a retryable {@link EventPublishError}. A retry
 * re-sends the whole call, so events may arrive twice: every rotator event is idempotent for its
 * consumers (keyed by rotation id and type).
 */
export class EventBridgePublisher implements EventBusPort {
  readonly #client: EventBridgeClient;
  readonly #eventBusName: string;
  readonly #source: string;

  public constructor(props: EventBridgePublisherProps) {
    this.#client = props.client;
    this.#eventBusName = props.eventBusName;
    this.#source = props.source ?? ROTATOR_EVENT_SOURCE;
  }

  /**
   * @throws {InvalidEventError} when any event fails its schema; nothing is sent (permanent)
   * @throws {EventPublishError} when EventBridge rejected some entries (retryable)
   * @throws {AwsServiceError} when the call failed
   * @returns the event ids EventBridge gave them, in order
   */
  public async publish(...events: RotatorEvent[]): Promise<string[]> {
    const entries = events.map((event) => this.#entry(event));
    const { PutEventsCommand } = await eventBridgeSdk();
    const eventIds: string[] = [];
    for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_CALL) {
      const batch = entries.slice(start, start + MAX_ENTRIES_PER_CALL);
      let result: { FailedEntryCount?: number; Entries?: { ErrorCode?: string; EventId?: string }[] };
      try {
        result = await this.#client.send(new PutEventsCommand({ Entries: batch }));
      } catch (error) {
        throw wrapAwsError(error, {
          service: 'EventBridge',
          operation: 'PutEvents',
          resource: this.#eventBusName,
        });
      }
      if ((result.FailedEntryCount ?? 0) > 0) {
        // Codes only: an entry's ErrorMessage is AWS's text and is not needed to retry.
        const failed: FailedEventEntry[] = [];
        (result.Entries ?? []).forEach((entry, i) => {
          if (entry.ErrorCode !== undefined && entry.ErrorCode !== null) {
            failed.push({
              index: start + i,
              detailType: batch[i]?.DetailType ?? 'unknown',
              errorCode: entry.ErrorCode,
            });
          }
        });
        if (failed.length === 0) {
          failed.push({ index: start, detailType: batch[0]?.DetailType ?? 'unknown', errorCode: 'Unknown' });
        }
        throw new EventPublishError(failed);
      }
      for (const entry of result.Entries ?? []) eventIds.push(entry.EventId ?? '');
    }
    return eventIds;
  }

  #entry(event: RotatorEvent): PutEventsRequestEntry {
    const schema = EVENT_SCHEMAS[event.detailType];
    if (schema === undefined) {
      throw new InvalidEventError(String(event.detailType), ['detailType: unknown']);
    }
    const parsed = schema.safeParse(event.detail);
    if (!parsed.success) throw new InvalidEventError(event.detailType, issueSummaries(parsed.error.issues));
    return {
      Source: this.#source,
      DetailType: event.detailType,
      Detail: JSON.stringify(parsed.data),
      EventBusName: this.#eventBusName,
    };
  }
}
