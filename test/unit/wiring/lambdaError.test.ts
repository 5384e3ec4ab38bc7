import { describe, expect, it } from 'vitest';
import { RotatorError } from '#core/errors.js';
import { BudgetExhaustedError } from '#core/rateBudget.js';
import { TRANSIENT_ERROR_NAME, toLambdaError } from '#wiring/lambdaError.js';

describe('Function: toLambdaError', () => {
  it('reports a retryable error under the one name the state machine retries, keeping the original', () => {
    // Prepare
    const original = new RotatorError('Stytch answered 503', { retryable: true });
    original.name = 'StytchApiError';

    // Act
    const mapped = toLambdaError(original);

    // Assess
    expect(mapped.name).toBe(TRANSIENT_ERROR_NAME);
    expect(mapped.message).toBe('StytchApiError: Stytch answered 503');
    expect(mapped.cause).toBe(original);
  });

  it('reports a spent shared budget as BudgetWait, which the state machine retries within seconds', () => {
    // Prepare
    const original = new BudgetExhaustedError('stytch-management', 1_900_000_001_000);

    // Act
    const mapped = toLambdaError(original);

    // Assess
    expect(mapped.name).toBe('BudgetWait');
    expect(mapped.cause).toBe(original);
    expect(mapped.message).toBe(
      'BudgetExhaustedError: The stytch-management budget is spent until 2030-03-17T17:46:41.000Z',
    );
  });

  it('keeps a permanent error as it is, so Catch can match its name', () => {
    // Prepare
    const original = new RotatorError('Stytch answered 404');
    original.name = 'StytchApiError';

    // Act & Assess
    expect(toLambdaError(original)).toBe(original);
  });

  it('treats an unknown error as permanent and wraps a non-Error', () => {
    expect(toLambdaError(new TypeError('x')).name).toBe('TypeError');
    expect(toLambdaError('boom')).toBeInstanceOf(RotatorError);
  });
});
