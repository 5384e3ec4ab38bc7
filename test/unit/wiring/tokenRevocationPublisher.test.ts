import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type ClientTokensRevokedEvent,
  parseRevocationDocument,
  type RevocationDocumentPort,
} from '#core/tokenRevocation.js';
import { readTokenRevocationEnv } from '#wiring/tokenRevocationEnvironment.js';
import { tokenRevocationPublisherHandler } from '#wiring/tokenRevocationPublisher.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';

function world(fetchImpl?: typeof fetch) {
  let body: string | null = null;
  const document: RevocationDocumentPort = {
    read: async () => ({
      document: body === null ? null : parseRevocationDocument(body),
      version: body === null ? null : 'v1',
    }),
    write: async (text, version) => {
      // As S3: If-None-Match: * fails when the object exists.
      if (version === null && body !== null) return 'conflict';
      body = text;
      return 'written';
    },
  };
  const published: ClientTokensRevokedEvent[] = [];
  const logger = new RecordingLogger();
  const handler = tokenRevocationPublisherHandler(
    () => ({
      document,
      events: { publish: async (event) => published.push(event) },
      clock: new FakeClock('2026-11-25T12:00:00.000Z'),
      wait: async () => undefined,
      logger,
    }),
    fetchImpl,
  );
  return { handler, published, logger, body: () => body };
}

const completion = (trigger: string) => ({
  'detail-type': 'Rotation Completed',
  source: 'stytch-m2m-rotator',
  detail: {
    rotationId: randomUUID(),
    clientId: 'm2m-a',
    clientKind: 'm2m',
    trigger,
    reason: 'leak_fail_secure',
    currentVersionId: randomUUID(),
    currentLastFour: 'DzJj',
    previousLastFour: 'Ab12',
    completedAt: '2026-11-25T11:59:58.250Z',
    durationMs: 4000,
  },
});

