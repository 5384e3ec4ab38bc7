import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './clientTable.js';
import { apiErrors } from './errors.js';
import { isJsonObject, type JsonObject } from './http.js';
import type { M2MClientRecord } from './m2mStore.js';
import { optionalInteger, optionalString } from './validate.js';

/** The filters Stytch's M2M search supports. */
const FILTER_NAMES = ['client_id', 'client_name', 'scopes'] as const;
type FilterName = (typeof FILTER_NAMES)[number];

interface Operand {
  readonly name: FilterName;
  readonly values: readonly string[];
}

/** A parsed search request: paging plus a record predicate. */
export interface SearchRequest {
  readonly cursor: string | undefined;
  readonly limit: number;
}

/**
 * Reads `cursor` and `limit` of a search body. `limit` absent or 0 means the default (100); above
 * 1000 it is capped at 1000, Stytch's documented maximum.
 */
export function parsePaging(body: JsonObject): SearchRequest {
  const cursor = optionalString(body, 'cursor', () => apiErrors.invalidValue('cursor must be a string.'));
  const limit = optionalInteger(body, 'limit', () => apiErrors.invalidValue('limit must be an integer.'));
  if (limit !== undefined && limit < 0) throw apiErrors.invalidValue('limit must not be negative.');
  const effective = limit === undefined || limit === 0 ? DEFAULT_PAGE_SIZE : Math.min(limit, MAX_PAGE_SIZE);
  return { cursor, limit: effective };
}

/**
 * Parses the M2M search `query` ({operator: AND|OR, operands: [{filter_name, filter_value}]}) into
 * a predicate. No query, or no operands, matches every client (Stytch docs). Malformed operands get
 * the `m2m_search_*` error types.
 */
export function parseM2MQuery(body: JsonObject): (record: M2MClientRecord) => boolean {
  const query = body.query;
  if (query === undefined || query === null) return () => true;
  if (!isJsonObject(query)) throw apiErrors.invalidValue('query must be an object.');
  const operator = query.operator;
  if (operator !== 'AND' && operator !== 'OR') {
    throw apiErrors.invalidValue('query.operator must be "AND" or "OR".');
  }
  const rawOperands = query.operands;
  if (rawOperands === undefined || rawOperands === null) return () => true;
  if (!Array.isArray(rawOperands)) throw apiErrors.invalidValue('query.operands must be an array.');
  const operands = rawOperands.map(parseOperand);
  if (operands.length === 0) return () => true;
  return operator === 'AND'
    ? (record) => operands.every((operand) => matches(record, operand))
    : (record) => operands.some((operand) => matches(record, operand));
}

function parseOperand(raw: unknown): Operand {
  if (!isJsonObject(raw)) {
    throw apiErrors.validation('m2m_search_missing_filter_name', 'Each operand must have a filter_name.');
  }
  const name = raw.filter_name;
  if (name === undefined || name === null) {
    throw apiErrors.validation('m2m_search_missing_filter_name', 'Each operand must have a filter_name.');
  }
  if (typeof name !== 'string') {
    throw apiErrors.validation('m2m_search_filter_name_must_be_string', 'filter_name must be a string.');
  }
  const filterName = FILTER_NAMES.find((candidate) => candidate === name);
  if (filterName === undefined) {
    throw apiErrors.validation(
      'm2m_search_filter_name_not_recognized',
      `filter_name must be one of ${FILTER_NAMES.join(', ')}.`,
    );
  }
  const value = raw.filter_value;
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    throw apiErrors.validation('m2m_search_missing_filter_value', 'Each operand must have a filter_value.');
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw apiErrors.validation(
      'm2m_search_expected_array_of_strings',
      'filter_value must be an array of strings.',
    );
  }
  return { name: filterName, values: value };
}

// client_id and client_name match exactly (case-sensitive); scopes match when the client holds
// any of the given scopes ("Filter clients that contain one or more scopes").
function matches(record: M2MClientRecord, operand: Operand): boolean {
  switch (operand.name) {
    case 'client_id':
      return operand.values.includes(record.clientId);
    case 'client_name':
      return operand.values.includes(record.clientName);
    case 'scopes':
      return operand.values.some((scope) => record.scopes.includes(scope));
  }
}
