import { describe, expect, it } from 'vitest';
import { ApiError } from '#sandbox/stytch-emulator/errors.js';
import { idGenerator } from '#sandbox/stytch-emulator/ids.js';
import { M2MClientStore } from '#sandbox/stytch-emulator/m2mStore.js';
import { parseM2MQuery, parsePaging } from '#sandbox/stytch-emulator/search.js';

function store(): M2MClientStore {
  const clients = new M2MClientStore(idGenerator('test'));
  clients.create({ clientId: 'a', clientName: 'alpha', scopes: ['read:users'] });
  clients.create({ clientId: 'b', clientName: 'beta', scopes: ['read:users', 'write:users'] });
  clients.create({ clientId: 'c', clientName: 'gamma', scopes: ['admin'] });
  return clients;
}

function search(query: unknown): string[] {
  const filter = parseM2MQuery({ query });
  return store()
    .search(filter, undefined, 100)
    .items.map((record) => record.clientId);
}

function errorType(act: () => unknown): string | undefined {
  try {
    act();
  } catch (error) {
    if (error instanceof ApiError) return error.errorType;
  }
  return undefined;
}

describe('Function: parseM2MQuery', () => {
  it.each([
    ['no query', undefined, ['a', 'b', 'c']],
    ['no operands', { operator: 'AND' }, ['a', 'b', 'c']],
    ['empty operands', { operator: 'OR', operands: [] }, ['a', 'b', 'c']],
    [
      'client_id',
      { operator: 'OR', operands: [{ filter_name: 'client_id', filter_value: ['a', 'c'] }] },
      ['a', 'c'],
    ],
    [
      'client_name (exact)',
      { operator: 'AND', operands: [{ filter_name: 'client_name', filter_value: ['Beta', 'beta'] }] },
      ['b'],
    ],
    [
      'scopes (any of)',
      { operator: 'AND', operands: [{ filter_name: 'scopes', filter_value: ['write:users', 'admin'] }] },
      ['b', 'c'],
    ],
    [
      'AND of two filters',
      {
        operator: 'AND',
        operands: [
          { filter_name: 'scopes', filter_value: ['read:users'] },
          { filter_name: 'client_name', filter_value: ['alpha'] },
        ],
      },
      ['a'],
    ],
    [
      'OR of two filters',
      {
        operator: 'OR',
        operands: [
          { filter_name: 'client_id', filter_value: ['a'] },
          { filter_name: 'scopes', filter_value: ['admin'] },
        ],
      },
      ['a', 'c'],
    ],
  ])('filters by %s', (_name, query, expected) => {
    // Assess
    expect(search(query)).toEqual(expected);
  });

  it.each([
    ['a missing filter_name', { filter_value: ['x'] }, 'm2m_search_missing_filter_name'],
    [
      'a non-string filter_name',
      { filter_name: 3, filter_value: ['x'] },
      'm2m_search_filter_name_must_be_string',
    ],
    [
      'an unknown filter_name',
      { filter_name: 'status', filter_value: ['x'] },
      'm2m_search_filter_name_not_recognized',
    ],
    ['a missing filter_value', { filter_name: 'client_id' }, 'm2m_search_missing_filter_value'],
    [
      'a string filter_value',
      { filter_name: 'client_id', filter_value: 'a' },
      'm2m_search_expected_array_of_strings',
    ],
    [
      'a non-string element',
      { filter_name: 'scopes', filter_value: [1] },
      'm2m_search_expected_array_of_strings',
    ],
  ])('answers %s with its m2m_search_* error', (_name, operand, expected) => {
    // Act
    const type = errorType(() => parseM2MQuery({ query: { operator: 'AND', operands: [operand] } }));

    // Assess
    expect(type).toBe(expected);
  });

  it('rejects an unknown operator', () => {
    // Assess
    expect(errorType(() => parseM2MQuery({ query: { operator: 'XOR', operands: [] } }))).toBe(
      'invalid_request_value',
    );
  });
});

describe('Function: parsePaging', () => {
  it.each([
    [{}, 100],
    [{ limit: 0 }, 100],
    [{ limit: 7 }, 7],
    [{ limit: 5000 }, 1000],
  ])('reads %j as a page of %i', (body, limit) => {
    // Assess
    expect(parsePaging(body).limit).toBe(limit);
  });

  it('rejects a negative or fractional limit', () => {
    // Assess
    expect(errorType(() => parsePaging({ limit: -1 }))).toBe('invalid_request_value');
    expect(errorType(() => parsePaging({ limit: 1.5 }))).toBe('invalid_request_value');
  });
});