describe('The TokenRevocationPublisher handler (lambdas/wiring/tokenRevocationPublisher.ts)', () => {
  it("revokes on a leak rotation's completion", async () => {
    // Prepare
    const { handler, published, body } = world();

    // Act
    const result = await handler(completion('leak'));

    // Assess
    expect(result).toMatchObject({
      outcome: 'revoked',
      record: { clientId: 'm2m-a', cutoff: '2026-11-25T11:59:59.000Z' },
    });
    expect(published).toHaveLength(1);
    expect(parseRevocationDocument(body() ?? '').revocations).toHaveLength(1);
  });

  it('writes nothing for a scheduled rotation, and says why', async () => {
    // Prepare
    const { handler, published, logger, body } = world();

    // Act
    const result = await handler(completion('schedule'));

    // Assess
    expect(result).toEqual({ outcome: 'ignored', why: 'a schedule rotation' });
    expect(published).toEqual([]);
    expect(body()).toBeNull();
    expect(logger.lines.map((line) => JSON.parse(line).message)).toEqual(['No token revocation called for']);
  });

  it("logs an operator's note scrubbed of control characters", async () => {
    // Prepare
    const { handler, logger } = world();

    // Act
    await handler({
      'detail-type': 'Token Revocation Requested',
      source: 'stytch-m2m-rotator.operator',
      detail: { clientId: 'm2m-a', note: 'INC-1\u001b[31m', requestedBy: 'cli:ana' },
    });

    // Assess
    const requested = JSON.parse(logger.lines[0] ?? '{}');
    expect(requested).toMatchObject({
      message: 'Token revocation requested',
      note: 'INC-1?[31m',
      requestedBy: 'cli:ana',
    });
  });

  it('names every missing variable of its environment', () => {
    expect(() => readTokenRevocationEnv({})).toThrow(
      /ROTATOR_EVENT_BUS_NAME.*ROTATOR_REVOCATIONS_BUCKET|ROTATOR_REVOCATIONS_BUCKET.*ROTATOR_EVENT_BUS_NAME/s,
    );
  });

  describe('as the stack’s Custom::TokenRevocationDocument (CloudFormation invokes it directly)', () => {
    /** CloudFormation's presigned response URL: a real HTTP server that records each PUT. */
    async function responseUrl(status = 200) {
      const answers: { method: string; contentType: string | undefined; body: Record<string, unknown> }[] =
        [];
      const server = createServer((request, response) => {
        let text = '';
        request.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        request.on('end', () => {
          answers.push({
            method: request.method ?? '',
            contentType: request.headers['content-type'],
            body: JSON.parse(text) as Record<string, unknown>,
          });
          response.writeHead(status).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}/cfn-response?X-Amz-Signature=abc`,
        answers,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    }
    const request = (requestType: string, url: string) => ({
      RequestType: requestType,
      ResponseURL: url,
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/rotator/1',
      RequestId: 'req-1',
      LogicalResourceId: 'TokenRevocationsInitialDocument',
      ResourceType: 'Custom::TokenRevocationDocument',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:…', Bucket: 'b', Key: 'token-revocations.json' },
      ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'token-revocations.json' }),
    });

    it('writes the empty document on Create and answers SUCCESS; a second Create keeps it', async () => {
      // Prepare
      const cfn = await responseUrl();
      const { handler, body, published } = world();

      // Act
      const created = await handler(request('Create', cfn.url));
      const first = body();
      const again = await handler(request('Create', cfn.url));
      await cfn.close();

      // Assess
      expect(created).toEqual({ outcome: 'document_initialized', document: 'written' });
      expect(parseRevocationDocument(first ?? '').revocations).toEqual([]);
      expect(again).toEqual({ outcome: 'document_initialized', document: 'kept' });
      expect(body()).toBe(first);
      expect(published).toEqual([]);
      expect(cfn.answers[0]).toEqual({
        method: 'PUT',
        contentType: '',
        body: expect.objectContaining({
          Status: 'SUCCESS',
          PhysicalResourceId: 'token-revocations.json',
          StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/rotator/1',
          RequestId: 'req-1',
          LogicalResourceId: 'TokenRevocationsInitialDocument',
        }),
      });
    });

    it('touches nothing on Update and Delete, and answers SUCCESS with the same physical id', async () => {
      // Prepare
      const cfn = await responseUrl();
      const { handler, body } = world();

      // Act
      const results = [await handler(request('Update', cfn.url)), await handler(request('Delete', cfn.url))];
      await cfn.close();

      // Assess
      expect(results).toEqual([
        { outcome: 'document_initialized', document: 'untouched' },
        { outcome: 'document_initialized', document: 'untouched' },
      ]);
      expect(body()).toBeNull();
      expect(cfn.answers.map((answer) => [answer.body.Status, answer.body.PhysicalResourceId])).toEqual([
        ['SUCCESS', 'token-revocations.json'],
        ['SUCCESS', 'token-revocations.json'],
      ]);
    });

    it('answers FAILED with the reason when the write fails, so the deploy does not wait an hour', async () => {
      // Prepare
      const cfn = await responseUrl();
      const handler = tokenRevocationPublisherHandler(() => ({
        document: {
          read: async () => ({ document: null, version: null }),
          write: async () => {
            throw new Error('AccessDenied: s3:PutObject');
          },
        },
        events: { publish: async () => undefined },
        clock: new FakeClock('2026-11-25T12:00:00.000Z'),
        wait: async () => undefined,
        logger: new RecordingLogger(),
      }));

      // Act
      const failure = await handler(request('Create', cfn.url)).catch((error: unknown) => error);
      await cfn.close();

      // Assess
      expect(failure).toBeInstanceOf(Error);
      expect(cfn.answers).toHaveLength(1);
      expect(cfn.answers[0]?.body).toMatchObject({
        Status: 'FAILED',
        Reason: 'Error: AccessDenied: s3:PutObject',
      });
    });
  });
});
