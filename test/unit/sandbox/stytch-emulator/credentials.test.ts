import { describe, expect, it } from 'vitest';
import { ClientCredential, generateClientSecret } from '#sandbox/stytch-emulator/credentials.js';

describe('Function: generateClientSecret', () => {
  it('returns 44 base64url characters, different every time', () => {
    // Act
    const secrets = Array.from({ length: 50 }, () => generateClientSecret());

    // Assess
    for (const secret of secrets) expect(secret).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});

describe('Class: ClientCredential', () => {
  it('verifies only the secret it was created with', () => {
    // Prepare
    const { credential, secret } = ClientCredential.create();

    // Assess
    expect(credential.verify(secret)).toBe(true);
    expect(credential.verify(`${secret}x`)).toBe(false);
    expect(credential.verify('')).toBe(false);
    expect(credential.lastFour).toBe(secret.slice(-4));
    expect(credential.nextLastFour).toBeNull();
  });

  it('accepts a custom secret', () => {
    // Act
    const { credential, secret } = ClientCredential.create('custom-secret-value');

    // Assess
    expect(secret).toBe('custom-secret-value');
    expect(credential.verify('custom-secret-value')).toBe(true);
  });

  it('accepts both secrets while a rotation is pending, then only the new one after complete', () => {
    // Prepare
    const { credential, secret: old } = ClientCredential.create();

    // Act
    const started = credential.startRotation();
    if (!started.ok) throw new Error('rotation did not start');
    const next = started.nextSecret;

    // Assess
    expect(credential.isRotating).toBe(true);
    expect(credential.verify(old)).toBe(true);
    expect(credential.verify(next)).toBe(true);
    expect(credential.nextLastFour).toBe(next.slice(-4));
    expect(credential.completeRotation()).toEqual({ ok: true });
    expect(credential.verify(old)).toBe(false);
    expect(credential.verify(next)).toBe(true);
    expect(credential.lastFour).toBe(next.slice(-4));
    expect(credential.nextLastFour).toBeNull();
  });

  it('keeps only the old secret after cancel', () => {
    // Prepare
    const { credential, secret: old } = ClientCredential.create();
    const started = credential.startRotation();
    if (!started.ok) throw new Error('rotation did not start');

    // Act
    const cancelled = credential.cancelRotation();

    // Assess
    expect(cancelled).toEqual({ ok: true });
    expect(credential.verify(old)).toBe(true);
    expect(credential.verify(started.nextSecret)).toBe(false);
    expect(credential.isRotating).toBe(false);
  });

  it('refuses a second start, and complete or cancel with nothing pending', () => {
    // Prepare
    const { credential } = ClientCredential.create();

    // Assess
    expect(credential.completeRotation()).toEqual({ ok: false, refusal: 'not_rotating' });
    expect(credential.cancelRotation()).toEqual({ ok: false, refusal: 'not_rotating' });
    expect(credential.startRotation().ok).toBe(true);
    expect(credential.startRotation()).toEqual({ ok: false, refusal: 'already_rotating' });
  });

  it('never exposes a secret through enumeration or JSON', () => {
    // Prepare
    const { credential, secret } = ClientCredential.create();

    // Assess
    expect(JSON.stringify(credential)).not.toContain(secret);
    expect(Object.values(credential)).toEqual([]);
  });

  describe('with a lagging token endpoint', () => {
    it('shows a started rotation to management at once and to the token endpoint from visibleFrom', () => {
      // Prepare
      const { credential, secret: old } = ClientCredential.create();

      // Act
      const started = credential.startRotation(1_000);
      if (!started.ok) throw new Error('rotation did not start');

      // Assess
      expect(credential.nextLastFour).toBe(started.nextSecret.slice(-4));
      expect(credential.verify(started.nextSecret, 999)).toBe(false);
      expect(credential.verify(old, 999)).toBe(true);
      expect(credential.verify(started.nextSecret, 1_000)).toBe(true);
      expect(credential.verify(old, 1_000)).toBe(true);
    });

    it('keeps the old secret working until a completion is visible', () => {
      // Prepare
      const { credential, secret: old } = ClientCredential.create();
      const started = credential.startRotation();
      if (!started.ok) throw new Error('rotation did not start');

      // Act
      credential.completeRotation(2_000);

      // Assess
      expect(credential.lastFour).toBe(started.nextSecret.slice(-4));
      expect(credential.verify(old, 1_999)).toBe(true);
      expect(credential.verify(old, 2_000)).toBe(false);
      expect(credential.verify(started.nextSecret, 2_000)).toBe(true);
    });

    it('keeps a cancelled next secret working until the cancellation is visible', () => {
      // Prepare
      const { credential } = ClientCredential.create();
      const started = credential.startRotation();
      if (!started.ok) throw new Error('rotation did not start');

      // Act
      credential.cancelRotation(500);

      // Assess
      expect(credential.isRotating).toBe(false);
      expect(credential.verify(started.nextSecret, 499)).toBe(true);
      expect(credential.verify(started.nextSecret, 500)).toBe(false);
    });

    it('applies transitions in order: a quicker completion waits for a slower start', () => {
      // Prepare
      const { credential, secret: old } = ClientCredential.create();
      const started = credential.startRotation(1_000);
      if (!started.ok) throw new Error('rotation did not start');

      // Act
      credential.completeRotation(100);

      // Assess
      expect(credential.verify(old, 500)).toBe(true);
      expect(credential.verify(started.nextSecret, 500)).toBe(false);
      expect(credential.verify(old, 1_000)).toBe(false);
      expect(credential.verify(started.nextSecret, 1_000)).toBe(true);
    });
  });
});
