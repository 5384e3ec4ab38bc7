import { describe, expect, it } from 'vitest';
import { jwksUrlFor, parseSecretString, SecretFormatError } from '#consumer/index.js';

const VALUE = {
  project_id: 'project-test-1',
  client_id: 'm2m-client-test-a',
  client_secret: 'secret-test-abcdefghijkl',
  token_url: 'https://test.stytch.com/v1/public/project-test-1/oauth2/token',
};

describe('Function: parseSecretString', () => {
  it('reads the four fields, the secret wrapped', () => {
    const parsed = parseSecretString('s', JSON.stringify(VALUE));
    expect(parsed).toMatchObject({ projectId: 'project-test-1', clientId: 'm2m-client-test-a' });
    expect(parsed.clientSecret.equals(VALUE.client_secret)).toBe(true);
    expect(JSON.stringify(parsed)).not.toContain(VALUE.client_secret);
  });

  it.each([
    ['not JSON', '{', /is not JSON/],
    ['an array', '[]', /is not a JSON object/],
    [
      'missing fields',
      JSON.stringify({ client_id: 'x' }),
      /missing or empty project_id, client_secret, token_url/,
    ],
    ['a bad token_url', JSON.stringify({ ...VALUE, token_url: 'nope' }), /token_url is not a URL/],
  ])('refuses %s with a SecretFormatError that names no value', (_label, text, message) => {
    let error: unknown;
    try {
      parseSecretString('stytch/m2m/a', text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('stytch/m2m/a');
  });

  it('does not echo a secret from malformed JSON', () => {
    const text = `{"client_secret":"${VALUE.client_secret}"`;
    expect(() => parseSecretString('s', text)).toThrow(SecretFormatError);
    try {
      parseSecretString('s', text);
    } catch (error) {
      expect(String(error)).not.toContain(VALUE.client_secret);
    }
  });
});

describe('Function: jwksUrlFor', () => {
  it('puts the JWKS beside the token URL, as Stytch serves it', () => {
    const credentials = parseSecretString('s', JSON.stringify(VALUE));
    expect(jwksUrlFor(credentials).href).toBe('https://test.stytch.com/v1/sessions/jwks/project-test-1');
  });

  it('keeps a path prefix (an emulator behind a proxy path)', () => {
    const credentials = parseSecretString(
      's',
      JSON.stringify({
        ...VALUE,
        token_url: 'http://127.0.0.1:8080/stytch/v1/public/project-test-1/oauth2/token',
      }),
    );
    expect(jwksUrlFor(credentials).href).toBe('http://127.0.0.1:8080/stytch/v1/sessions/jwks/project-test-1');
  });
});
