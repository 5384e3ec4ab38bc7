import { createHash } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { LedgerItemFormatError } from '#adapters/aws/errors.js';
import { FingerprintIndex } from '#adapters/aws/ledger/FingerprintIndex.js';
import type { FingerprintEntry } from '#core/fingerprint.js';
import { at, newClientId, useMotoLedger } from './motoLedger.js';

// A fingerprint is an HMAC in production; any 64 hex characters do for the index.
function fingerprintOf(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

function entry(overrides: Partial<FingerprintEntry> = {}): FingerprintEntry {
  return {
    fingerprint: fingerprintOf(newClientId()),
    clientId: newClientId(),
    clientKind: 'm2m',
    stage: 'pending',
    versionId: '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b',
    lastFour: 'a1b2',
    updatedAt: at(0),
    ...overrides,
  };
}

describe('Class: FingerprintIndex (moto)', () => {
  let index: FingerprintIndex;
  const table = useMotoLedger('rotator-ledger-fingerprints', (props) => {
    index = new FingerprintIndex(props);
  });

  it('stores an entry under FINGERPRINT#<hex> and finds it; the latest change wins', async () => {
    // Prepare
    const pending = entry();
    await index.putFingerprint(pending);

    // Act
    const found = await index.findFingerprint(pending.fingerprint);
    await index.putFingerprint({ ...pending, stage: 'current', updatedAt: at(5) });
    const promoted = await index.findFingerprint(pending.fingerprint);

    // Assess
    expect(found).toEqual(pending);
    expect(promoted).toEqual({ ...pending, stage: 'current', updatedAt: at(5) });
    expect(await table.itemsOf(`FINGERPRINT#${pending.fingerprint}`)).toEqual([
      {
        ...pending,
        stage: 'current',
        updatedAt: at(5),
        pk: `FINGERPRINT#${pending.fingerprint}`,
        sk: 'FINGERPRINT',
      },
    ]);
  });

  it('answers null for a fingerprint no managed secret ever had', async () => {
    // Act & Assess
    expect(await index.findFingerprint(fingerprintOf('never stored'))).toBeNull();
  });

  it('reports a malformed stored entry with paths and codes only', async () => {
    // Prepare
    const malformed = entry({ fingerprint: fingerprintOf('malformed') });
    const pk = `FINGERPRINT#${malformed.fingerprint}`;
    await table.doc.send(
      new PutCommand({
        TableName: table.props.tableName,
        Item: { ...malformed, stage: 'leaked-somewhere', pk, sk: 'FINGERPRINT' },
      }),
    );

    // Act
    const error = await index.findFingerprint(malformed.fingerprint).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LedgerItemFormatError);
    expect(error).toMatchObject({ issues: ['stage: invalid_value'] });
    expect((error as Error).message).toContain(`${pk}/FINGERPRINT`);
    expect((error as Error).message).not.toContain('leaked-somewhere');
  });
});
