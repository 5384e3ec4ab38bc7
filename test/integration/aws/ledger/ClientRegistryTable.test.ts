import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { LedgerItemFormatError } from '#adapters/aws/errors.js';
import { ClientRegistryTable } from '#adapters/aws/ledger/ClientRegistryTable.js';
import { clientRegistration, newClientId, useMotoLedger } from './motoLedger.js';

describe('Class: ClientRegistryTable (moto)', () => {
  const table = useMotoLedger('rotator-ledger-registry');

  it('stores a registration found by name, by client id and in the list', async () => {
    // Prepare
    const registry = new ClientRegistryTable(table.props);
    const stored = clientRegistration({
      schedule: { expression: 'rate(30 days)', timeZone: 'UTC', scheduleName: 'rotate-billing' },
    });

    // Act
    const put = await registry.putRegistration(stored);

    // Assess
    expect(put).toEqual(stored);
    expect(await registry.findRegistrationByName(stored.name)).toEqual(stored);
    expect(await registry.getRegistration(stored.clientId)).toEqual(stored);
    expect(await registry.listRegistrations()).toContainEqual(stored);
    expect((await table.itemsOf('REGISTRY#')).map((item) => item.sk)).toEqual(
      expect.arrayContaining([`CLIENT#${stored.clientId}`, `NAME#${stored.name}`]),
    );
  });

  it('keeps the first registration of a name: a second one returns it and writes nothing', async () => {
    // Prepare
    const registry = new ClientRegistryTable(table.props);
    const first = await registry.putRegistration(clientRegistration());

    // Act
    const second = await registry.putRegistration(clientRegistration({ name: first.name }));

    // Assess
    expect(second).toEqual(first);
    expect(await registry.getRegistration(second.clientId)).toEqual(first);
    const names = (await registry.listRegistrations()).filter((entry) => entry.name === first.name);
    expect(names).toEqual([first]);
  });

  it('answers null for a name or a client nobody registered', async () => {
    // Prepare
    const registry = new ClientRegistryTable(table.props);

    // Act & Assess
    expect(await registry.findRegistrationByName('nobody')).toBeNull();
    expect(await registry.getRegistration(newClientId())).toBeNull();
  });

  it('reports a malformed stored registration with paths and codes only', async () => {
    // Prepare: a name item `register` never writes (a name item, so listing the clients is unaffected).
    const registry = new ClientRegistryTable(table.props);
    const malformed = clientRegistration({ clientKind: 'saml' as 'm2m' });
    await table.doc.send(
      new PutCommand({
        TableName: table.props.tableName,
        Item: { ...malformed, pk: 'REGISTRY#', sk: `NAME#${malformed.name}` },
      }),
    );

    // Act
    const error = await registry.findRegistrationByName(malformed.name).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LedgerItemFormatError);
    expect(error).toMatchObject({ issues: ['clientKind: invalid_value'] });
    expect((error as Error).message).toContain(`REGISTRY#/NAME#${malformed.name}`);
    expect((error as Error).message).not.toContain(malformed.registeredBy);
  });

  it('lists past an unreadable client item only when told where to report it, by its key alone', async () => {
    // Prepare: a readable registration and a client item a newer version (or a hand) wrote
    const registry = new ClientRegistryTable(table.props);
    const good = await registry.putRegistration(clientRegistration());
    const bad = clientRegistration({ clientKind: 'saml' as 'm2m' });
    await table.doc.send(
      new PutCommand({
        TableName: table.props.tableName,
        Item: { ...bad, pk: 'REGISTRY#', sk: `CLIENT#${bad.clientId}` },
      }),
    );

    // Act
    const strict = await registry.listRegistrations().catch((e: unknown) => e);
    const reported: { key: string; error: string }[] = [];
    const tolerant = await registry.listRegistrations({
      onUnreadable: (key, error) => reported.push({ key, error: error.message }),
    });

    // Assess
    expect(strict).toBeInstanceOf(LedgerItemFormatError);
    expect(tolerant).toContainEqual(good);
    expect(tolerant.map((registration) => registration.clientId)).not.toContain(bad.clientId);
    expect(reported).toHaveLength(1);
    expect(reported[0]?.key).toBe(`REGISTRY#/CLIENT#${bad.clientId}`);
    expect(reported[0]?.error).not.toContain(bad.registeredBy);
  });
});
