import { describe, expect, it } from 'vitest';
import { assertIsError, RotatorError, toError } from '#core/errors.js';

describe('Class: RotatorError', () => {
  it('keeps the cause and defaults to permanent', () => {
    // Prepare
    const cause = new Error('socket hang up');

    // Act
    const error = new RotatorError('could not reach Stytch', { cause });

    // Assess
    expect(error.name).toBe('RotatorError');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(false);
    expect(error).toBeInstanceOf(Error);
  });

  it('carries retryable without making it an enumerable property', () => {
    // Act
    const error = new RotatorError('throttled', { retryable: true });

    // Assess
    expect(error.retryable).toBe(true);
    expect(Object.keys(error)).not.toContain('retryable');
  });
});

describe('Function: assertIsError', () => {
  it('passes an Error through and rejects anything else', () => {
    expect(() => assertIsError(new TypeError('x'))).not.toThrow();
    expect(() => assertIsError('a string')).toThrow(RotatorError);
  });
});

describe('Function: toError', () => {
  it('wraps a non-Error value with the value as cause', () => {
    // Act
    const error = toError(42);

    // Assess
    expect(error).toBeInstanceOf(RotatorError);
    expect(error.cause).toBe(42);
  });
});
