import { describe, expect, it } from 'vitest';
import { createM2MCredentials } from '#consumer/index.js';

describe('Function: createM2MCredentials', () => {
  it('reports every bad option at once, before creating anything', () => {
    expect(() =>
      createM2MCredentials({
        secretId: '',
        consumerName: '-billing',
        pollIntervalMs: -1,
        tokenSkewSeconds: -5,
      }),
    ).toThrow(
      new TypeError(
        'createM2MCredentials: secretId is required; consumerName must be 1-64 letters, digits, ".", "_" or "-", ' +
          'starting with a letter or digit; pollIntervalMs must be an integer >= 0; tokenSkewSeconds must be >= 0',
      ),
    );
  });

  it('accepts the names the health aggregator accepts', async () => {
    const credentials = createM2MCredentials({
      secretId: 'stytch/m2m/a',
      consumerName: 'billing-api.v2_blue',
      pollIntervalMs: 0,
      eventBusName: 'bus',
    });
    expect(credentials.stats.secretReads).toBe(0);
    await credentials.close();
  });
});
