import { describe, expect, it } from 'vitest';
import { awsClientConfig } from '#sandbox/world/awsClientConfig.js';
import { MOTO_CREDENTIALS, motoClientConfig } from '../../../support/moto.js';

describe('awsClientConfig (sandbox/world/awsClientConfig.ts)', () => {
  it('points an SDK client at one endpoint in us-east-1, with dummy credentials unless given a key', () => {
    // Prepare
    const key = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'not-a-real-secret' };

    // Act
    const dummy = awsClientConfig('http://127.0.0.1:4566');
    const signed = awsClientConfig('http://127.0.0.1:4566', key);

    // Assess
    expect(dummy).toEqual({
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    });
    expect(signed.credentials).toEqual(key);
    expect(signed.credentials).not.toBe(key);
  });

  it('is the tests’ moto client config too: their credentials, and two attempts to fail fast', () => {
    // Act
    const config = motoClientConfig('http://127.0.0.1:5000');

    // Assess
    expect(config).toEqual(awsClientConfig('http://127.0.0.1:5000', MOTO_CREDENTIALS, { maxAttempts: 2 }));
    expect(config).toEqual({
      endpoint: 'http://127.0.0.1:5000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 2,
    });
  });
});
