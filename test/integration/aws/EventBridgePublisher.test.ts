import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import {
  CreateEventBusCommand,
  type EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgePublisher, InvalidEventError } from '#adapters/aws/index.js';
import { ROTATOR_EVENT_SOURCE, type RotatorEvent } from '#core/events.js';
import { awsJson, drainQueue, type MotoServer, startMoto } from '../../support/moto.js';

const BUS = 'rotator-bus';
const LEAKED = 'LEAK-eventbridge-secret-5e6f';

function pendingEvent(overrides: Record<string, unknown> = {}): RotatorEvent<'Rotation Pending'> {
  const rotationId = randomUUID();
  return {
    detailType: 'Rotation Pending',
    detail: {
      rotationId,
      clientId: 'm2m-client-test-events',
      clientKind: 'm2m',
      trigger: 'schedule',
      secretId: 'stytch/m2m/m2m-client-test-events',
      pendingVersionId: rotationId,
      pendingLastFour: 'a1b2',
      currentLastFour: 'c3d4',
      deadline: '2030-01-01T01:00:00.000Z',
      expectedConsumers: ['billing-api'],
      ...overrides,
    },
  } as RotatorEvent<'Rotation Pending'>;
}

describe('Class: EventBridgePublisher (moto: bus → rule → SQS)', () => {
  let moto: MotoServer;
  let eb: EventBridgeClient;
  let publisher: EventBridgePublisher;
  let queueUrl: string;
  const observed: unknown[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    eb = moto.clients.eventBridge();
    // @aws-sdk/client-sqs is not a dependency: SQS is reached through its JSON protocol directly.
    ({ QueueUrl: queueUrl } = await awsJson<{ QueueUrl: string }>(
      moto.endpoint,
      'sqs',
      'AmazonSQS.CreateQueue',
      {
        QueueName: 'rotator-events',
      },
    ));
    const { Attributes } = await awsJson<{ Attributes: { QueueArn: string } }>(
      moto.endpoint,
      'sqs',
      'AmazonSQS.GetQueueAttributes',
      { QueueUrl: queueUrl, AttributeNames: ['QueueArn'] },
    );
    await eb.send(new CreateEventBusCommand({ Name: BUS }));
    await eb.send(
      new PutRuleCommand({
        Name: 'rotator-events',
        EventBusName: BUS,
        EventPattern: JSON.stringify({ source: [ROTATOR_EVENT_SOURCE] }),
      }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: 'rotator-events',
        EventBusName: BUS,
        Targets: [{ Id: 'q', Arn: Attributes.QueueArn }],
      }),
    );
    publisher = new EventBridgePublisher({ client: eb, eventBusName: BUS });
  });

  afterAll(async () => {
    eb?.destroy();
    await moto?.stop();
  });

  /** Every message now in the queue (deleted as read), bodies parsed. */
  const drain = (): Promise<Record<string, unknown>[]> => drainQueue(moto.endpoint, queueUrl, observed);

  it('delivers an event with the rotator source, its detail-type and its detail', async () => {
    // Prepare
    const event = pendingEvent();

    // Act
    await publisher.publish(event);

    // Assess
    const bodies = await drain();
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      source: ROTATOR_EVENT_SOURCE,
      'detail-type': 'Rotation Pending',
      detail: event.detail,
    });
  });

  it('delivers more than ten events (several PutEvents calls), each once', async () => {
    // Prepare
    const events = Array.from({ length: 23 }, () => pendingEvent());

    // Act
    const eventIds = await publisher.publish(...events);

    // Assess: one event id per event, in order, each the id of a delivered event.
    const bodies = await drain();
    const ids = bodies.map((b) => (b.detail as { rotationId: string }).rotationId).sort();
    expect(ids).toEqual(events.map((e) => e.detail.rotationId).sort());
    expect(eventIds).toHaveLength(23);
    expect(new Set(eventIds).size).toBe(23);
    expect(bodies.map((b) => b.id).sort()).toEqual([...eventIds].sort());
  });

  it('sends nothing when one event of a batch fails its schema, and names no value', async () => {
    // Prepare: a secret riding along in a field the schema does not know.
    const events = [pendingEvent(), pendingEvent({ nextClientSecret: LEAKED })];

    // Act
    const error = await publisher.publish(...events).catch((e: unknown) => e);
    observed.push(error);

    // Assess
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error).toMatchObject({
      retryable: false,
      detailType: 'Rotation Pending',
      issues: ['(root): unrecognized_keys'],
    });
    expect(await drain()).toEqual([]);
  });

  it('never lets a secret value into a delivered event or an error', () => {
    // Assess
    expect(observed.length).toBeGreaterThan(20);
    for (const value of observed) {
      expect(`${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })}`).not.toContain(
        LEAKED,
      );
    }
  });
});
