import { describe, expect, it, vi } from 'vitest';
import { AwsClients } from '#adapters/aws/index.js';

const SETTINGS = {
  region: 'eu-west-3',
  endpoint: 'http://127.0.0.1:4566',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'LEAK-secret-access-key' },
} as const;

describe('Class: AwsClients', () => {
  it('builds each client once, on first use, with the settings it was given', async () => {
    // Prepare
    const clients = new AwsClients(SETTINGS);

    // Act
    const first = clients.sfn;
    const again = clients.sfn;

    // Assess
    expect(again).toBe(first);
    expect(await first.config.region()).toBe('eu-west-3');
    const endpoint = await first.config.endpoint?.();
    expect(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`).toBe('http://127.0.0.1:4566');
    expect(await first.config.credentials()).toMatchObject({ accessKeyId: 'AKIDEXAMPLE' });
    clients.close();
  });

  it('destroys on close exactly the clients it built', () => {
    // Prepare
    const clients = new AwsClients(SETTINGS);
    const built = [clients.secretsManager, clients.scheduler, clients.cloudFormation, clients.eventBridge];
    const destroyed = built.map((client) => vi.spyOn(client, 'destroy'));

    // Act
    clients.close();

    // Assess
    for (const destroy of destroyed) expect(destroy).toHaveBeenCalledTimes(1);
  });
});
