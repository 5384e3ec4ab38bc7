import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RevocationDocument } from '#adapters/aws/S3RevocationDocument.js';
import {
  parseRevocationDocument,
  publishRevocation,
  REVOCATION_DOCUMENT_KEY,
  revocationFor,
  serializeRevocationDocument,
} from '#core/tokenRevocation.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';
import { type MotoServer, motoClientConfig, startMoto } from '../../support/moto.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');
let moto: MotoServer;
let s3: S3Client;
let bucketNumber = 0;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

async function freshBucket(): Promise<S3RevocationDocument> {
  bucketNumber += 1;
  const bucketName = `token-revocations-${bucketNumber}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  return new S3RevocationDocument({ client: s3, bucketName });
}

function body(clientId: string): string {
  const record = revocationFor({ clientId, before: NOW, rotationId: null, reason: 'operator' });
  return serializeRevocationDocument([record], NOW);
}

describe('S3RevocationDocument against moto', () => {
  it('reads no document from an empty bucket, creates one only if still absent, reads it back with its ETag', async () => {
    // Prepare
    const document = await freshBucket();

    // Act
    const empty = await document.read();
    const first = await document.write(body('m2m-a'), null);
    const second = await document.write(body('m2m-b'), null);
    const stored = await document.read();

    // Assess
    expect(empty).toEqual({ document: null, version: null });
    expect([first, second]).toEqual(['written', 'conflict']);
    expect(stored.document?.revocations.map((record) => record.clientId)).toEqual(['m2m-a']);
    expect(stored.version).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('writes over the ETag it read, and loses to a writer that got there first', async () => {
    // Prepare: two writers read the same version
    const document = await freshBucket();
    await document.write(body('m2m-a'), null);
    const { version } = await document.read();

    // Act
    const winner = await document.write(body('m2m-b'), version);
    const loser = await document.write(body('m2m-c'), version);

    // Assess
    expect([winner, loser]).toEqual(['written', 'conflict']);
    const { document: stored } = await document.read();
    expect(stored?.revocations.map((record) => record.clientId)).toEqual(['m2m-b']);
  });

  it('stores JSON a reader may poll without caching', async () => {
    // Prepare
    const document = await freshBucket();

    // Act
    await document.write(body('m2m-a'), null);

    // Assess
    const answer = await s3.send(
      new GetObjectCommand({ Bucket: `token-revocations-${bucketNumber}`, Key: REVOCATION_DOCUMENT_KEY }),
    );
    expect(answer.ContentType).toBe('application/json');
    expect(answer.CacheControl).toBe('no-cache');
    expect(parseRevocationDocument(await (answer.Body?.transformToString() ?? '')).schemaVersion).toBe(1);
  });

  it('reports a malformed object with its ETag, so the publisher replaces it', async () => {
    // Prepare
    const document = await freshBucket();
    await s3.send(
      new PutObjectCommand({
        Bucket: `token-revocations-${bucketNumber}`,
        Key: REVOCATION_DOCUMENT_KEY,
        Body: '{"x"',
      }),
    );
    const logger = new RecordingLogger();
    const published: unknown[] = [];
    const record = revocationFor({ clientId: 'm2m-a', before: NOW, rotationId: null, reason: 'operator' });

    // Act
    const read = await document.read();
    await publishRevocation(
      {
        document,
        events: { publish: async (event) => published.push(event) },
        clock: new FakeClock(NOW.toISOString()),
        wait: async () => undefined,
        logger,
      },
      record,
    );

    // Assess
    expect(read).toMatchObject({ document: null, malformed: ['not JSON'] });
    expect(read.version).not.toBeNull();
    expect((await document.read()).document?.revocations).toEqual([record]);
    expect(published).toHaveLength(1);
  });

  it('reads again after losing the race to another publisher, keeping both records', async () => {
    // Prepare: another publisher writes between this one's read and its write, once
    const document = await freshBucket();
    let raced = false;
    const racing = {
      read: () => document.read(),
      write: async (text: string, version: string | null) => {
        if (!raced) {
          raced = true;
          await document.write(body('m2m-other'), version);
        }
        return document.write(text, version);
      },
    };
    const logger = new RecordingLogger();
    const record = revocationFor({ clientId: 'm2m-a', before: NOW, rotationId: null, reason: 'operator' });

    // Act
    await publishRevocation(
      {
        document: racing,
        events: { publish: async () => undefined },
        clock: new FakeClock(NOW.toISOString()),
        wait: async () => undefined,
        logger,
      },
      record,
    );

    // Assess
    const { document: stored } = await document.read();
    expect(stored?.revocations.map((held) => held.clientId)).toEqual(['m2m-a', 'm2m-other']);
    expect(logger.lines.filter((line) => line.includes('changed while writing'))).toHaveLength(1);
  });
});
