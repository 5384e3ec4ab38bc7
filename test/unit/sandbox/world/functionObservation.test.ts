import { describe, expect, it } from 'vitest';
import type { RotatorEvent } from '#core/events.js';
import type { Secret } from '#core/secret.js';
import { capturingLogger, observeStepDeps } from '#sandbox/world/functionObservation.js';
import { fakeDeps } from '../../../support/fakes.js';

const CLIENT = { clientId: 'm2m-client-test-1', kind: 'm2m' } as const;

describe('What a world observes of its functions (sandbox/world/functionObservation.ts)', () => {
  it('keeps each log line as the JSON a function logs', () => {
    // Prepare
    const lines: string[] = [];
    const logger = capturingLogger(lines);

    // Act
    logger.info('rotation started', { clientId: CLIENT.clientId });
    logger.warn('consumer late');

    // Assess
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { level: 'INFO', message: 'rotation started', clientId: CLIENT.clientId },
      { level: 'WARN', message: 'consumer late' },
    ]);
  });

  it('records every next secret Stytch hands out and every event once it is published', async () => {
    // Prepare
    const fakes = fakeDeps({
      [CLIENT.clientId]: { kind: 'm2m', policy: { expectedConsumers: [] } } as never,
    });
    const secrets: Secret[] = [];
    const events: RotatorEvent[] = [];
    const seen: string[] = [];
    const deps = observeStepDeps(fakes.deps, {
      secrets,
      events,
      onEvent: (event) => seen.push(event.detailType),
    });
    const event = { detailType: 'Rotation Started', detail: {} } as unknown as RotatorEvent;
    fakes.events.publish = async () => {
      // The event is recorded only after the bus took it.
      expect(events).toEqual([]);
    };

    // Act
    const started = await deps.stytch.startRotation(CLIENT);
    await deps.events.publish(event);

    // Assess
    expect(secrets).toEqual([started.nextSecret]);
    expect(fakes.stytch.secretsOf(CLIENT.clientId).next).toBe(started.nextSecret.reveal());
    expect(events).toEqual([event]);
    expect(seen).toEqual(['Rotation Started']);
    expect(deps.ledger).toBe(fakes.deps.ledger);
  });

  it('records nothing when publishing fails', async () => {
    // Prepare
    const fakes = fakeDeps({});
    const events: RotatorEvent[] = [];
    const deps = observeStepDeps(fakes.deps, { secrets: [], events });
    fakes.events.publish = async () => {
      throw new Error('bus unavailable');
    };

    // Act
    const published = deps.events.publish({
      detailType: 'Rotation Started',
      detail: {},
    } as unknown as RotatorEvent);

    // Assess
    await expect(published).rejects.toThrow('bus unavailable');
    expect(events).toEqual([]);
  });
});
