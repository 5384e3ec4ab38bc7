import { describe, expect, it } from 'vitest';
import { concurrencyFor, parseFleetBenchOptions } from '../../../bench/fleetBench.js';

/** The pure parts of `npm run bench -- fleet` (bench/fleetBench.ts): its flags and its default concurrency. */
describe('Benchmark: fleet', () => {
  it('reads its flags as whole numbers in range, with the defaults the help names', () => {
    // Assess
    expect(parseFleetBenchOptions({})).toEqual({ clients: 1000, stytchRps: 100, trigger: 'leak' });
    expect(
      parseFleetBenchOptions({
        clients: '10000',
        'stytch-rps': '20',
        'max-concurrency': '7',
        trigger: 'manual',
      }),
    ).toEqual({ clients: 10_000, stytchRps: 20, maxConcurrency: 7, trigger: 'manual' });
    expect(() => parseFleetBenchOptions({ clients: '10001' })).toThrow(
      '--clients must be a whole number from 1 to 10000, not "10001"',
    );
    expect(() => parseFleetBenchOptions({ 'stytch-rps': '1.5' })).toThrow(
      '--stytch-rps must be a whole number',
    );
    expect(() => parseFleetBenchOptions({ trigger: 'schedule' })).toThrow(
      '--trigger must be leak or manual, not "schedule"',
    );
  });

  it('runs half the limit at once by default (two management requests a rotation), never more than the clients', () => {
    // Assess
    expect(concurrencyFor(100, 10_000)).toBe(50);
    expect(concurrencyFor(21, 10_000)).toBe(11);
    expect(concurrencyFor(100, 20)).toBe(20);
    expect(concurrencyFor(1, 5)).toBe(1);
  });
});
