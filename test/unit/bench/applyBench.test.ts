import { describe, expect, it } from 'vitest';
import { MAX_CLIENTS_FILE_ENTRIES, parseClientsFile } from '#core/clientsFile.js';
import {
  CHANGED_SCOPE,
  DEFAULT_CLIENTS,
  fleetClientsFile,
  fleetName,
  MAX_CLIENTS,
  parseApplyBenchOptions,
  summarizeApplyJson,
} from '../../../bench/applyBench.js';

/**
 * The pure parts of `npm run bench -- apply` (bench/applyBench.ts): its flags, the clients file it
 * generates and how it reads `apply --json`. The benchmark itself runs a sandbox and is timed: it
 * is run by hand (docs/benchmarks.md), never here.
 */

describe('Function: parseApplyBenchOptions', () => {
  it('defaults to 1000 clients, with apply’s own concurrency and no Stytch limit', () => {
    // Act
    const options = parseApplyBenchOptions({});

    // Assess
    expect(options).toEqual({ clients: DEFAULT_CLIENTS });
    expect(DEFAULT_CLIENTS).toBe(1000);
  });

  it('reads --clients, --concurrency and --stytch-rps as whole numbers', () => {
    // Act
    const options = parseApplyBenchOptions({ clients: '200', concurrency: '8', 'stytch-rps': '100' });

    // Assess
    expect(options).toEqual({ clients: 200, concurrency: 8, stytchRps: 100 });
  });

  it('takes 1 to 20,000 clients: the most a clients file may list', () => {
    // Act & Assess
    expect(parseApplyBenchOptions({ clients: '1' }).clients).toBe(1);
    expect(parseApplyBenchOptions({ clients: '20000' }).clients).toBe(20_000);
    expect(MAX_CLIENTS).toBe(MAX_CLIENTS_FILE_ENTRIES);
  });

  it.each([
    [{ clients: '0' }, '--clients must be a whole number from 1 to 20000, not "0"'],
    [{ clients: '20001' }, '--clients must be a whole number from 1 to 20000'],
    [{ clients: '1.5' }, '--clients must be a whole number'],
    [{ clients: '1e3' }, '--clients must be a whole number'],
    [{ clients: '' }, '--clients must be a whole number'],
    [{ clients: '-5' }, '--clients must be a whole number'],
    [{ concurrency: '0' }, '--concurrency must be a whole number from 1'],
    [{ concurrency: 'four' }, '--concurrency must be a whole number'],
    [{ 'stytch-rps': '0' }, '--stytch-rps must be a whole number from 1'],
  ])('refuses %j', (flags, message) => {
    // Act & Assess
    expect(() => parseApplyBenchOptions(flags)).toThrow(message);
  });
});

describe('Function: fleetClientsFile', () => {
  it('names the clients fleet-00001… in order', () => {
    // Act & Assess
    expect([fleetName(1), fleetName(42), fleetName(20_000)]).toEqual([
      'fleet-00001',
      'fleet-00042',
      'fleet-20000',
    ]);
  });

  it('writes a valid clients file: scopes, a rate(30 days) schedule with a flexible window, one consumer', () => {
    // Act
    const { entries, notes } = parseClientsFile(fleetClientsFile(3), 'fleet.yaml');

    // Assess
    expect(notes).toEqual([]);
    expect(entries.map((entry) => [entry.spec.name, entry.line, entry.index])).toEqual([
      ['fleet-00001', 3, 0],
      ['fleet-00002', 7, 1],
      ['fleet-00003', 11, 2],
    ]);
    expect(entries[0]?.spec).toMatchObject({
      name: 'fleet-00001',
      kind: 'm2m',
      scopes: ['read:fleet', 'write:fleet'],
      schedule: { expression: 'rate(30 days)', timeZone: 'UTC', flexibleWindowMinutes: 60 },
      policy: { expectedConsumers: ['fleet-api'] },
    });
    expect(entries[0]?.spec.clientId).toBeUndefined();
  });

  it('changes only the entry it is asked to: one more scope', () => {
    // Act
    const base = parseClientsFile(fleetClientsFile(5), 'a.yaml').entries;
    const changed = parseClientsFile(fleetClientsFile(5, { changed: 3 }), 'b.yaml').entries;

    // Assess
    const differing = changed.filter((entry, index) => JSON.stringify(entry) !== JSON.stringify(base[index]));
    expect(differing.map((entry) => [entry.spec.name, entry.spec.scopes])).toEqual([
      ['fleet-00003', ['read:fleet', 'write:fleet', CHANGED_SCOPE]],
    ]);
  });

  it('writes the largest fleet the bench takes, every name distinct, four lines an entry', () => {
    // Act
    const lines = fleetClientsFile(MAX_CLIENTS).trimEnd().split('\n');

    // Assess
    const names = lines.filter((line) => line.startsWith('  - name: '));
    expect(names).toHaveLength(MAX_CLIENTS);
    expect(new Set(names).size).toBe(MAX_CLIENTS);
    expect(names.at(-1)).toBe('  - name: fleet-20000');
    expect(lines).toHaveLength(2 + 4 * MAX_CLIENTS);
  });
});

describe('Function: summarizeApplyJson', () => {
  it('counts the actions by kind and result and keeps the first three errors only', () => {
    // Prepare
    const actions = [
      { action: 'create', name: 'a', clientId: null, line: 3, result: 'done' },
      { action: 'create', name: 'b', clientId: null, line: 7, result: 'done' },
      ...['c', 'd', 'e', 'f'].map((name) => ({
        action: 'create',
        name,
        clientId: null,
        line: 11,
        result: 'failed',
        error: `boom ${name}`,
      })),
      { action: 'keep', name: 'k', clientId: 'k', line: null, result: 'planned' },
    ];
    const text = JSON.stringify({
      dryRun: false,
      file: 'fleet.yaml',
      counts: { create: 6, adopt: 0, change: 0, unchanged: 0, remove: 0, keep: 1 },
      actions,
      failed: 4,
    });

    // Act
    const summary = summarizeApplyJson(text);

    // Assess
    expect(summary).toEqual({
      dryRun: false,
      counts: { create: 6, adopt: 0, change: 0, unchanged: 0, remove: 0, keep: 1 },
      failed: 4,
      results: { 'create:done': 2, 'create:failed': 4, 'keep:planned': 1 },
      errors: ['boom c', 'boom d', 'boom e'],
    });
  });

  it('refuses output that is not an apply document', () => {
    // Act & Assess
    expect(() => summarizeApplyJson('{"hello":1}')).toThrow('no {counts, actions} document');
    expect(() => summarizeApplyJson('')).toThrow();
  });
});
