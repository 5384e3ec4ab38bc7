import { inspect } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AwsServiceError,
  EventBridgePublisher,
  EventPublishError,
  InvalidEventError,
} from '#adapters/aws/index.js';
import type { RotatorEvent } from '#core/events.js';

const BUS = 'rotator-bus';
const LEAKED = 'LEAK-unit-event-secret-2b3c';

function cancelled(n: number): RotatorEvent<'Rotation Cancelled'> {
  return {
    detailType: 'Rotation Cancelled',
    detail: {
      rotationId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      clientId: 'm2m-client-test-unit',
      clientKind: 'm2m',
      trigger: 'manual',
      reason: 'operator',
      cancelledAt: '2030-01-01T00:00:00.000Z',
      durationMs: n,
    },
  };
}

describe('Class: EventBridgePublisher (faults EventBridge produces and moto does not)', () => {
  const eb = mockClient(EventBridgeClient);
  let publisher: EventBridgePublisher;

  beforeEach(() => {
    eb.reset();
    publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: BUS });
  });

  afterEach(() => {
    eb.reset();
  });

  it('sends batches of at most ten entries with the rotator source and the bus', async () => {
    // Prepare
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const events = Array.from({ length: 25 }, (_, i) => cancelled(i));

    // Act
    await publisher.publish(...events);

    // Assess
    const batches = eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(batches[2]?.[4]).toEqual({
      Source: 'stytch-m2m-rotator',
      DetailType: 'Rotation Cancelled',
      Detail: JSON.stringify(events[24]?.detail),
      EventBusName: BUS,
    });
  });

  it('sends nothing at all when any event fails its schema (permanent)', async () => {
    // Prepare
    const bad = { detailType: 'Rotation Cancelled', detail: { ...cancelled(3).detail, durationMs: -1 } };
    const events = [cancelled(1), bad as RotatorEvent, cancelled(2)];

    // Act
    const error = await publisher.publish(...events).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error).toMatchObject({ retryable: false, issues: ['durationMs: too_small'] });
    expect(eb.calls()).toHaveLength(0);
  });

  it('refuses an unknown detail-type', async () => {
    // Act
    const error = await publisher
      .publish({ detailType: 'Secret Exfiltrated', detail: {} } as unknown as RotatorEvent)
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(eb.calls()).toHaveLength(0);
  });

  it('fails retryably on FailedEntryCount > 0, naming error codes but not messages', async () => {
    // Prepare
    eb.on(PutEventsCommand).resolves({
      FailedEntryCount: 2,
      Entries: [
        { EventId: 'e1' },
        { ErrorCode: 'ThrottlingException', ErrorMessage: `rate exceeded for ${LEAKED}` },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
      ],
    });

    // Act
    const error = await publisher.publish(cancelled(0), cancelled(1), cancelled(2)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as EventPublishError).retryable).toBe(true);
    expect((error as EventPublishError).failedEntries).toEqual([
      { index: 1, detailType: 'Rotation Cancelled', errorCode: 'ThrottlingException' },
      { index: 2, detailType: 'Rotation Cancelled', errorCode: 'InternalFailure' },
    ]);
    expect((error as Error).message).toBe(
      'EventBridge rejected 2 event(s): ThrottlingException, InternalFailure',
    );
    expect(inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(LEAKED);
  });

  it('stops at the first failed batch (later batches are not sent)', async () => {
    // Prepare
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });

    // Act
    const error = await publisher
      .publish(...Array.from({ length: 15 }, (_, i) => cancelled(i)))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(EventPublishError);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it.each([
    ['ThrottlingException', 400, true],
    ['InternalException', 500, true],
    ['AccessDeniedException', 400, false],
    ['ResourceNotFoundException', 400, false],
  ])('wraps a %s from PutEvents, retryable=%s', async (name, httpStatusCode, retryable) => {
    // Prepare
    const cause = Object.assign(new Error(name), {
      name,
      $fault: httpStatusCode >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode },
    });
    eb.on(PutEventsCommand).rejects(cause);

    // Act
    const error = await publisher.publish(cancelled(0)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ operation: 'PutEvents', errorCode: name, resource: BUS });
    expect((error as AwsServiceError).retryable).toBe(retryable);
  });
});
