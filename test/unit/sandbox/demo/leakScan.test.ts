import { describe, expect, it } from 'vitest';
import { Secret } from '#core/secret.js';
import { scanForSecrets } from '#sandbox/demo/leakScan.js';

describe('Function: scanForSecrets', () => {
  it('counts every occurrence of every secret and names the sources that held one', () => {
    // Prepare
    const secrets = [new Secret('secret-test-aaaaaaaaaaaa'), new Secret('secret-test-bbbbbbbbbbbb')];

    // Act
    const result = scanForSecrets(
      [
        { source: 'logs', text: 'x secret-test-aaaaaaaaaaaa y secret-test-aaaaaaaaaaaa' },
        { source: 'events', text: '{"lastFour":"bbbb"}' },
        { source: 'history', text: 'secret-test-bbbbbbbbbbbb' },
      ],
      secrets,
    );

    // Assess
    expect(result.secretHits).toBe(3);
    expect(result.hitSources).toEqual(['logs', 'history']);
    expect(result.scannedBytes).toBe(53 + 19 + 24);
  });

  it('finds nothing in text that carries only last-four characters', () => {
    const result = scanForSecrets(
      [{ source: 'timeline', text: 'AWSPENDING …aaaa' }],
      [new Secret('secret-test-aaaaaaaaaaaa')],
    );
    expect(result).toEqual({
      scannedBytes: Buffer.byteLength('AWSPENDING …aaaa'),
      secretHits: 0,
      hitSources: [],
    });
  });
});
