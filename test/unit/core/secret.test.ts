import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { lastFour, Secret } from '#core/secret.js';

const VALUE = 'NHQhc7ZqsXJVtgmN2MXr1etqsQrGAwJ-iBWNLKY7DzJj';

describe('Class: Secret', () => {
  it('reveals the value only through reveal()', () => {
    // Prepare
    const secret = new Secret(VALUE);

    // Act & Assess
    expect(secret.reveal()).toBe(VALUE);
    expect(secret.lastFour).toBe('DzJj');
    expect(secret.length).toBe(VALUE.length);
  });

  it.each([
    ['String()', (s: Secret) => String(s)],
    ['a template literal', (s: Secret) => `${s}`],
    ['JSON.stringify', (s: Secret) => JSON.stringify({ nested: { s } })],
    ['util.inspect', (s: Secret) => inspect({ s }, { depth: Infinity, showHidden: true })],
    ['Object.keys/values', (s: Secret) => JSON.stringify(Object.entries(s))],
  ])('hides the value from %s', (_label, render) => {
    // Prepare
    const secret = new Secret(VALUE);

    // Act
    const text = render(secret);

    // Assess
    expect(text).not.toContain(VALUE);
    expect(text).not.toContain(VALUE.slice(0, 12));
  });

  it('shows the last four characters when printed', () => {
    expect(String(new Secret(VALUE))).toBe('[redacted] …DzJj');
  });

  it('compares with another secret or a string', () => {
    // Prepare
    const secret = new Secret(VALUE);

    // Act & Assess
    expect(secret.equals(VALUE)).toBe(true);
    expect(secret.equals(new Secret(VALUE))).toBe(true);
    expect(secret.equals(`${VALUE}x`)).toBe(false);
    expect(secret.equals('short')).toBe(false);
  });

  it('wraps a string once and returns a Secret unchanged', () => {
    // Prepare
    const secret = new Secret(VALUE);

    // Act & Assess
    expect(Secret.from(secret)).toBe(secret);
    expect(Secret.from(VALUE).reveal()).toBe(VALUE);
  });
});

describe('Function: lastFour', () => {
  it.each([
    ['abcdefgh', 'efgh'],
    ['abc', 'abc'],
    ['', ''],
  ])('returns the last four characters of %j', (value, expected) => {
    expect(lastFour(value)).toBe(expected);
  });
});
