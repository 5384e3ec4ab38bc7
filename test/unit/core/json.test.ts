import { describe, expect, it } from 'vitest';
import { parseJsonOrUndefined } from '#core/json.js';

describe('Function: parseJsonOrUndefined', () => {
  it.each([
    ['an object', '{"outcome":"completed","count":2}', { outcome: 'completed', count: 2 }],
    ['an array', '[{"clientId":"m2m-a"}]', [{ clientId: 'm2m-a' }]],
    ['a string', '"States.Timeout"', 'States.Timeout'],
    ['null', 'null', null],
  ])('parses %s', (_case, text, parsed) => {
    expect(parseJsonOrUndefined(text)).toEqual(parsed);
  });

  it.each([
    ['no text', undefined],
    ['empty text', ''],
    ['text that is not JSON', 'Task timed out after 30.00 seconds'],
    ['truncated JSON', '{"errorMessage":"no'],
  ])('answers undefined for %s, without throwing', (_case, text) => {
    expect(parseJsonOrUndefined(text)).toBeUndefined();
  });
});
