import { Readable } from 'node:stream';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { parseAuthorization, type SigV4Authorization, verifySignature } from '#sandbox/gateway/sigv4.js';

const KEY = {
  accessKeyId: 'AKIASANDBOXTEST00001',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

interface Captured {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * A PutEvents request exactly as the AWS SDK v3 signs and sends it: the client's own middleware
 * stack signs it, and a request handler that never touches the network captures it.
 */
async function signedByTheSdk(
  credentials = KEY,
  region = 'us-east-1',
  entries = [
    {
      EventBusName: 'bus',
      Source: 'stytch-m2m-rotator.operator',
      DetailType: 'Secret Leak Detected',
      Detail: '{}',
    },
  ],
): Promise<Captured> {
  let captured: Captured | undefined;
  const client = new EventBridgeClient({
    region,
    endpoint: 'http://127.0.0.1:4566',
    credentials,
    requestHandler: {
      handle: async (request: {
        method: string;
        path: string;
        query?: Record<string, string>;
        headers: Record<string, string>;
        body?: string | Uint8Array;
      }) => {
        captured = {
          method: request.method,
          url: request.path,
          headers: Object.fromEntries(
            Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
          ),
          body:
            typeof request.body === 'string' || request.body === undefined
              ? Buffer.from(request.body ?? '', 'utf8')
              : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength),
        };
        const body = Buffer.from('{"Entries":[{"EventId":"e-1"}],"FailedEntryCount":0}');
        return {
          response: {
            statusCode: 200,
            reason: 'OK',
            headers: { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(body.length) },
            body: Readable.from([body]),
          },
        };
      },
    } as never,
  });
  await client.send(new PutEventsCommand({ Entries: entries }));
  client.destroy();
  if (captured === undefined) throw new Error('the SDK sent nothing');
  return captured;
}

function authorizationOf(request: Captured): SigV4Authorization {
  const parsed = parseAuthorization(request.headers.authorization);
  if ('code' in parsed) throw new Error(`not a SigV4 header: ${parsed.message}`);
  return parsed;
}

const EXPECTED = { region: 'us-east-1', service: 'events' };

describe('SigV4 verification (sandbox/gateway/sigv4.ts) of requests the AWS SDK v3 signed', () => {
  it('accepts the SDK signature with the right secret key', async () => {
    // Prepare
    const request = await signedByTheSdk();

    // Act
    const authorization = authorizationOf(request);
    const refusal = verifySignature(request, authorization, KEY.secretAccessKey, EXPECTED);

    // Assess
    expect(authorization).toMatchObject({
      accessKeyId: KEY.accessKeyId,
      region: 'us-east-1',
      service: 'events',
    });
    expect(authorization.signedHeaders).toContain('host');
    expect(refusal).toBeNull();
  });

  it('refuses it with another secret key, as InvalidSignatureException', async () => {
    // Prepare
    const request = await signedByTheSdk();

    // Act
    const refusal = verifySignature(request, authorizationOf(request), `${KEY.secretAccessKey}x`, EXPECTED);

    // Assess
    expect(refusal).toEqual({
      code: 'InvalidSignatureException',
      message: expect.stringContaining('The request signature we calculated does not match'),
    });
  });

  it('refuses a body changed after signing (another source in the entry)', async () => {
    // Prepare
    const request = await signedByTheSdk();
    const tampered = {
      ...request,
      body: Buffer.from(request.body.toString('utf8').replace('.operator', '.consumer.billing-api')),
    };

    // Act
    const refusal = verifySignature(tampered, authorizationOf(request), KEY.secretAccessKey, EXPECTED);

    // Assess
    expect(tampered.body.equals(request.body)).toBe(false);
    expect(refusal?.code).toBe('InvalidSignatureException');
  });

  it('refuses a signed header changed after signing', async () => {
    // Prepare
    const request = await signedByTheSdk();
    const tampered = { ...request, headers: { ...request.headers, 'x-amz-target': 'AWSEvents.PutRule' } };

    // Act
    const refusal = verifySignature(tampered, authorizationOf(request), KEY.secretAccessKey, EXPECTED);

    // Assess
    expect(refusal?.code).toBe('InvalidSignatureException');
  });

  it('refuses a credential scoped to another region or service', async () => {
    // Prepare
    const otherRegion = await signedByTheSdk(KEY, 'eu-west-1');
    const request = await signedByTheSdk();

    // Act
    const regionRefusal = verifySignature(
      otherRegion,
      authorizationOf(otherRegion),
      KEY.secretAccessKey,
      EXPECTED,
    );
    const serviceRefusal = verifySignature(request, authorizationOf(request), KEY.secretAccessKey, {
      region: 'us-east-1',
      service: 'sqs',
    });

    // Assess
    expect(regionRefusal).toEqual({
      code: 'InvalidSignatureException',
      message: expect.stringContaining('region'),
    });
    expect(serviceRefusal).toEqual({
      code: 'InvalidSignatureException',
      message: expect.stringContaining("'sqs'"),
    });
  });

  it('refuses a request dated more than 15 minutes from the server clock', async () => {
    // Prepare
    const request = await signedByTheSdk();
    const sixteenMinutesLater = Date.now() + 16 * 60 * 1000;

    // Act
    const refusal = verifySignature(request, authorizationOf(request), KEY.secretAccessKey, {
      ...EXPECTED,
      now: () => sixteenMinutesLater,
    });

    // Assess
    expect(refusal).toEqual({
      code: 'InvalidSignatureException',
      message: expect.stringContaining('Signature expired'),
    });
  });

  it('parses a missing or foreign Authorization header as the refusal AWS answers', () => {
    // Act
    const missing = parseAuthorization(undefined);
    const basic = parseAuthorization('Basic dXNlcjpwYXNz');
    const incomplete = parseAuthorization(
      'AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/events/aws4_request',
    );

    // Assess
    expect(missing).toMatchObject({ code: 'MissingAuthenticationTokenException' });
    expect(basic).toMatchObject({ code: 'IncompleteSignatureException' });
    expect(incomplete).toMatchObject({ code: 'IncompleteSignatureException' });
  });
});
