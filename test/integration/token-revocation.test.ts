import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '#cli/exec.js';
import { RotationCompletedDetailSchema } from '#core/events.js';
import { parseRevocationDocument, type RevocationDocument } from '#core/tokenRevocation.js';
import { awsClientConfig } from '#sandbox/world/awsClientConfig.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';

/**
 * Token revocation end to end, in the sandbox (issue 16): a leak rotation's `Rotation Completed`
 * reaches the TokenRevocationPublisher through the template's rule, which writes the record into
 * the document in moto's S3 (read here as a resource server would, through the gateway) and
 * publishes `Client Tokens Revoked`; `rotator revoke-tokens` does the same for an operator.
 */
describe('Token revocation against the sandbox', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let s3: S3Client;
  const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;

  const run = async (argv: string[], stdin?: string) => {
    const io = bufferedIo(env, stdin);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  /** The document as a resource server reads it: a signed GET of the URL, path-style on the gateway. */
  const readDocument = async (): Promise<{ document: RevocationDocument; etag: string } | undefined> => {
    const url = new URL(sandbox.tokenRevocationsUrl);
    const [, bucket, key] = url.pathname.split('/');
    try {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return {
        document: parseRevocationDocument(await (answer.Body?.transformToString() ?? '')),
        etag: answer.ETag ?? '',
      };
    } catch (error) {
      if (error instanceof Error && error.name === 'NoSuchKey') return undefined;
      throw error;
    }
  };

  const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await sandbox.settle();
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        const failures = JSON.stringify(sandbox.gatewayFailures).slice(0, 2000);
        const delivered = JSON.stringify(sandbox.gatewayDeliveries).slice(0, 3000);
        const seen = sandbox.events.map((event) => event.detailType).join(', ');
        throw new Error(
          `timed out waiting for ${what}; undelivered: ${failures}; delivered: ${delivered}; events: ${seen}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    env = { ...sandbox.cliEnv(), USER: 'responder' };
    // A resource server's own credentials; moto checks no signature, the gateway forwards S3 as is.
    s3 = new S3Client({ ...awsClientConfig(sandbox.awsEndpoint), forcePathStyle: true });
  });
  afterAll(async () => {
    s3?.destroy();
    await sandbox?.stop();
  });

  it('a completed leak rotation writes the client’s record into the document and announces it', async () => {
    // Prepare
    // The sample's one client without consumers: its leak rotation completes at once.
    const clientId = id('connected-app-test-partner-portal');

    // Act
    const reported = await run(['leak', 'report', '--client-id', clientId, '--json']);

    // Assess: the record's cutoff is the completion, rounded up to the whole second
    expect(reported.code).toBe(0);
    const revoked = await until('Client Tokens Revoked', async () =>
      sandbox.events.find(
        (event) => event.detailType === 'Client Tokens Revoked' && event.detail.clientId === clientId,
      ),
    );
    const completed = sandbox.events.find(
      (event) => event.detailType === 'Rotation Completed' && event.detail.clientId === clientId,
    );
    const completion = RotationCompletedDetailSchema.parse(completed?.detail);
    expect(completion.trigger).toBe('leak');
    const cutoffMs = Math.ceil(Date.parse(completion.completedAt) / 1000) * 1000;
    expect(revoked.detail).toEqual({
      clientId,
      cutoff: new Date(cutoffMs).toISOString(),
      expiresAt: new Date(cutoffMs + 3_660_000).toISOString(),
      rotationId: completion.rotationId,
      reason: 'leak_rotation',
    });
    const read = await readDocument();
    expect(read?.document.revocations).toContainEqual(revoked.detail);
    expect(read?.etag).toMatch(/^"[0-9a-f]{32}"$/);
    // A poll of an unchanged document costs a 304 and no body.
    const [, bucket, key] = new URL(sandbox.tokenRevocationsUrl).pathname.split('/');
    const unchanged = await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: read?.etag ?? '' }))
      .then(
        () => 200,
        (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
      );
    expect(unchanged).toBe(304);
  });

  it('rotator revoke-tokens records an operator’s cutoff, and refuses an unmanaged client', async () => {
    // Prepare
    const clientId = id('m2m-client-test-billing-worker');

    // Act
    const unmanaged = await run(['revoke-tokens', 'm2m-client-nobody-manages', '--json']);
    const revoked = await run(['revoke-tokens', clientId, '--reason', 'INC-7', '--json']);

    // Assess
    expect(unmanaged.code).toBe(2);
    expect(unmanaged.stderr).toMatch(/is not managed by this deployment/);
    expect(revoked).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(revoked.stdout)).toMatchObject({ clientId, eventId: expect.any(String) });
    const record = await until('the operator’s record in the document', async () =>
      (await readDocument())?.document.revocations.find((held) => held.clientId === clientId),
    );
    expect(record).toMatchObject({ clientId, rotationId: null, reason: 'operator' });
  });

  it.each([
    { stage: 'AWSCURRENT', detailType: 'Rotation Completed', ends: 'completes it at once (leak_escalated)' },
    { stage: 'AWSPENDING', detailType: 'Rotation Cancelled', ends: 'cancels it (leak_of_pending)' },
  ] as const)(
    'a leak of the $stage secret preempting a rotation in progress revokes the client’s tokens when it $ends',
    async ({ stage, detailType }) => {
      // Prepare: a manual rotation of a client whose consumers never report waits with its pending secret
      const clientId = id('m2m-client-test-reporting');
      const secretId = `${sandbox.config.secretPrefix}/${clientId}`;
      const started = await run(['rotate', clientId, '--reason', 'in progress', '--no-wait']);
      expect(started.code, started.stderr).toBe(0);
      const leaked = await until(`the pending secret of ${clientId}`, async () => {
        const stages = await sandbox.aws.secretsManager
          .send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSPENDING' }))
          .then(
            () => true,
            () => false,
          );
        if (!stages) return undefined;
        const { SecretString = '{}' } = await sandbox.aws.secretsManager.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
        );
        return (JSON.parse(SecretString) as { client_secret: string }).client_secret;
      });
      const seen = sandbox.events.length;

      // Act
      const reported = await run(['leak', 'report', '--secret-stdin'], leaked);

      // Assess: the ending that killed the leaked secret is the record's cutoff
      expect(reported.code, reported.stderr).toBe(0);
      const revoked = await until('Client Tokens Revoked', async () =>
        sandbox.events
          .slice(seen)
          .find(
            (event) => event.detailType === 'Client Tokens Revoked' && event.detail.clientId === clientId,
          ),
      );
      const ending = sandbox.events
        .slice(seen)
        .find((event) => event.detailType === detailType && event.detail.clientId === clientId);
      const endedDetail = (ending?.detail ?? {}) as {
        completedAt?: string;
        cancelledAt?: string;
        rotationId?: string;
      };
      const endedAt = String(endedDetail.completedAt ?? endedDetail.cancelledAt);
      expect(revoked.detail).toMatchObject({
        clientId,
        cutoff: new Date(Math.ceil(Date.parse(endedAt) / 1000) * 1000).toISOString(),
        rotationId: endedDetail.rotationId,
        reason: 'leak_rotation',
      });
      // The follow-up leak rotation of a leaked pending waits for consumers that never report; it
      // holds this client's lock until the sandbox stops (no later test rotates this client).
    },
  );

  describe('the demo resource server (GET /whoami, the verifier on every request)', () => {
    const whoami = async (token: string | undefined, query = '') => {
      const response = await fetch(`${sandbox.resourceServer.url}/whoami${query}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      return {
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
        challenge: response.headers.get('www-authenticate'),
      };
    };
    const currentSecret = async (clientId: string): Promise<string> => {
      const { SecretString } = await sandbox.aws.secretsManager.send(
        new GetSecretValueCommand({ SecretId: `${sandbox.config.secretPrefix}/${clientId}` }),
      );
      return (JSON.parse(SecretString ?? '{}') as { client_secret: string }).client_secret;
    };
    const mint = async (clientId: string): Promise<string> =>
      (
        await sandbox.stytchClient.token({ clientId, clientSecret: await currentSecret(clientId) })
      ).accessToken.reveal();

    it('answers 200 with the client and its scopes, 401 without a valid token, 403 for a missing scope', async () => {
      // Prepare
      const clientId = id('m2m-client-test-reporting');
      const token = await mint(clientId);

      // Act
      const accepted = await whoami(token);
      const missing = await whoami(undefined);
      const forged = await whoami(`${token.slice(0, -4)}AAAA`);
      const scoped = await whoami(token, '?scope=admin:everything');

      // Assess
      expect(accepted.status).toBe(200);
      expect(accepted.body).toEqual({ clientId, scopes: expect.any(Array) });
      expect(missing).toMatchObject({ status: 401, body: { reason: 'missing_token' } });
      expect(forged).toMatchObject({
        status: 401,
        body: { error: 'invalid_token', reason: 'token_invalid' },
      });
      expect(forged.challenge).toMatch(/^Bearer error="invalid_token"/);
      expect(scoped).toMatchObject({ status: 403, body: { reason: 'insufficient_scope' } });
      for (const answer of [missing, forged, scoped]) expect(JSON.stringify(answer)).not.toContain(token);
    });

    it('refuses a token minted before an operator’s revocation within seconds, and accepts one minted after', async () => {
      // Prepare
      const clientId = id('m2m-client-test-search-indexer');
      const before = await mint(clientId);
      expect((await whoami(before)).status).toBe(200);

      // Act
      const revoked = await run(['revoke-tokens', clientId, '--reason', 'INC-8']);
      const t0 = Date.now();
      const refused = await until('the demo API refusing the earlier token', async () => {
        const answer = await whoami(before);
        return answer.status === 401 ? answer : undefined;
      });
      const refusedAfterMs = Date.now() - t0;
      const cutoff = Date.parse(String(refused.body.cutoff));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutoff - Date.now())));
      const after = await mint(clientId);

      // Assess
      expect(revoked.code).toBe(0);
      expect(refused.body).toMatchObject({ error: 'invalid_token', reason: 'token_revoked' });
      expect(refused.body.message).toContain(clientId);
      expect(refusedAfterMs).toBeLessThan(15_000);
      // Signature, issuer, audience and expiry still hold: only the record refuses it.
      expect(await sandbox.resourceServer.plainJwksAccepts(before)).toBe(true);
      expect((await whoami(after)).status).toBe(200);
    });
  });
});
