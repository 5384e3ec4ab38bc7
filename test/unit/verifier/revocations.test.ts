import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StytchEmulator } from '#sandbox/stytch-emulator/index.js';
import {
  type CreateVerifierOptions,
  createVerifier,
  MAX_DOCUMENT_BYTES,
  RevocationsDocumentError,
  RevocationsStaleError,
  TokenRevokedError,
  type Verifier,
  type VerifierError,
} from '#verifier/index.js';
import {
  claimsOf,
  createClient,
  DocumentServer,
  document,
  type EmulatorClient,
  jwksUrlOf,
  record,
  startEmulator,
} from './support.js';

let emulator: StytchEmulator;
let documents: DocumentServer;
let leaked: EmulatorClient;
let other: EmulatorClient;
let clock: number;
let reported: VerifierError[];
const verifiers: Verifier[] = [];

beforeAll(async () => {
  [emulator, documents] = await Promise.all([startEmulator(), DocumentServer.start()]);
  [leaked, other] = await Promise.all([
    createClient(emulator, 'm2m-client-test-leaked', ['read:invoices']),
    createClient(emulator, 'm2m-client-test-other', ['read:invoices']),
  ]);
});

beforeEach(() => {
  clock = Date.now();
  reported = [];
  documents.requests.length = 0;
  documents.serve(document());
});

afterEach(() => {
  for (const verifier of verifiers.splice(0)) verifier.close();
});

afterAll(async () => {
  await Promise.all([emulator?.stop(), documents?.stop()]);
});

/** A verifier on the test's clock that reads the loopback document; it polls only when told to (refreshNow). */
function verifierFor(revocations: Partial<CreateVerifierOptions['revocations']> = {}): Verifier {
  const verifier = createVerifier({
    projectId: emulator.projectId,
    jwksUrl: jwksUrlOf(emulator),
    now: () => clock,
    onError: (error) => reported.push(error),
    revocations: { url: documents.url, refreshIntervalMs: 3_600_000, ...revocations },
  });
  verifiers.push(verifier);
  return verifier;
}

async function outcome(verifier: Verifier, token: string): Promise<string> {
  return verifier.verify(token).then(
    (verified) => `accepted ${verified.clientId}`,
    (error: Error) => error.name,
  );
}

describe('Revocation records', () => {
  it("refuses the client's tokens issued before the cutoff and accepts later ones and other clients'", async () => {
    // Prepare
    const before = await leaked.mint();
    const otherToken = await other.mint();
    const iat = claimsOf(before).iat;
    // The cutoff is a whole second after iat: the token was issued before it.
    documents.serve(document(record(leaked.clientId, (iat + 1) * 1000)));
    const verifier = verifierFor();

    // Act
    const error = await verifier.verify(before).catch((reason: unknown) => reason);
    const others = await outcome(verifier, otherToken);
    // A token issued at the cutoff's second is after it: `iat * 1000 < cutoff` is false.
    documents.serve(document(record(leaked.clientId, iat * 1000)));
    await verifier.refreshNow();
    const atCutoff = await outcome(verifier, before);

    // Assess
    expect(error).toBeInstanceOf(TokenRevokedError);
    expect(error).toMatchObject({ clientId: leaked.clientId, cutoff: new Date((iat + 1) * 1000) });
    expect((error as Error).message).toBe(
      `Tokens of client ${leaked.clientId} issued before ${new Date((iat + 1) * 1000).toISOString()} are revoked`,
    );
    expect(others).toBe(`accepted ${other.clientId}`);
    expect(atCutoff).toBe(`accepted ${leaked.clientId}`);
  });

  it('reads the document with conditional GETs: a 304 keeps the copy and counts as a good read', async () => {
    // Prepare
    const token = await leaked.mint();
    documents.serve(document(record(leaked.clientId, (claimsOf(token).iat + 1) * 1000)));
    const verifier = verifierFor({ maxStalenessMs: 10_000 });
    await verifier.refreshNow();
    clock += 60_000;

    // Act
    const status = await verifier.refreshNow();
    const result = await outcome(verifier, token);

    // Assess
    // The first refreshNow joined the read that createVerifier started: one 200, then one 304.
    expect(documents.requests).toEqual([
      { ifNoneMatch: undefined, status: 200 },
      { ifNoneMatch: status.etag, status: 304 },
    ]);
    expect(status).toMatchObject({ lastGoodAt: new Date(clock), revokedClients: 1, stale: false });
    expect(result).toBe('TokenRevokedError');
  });

  it('polls on its interval without being asked', async () => {
    // Prepare
    verifierFor({ refreshIntervalMs: 10 });

    // Act
    await vi.waitFor(() => expect(documents.requests.length).toBeGreaterThanOrEqual(3));

    // Assess
    expect(documents.requests.slice(1).every((request) => request.status === 304)).toBe(true);
  });

  it('applies an event at once, and a poll answering an older copy does not undo it', async () => {
    // Prepare
    const token = await leaked.mint();
    const verifier = verifierFor();
    const accepted = await outcome(verifier, token);

    // Act
    const applied = verifier.applyEvent(record(leaked.clientId, (claimsOf(token).iat + 1) * 1000));
    const afterEvent = await outcome(verifier, token);
    await verifier.refreshNow();
    const afterPoll = await outcome(verifier, token);

    // Assess
    expect(accepted).toBe(`accepted ${leaked.clientId}`);
    expect(applied.clientId).toBe(leaked.clientId);
    expect([afterEvent, afterPoll]).toEqual(['TokenRevokedError', 'TokenRevokedError']);
    expect(verifier.status().revokedClients).toBe(1);
  });

  it('refuses an event detail that is not a record, naming no value', () => {
    // Prepare
    const verifier = verifierFor();

    // Act
    const act = () => verifier.applyEvent({ clientId: 'm2m-client-test-x', cutoff: 'yesterday' });

    // Assess
    expect(act).toThrow(RevocationsDocumentError);
    expect(act).toThrow(
      'The revocation document was not used (malformed): the event detail is not a revocation record',
    );
  });
});

describe('A document that cannot be used', () => {
  it.each([
    ['not JSON', '{"schemaVersion":1,', 'malformed', 'not JSON'],
    [
      'of another schema version',
      JSON.stringify({ schemaVersion: 2, updatedAt: new Date().toISOString(), revocations: [] }),
      'malformed',
      'not a schemaVersion 1 document (schemaVersion: invalid_value)',
    ],
    [
      'with a record without a cutoff',
      JSON.stringify({
        ...document(),
        revocations: [{ ...record('m2m-client-test-x', 0), cutoff: undefined }],
      }),
      'malformed',
      'not a schemaVersion 1 document (revocations.0.cutoff: invalid_type)',
    ],
    [
      'over 256 KiB',
      JSON.stringify({ ...document(), padding: 'x'.repeat(MAX_DOCUMENT_BYTES) }),
      'too_large',
      `${MAX_DOCUMENT_BYTES} bytes`,
    ],
  ])('is refused when %s, and the last good copy is kept', async (_case, body, reason, detail) => {
    // Prepare
    const token = await leaked.mint();
    documents.serve(document(record(leaked.clientId, (claimsOf(token).iat + 1) * 1000)));
    const verifier = verifierFor();
    await verifier.refreshNow();
    documents.serve(body);

    // Act
    const status = await verifier.refreshNow();
    const result = await outcome(verifier, token);

    // Assess
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(RevocationsDocumentError);
    expect(reported[0]).toMatchObject({ reason });
    expect(reported[0]?.message).toContain(detail);
    expect(reported[0]?.message).toContain('the last good copy is kept');
    expect(status.lastError).toBe(reported[0]);
    expect(status.revokedClients).toBe(1);
    expect(result).toBe('TokenRevokedError');
  });
});

describe('A stale document', () => {
  it('fails closed by default: every token is refused until a read succeeds again', async () => {
    // Prepare
    const token = await other.mint();
    const verifier = verifierFor({ maxStalenessMs: 60_000 });
    await verifier.refreshNow();
    documents.fail(503);
    clock += 60_001;
    await verifier.refreshNow();

    // Act
    const stale = await verifier.verify(token).catch((reason: unknown) => reason);
    documents.serve(document());
    await verifier.refreshNow();
    const recovered = await outcome(verifier, token);

    // Assess
    expect(stale).toBeInstanceOf(RevocationsStaleError);
    expect(stale).toMatchObject({ retryable: true, lastGoodAt: new Date(clock - 60_001) });
    expect((stale as Error).cause).toMatchObject({ name: 'RevocationsDocumentError', reason: 'http_status' });
    expect(recovered).toBe(`accepted ${other.clientId}`);
    expect(reported.map((error) => error.name)).toEqual([
      'RevocationsDocumentError',
      'RevocationsStaleError',
    ]);
  });

  it('fails closed when the document was never read', async () => {
    // Prepare
    documents.fail(404);
    const token = await other.mint();
    const verifier = verifierFor();

    // Act
    const error = await verifier.verify(token).catch((reason: unknown) => reason);

    // Assess
    expect(error).toBeInstanceOf(RevocationsStaleError);
    expect((error as Error).message).toBe('The revocation document has not been read yet');
    expect(verifier.status()).toMatchObject({ stale: true, lastGoodAt: undefined });
  });

  it('under accept_without_revocations accepts tokens, says so once through onError, and still applies the last copy', async () => {
    // Prepare
    const [revoked, fine] = await Promise.all([leaked.mint(), other.mint()]);
    documents.serve(document(record(leaked.clientId, (claimsOf(revoked).iat + 1) * 1000)));
    const verifier = verifierFor({ maxStalenessMs: 60_000, onStale: 'accept_without_revocations' });
    await verifier.refreshNow();
    documents.fail(500);
    clock += 120_000;

    // Act
    const results = [
      await outcome(verifier, fine),
      await outcome(verifier, fine),
      await outcome(verifier, revoked),
    ];

    // Assess
    expect(results).toEqual([
      `accepted ${other.clientId}`,
      `accepted ${other.clientId}`,
      'TokenRevokedError',
    ]);
    expect(reported.filter((error) => error instanceof RevocationsStaleError)).toHaveLength(1);
    expect(verifier.status().stale).toBe(true);
  });

  it('counts an unreachable store as a failed read, naming only the error', async () => {
    // Prepare
    const verifier = createVerifier({
      projectId: emulator.projectId,
      jwksUrl: jwksUrlOf(emulator),
      onError: (error) => reported.push(error),
      revocations: {
        refreshIntervalMs: 3_600_000,
        fetchDocument: async () => {
          throw new TypeError('fetch failed for https://bucket/doc?X-Amz-Signature=abcdef');
        },
      },
    });
    verifiers.push(verifier);

    // Act
    const status = await verifier.refreshNow();

    // Assess
    expect(status.lastError).toMatchObject({ name: 'RevocationsDocumentError', reason: 'unreachable' });
    expect(status.lastError?.message).toBe(
      'The revocation document was not used (unreachable): TypeError; the last good copy is kept',
    );
  });
});
