import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientCredentials,
  type HealthReportDetail,
  httpTokenEndpoint,
  M2MCredentials,
  type SecretSource,
  type Stage,
  TokenRequestError,
} from '#consumer/index.js';
import { Secret } from '#core/secret.js';

/**
 * The consumer library against a token endpoint that echoes what it was sent: the whole request
 * form (client_secret included) in `error` and `error_description`, with control characters, a
 * terminal escape and kilobytes of padding, and the client's current secret as "expected". A loopback
 * HTTP server stands in for it (the Stytch emulator does not misbehave this way); the library's own
 * HTTP token endpoint talks to it.
 */

const CLIENT_ID = 'm2m-client-test-echo';
const SECRET_ID = `stytch/m2m/${CLIENT_ID}`;
// Characters a form encodes (`+`, `/`, `=`, `~`), so the echo holds the secret both raw and encoded.
const CURRENT = 'secret-test-current+echo/0001=~abcd';
const PENDING = 'secret-test-pending+echo/0002=~wxyz';
const SECRET_FORMS = [CURRENT, PENDING].flatMap((value) => [
  value,
  encodeURIComponent(value),
  new URLSearchParams({ v: value }).toString().slice(2),
]);
type Echo = 'error' | 'error_description';

let server: Server;
let tokenUrl: string;
/** Which field the endpoint echoes the form into. */
let echoInto: Echo = 'error_description';

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const echo = `you sent ${body} (decoded: ${decodeURIComponent(body.replace(/\+/g, ' '))})\u0000\r\n\u001b[31mFORGED log line\u001b[0m\u2028expected ${CURRENT} ${'x'.repeat(4000)}`;
      const answer =
        echoInto === 'error'
          ? { error: `invalid_client ${echo}`, error_description: 'Client authentication failed' }
          : { error: 'invalid_client', error_description: echo };
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...answer, status_code: 401, request_id: 'request-id-test-echo' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  tokenUrl = `http://127.0.0.1:${port}/v1/public/project-test-echo/oauth2/token`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

function credentials(secret: string): ClientCredentials {
  return { projectId: 'project-test-echo', clientId: CLIENT_ID, clientSecret: new Secret(secret), tokenUrl };
}

/** Secrets Manager as the library sees it: AWSCURRENT, and AWSPENDING once a rotation began. */
class TwoVersionSource implements SecretSource {
  public async read(_secretId: string, stage: Stage) {
    return stage === 'AWSCURRENT'
      ? { versionId: 'v-current', credentials: credentials(CURRENT) }
      : { versionId: 'v-pending', credentials: credentials(PENDING) };
  }

  public async stages() {
    return { 'v-current': ['AWSCURRENT'], 'v-pending': ['AWSPENDING'] };
  }
}

let open: M2MCredentials | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

function consumer(reports: HealthReportDetail[]): M2MCredentials {
  open = new M2MCredentials({
    secretId: SECRET_ID,
    consumerName: 'billing-api',
    source: new TwoVersionSource(),
    tokens: httpTokenEndpoint(),
    reporter: { report: async (detail) => void reports.push(detail) },
    pollIntervalMs: 0,
  });
  return open;
}

/** Whether `text` holds a C0 or C1 control, DEL, or a format character a log viewer would act on. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((character) => {
    const code = character.codePointAt(0) ?? 0;
    return (
      code < 0x20 ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0x200b && code <= 0x200f) ||
      (code >= 0x2028 && code <= 0x202e)
    );
  });
}

function expectNoSecret(text: string): void {
  for (const form of SECRET_FORMS) expect(text).not.toContain(form);
}

function expectClean(text: string, maxLength: number): void {
  expectNoSecret(text);
  expect(hasControlCharacter(text)).toBe(false);
  expect(text.length).toBeLessThanOrEqual(maxLength);
}

describe.each<{ field: Echo; shown: string }>([
  { field: 'error', shown: 'HTTP 401 invalid_client you sent grant_type=client_credentials' },
  { field: 'error_description', shown: 'HTTP 401 invalid_client: you sent grant_type=client_credentials' },
])('A token endpoint that echoes the form in $field', ({ field, shown }) => {
  it('is refused with an error that holds no secret, no control character and at most a few hundred characters', async () => {
    // Prepare
    echoInto = field;

    // Act
    const error = await httpTokenEndpoint()
      .mint(credentials(PENDING), [])
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TokenRequestError);
    const refused = error as TokenRequestError;
    expect(refused.status).toBe(401);
    expect(refused.message).toContain(shown);
    expectClean(refused.message, 600);
    expectClean(refused.errorType ?? '', 200);
    expectNoSecret(`${inspect(refused, { depth: Number.POSITIVE_INFINITY })} ${JSON.stringify(refused)}`);
  });

  it('gets an unhealthy health report and a thrown error that hold neither secret', async () => {
    // Prepare
    echoInto = field;
    const reports: HealthReportDetail[] = [];
    const creds = consumer(reports);

    // Act
    const check = await creds.onRotatorEvent({
      'detail-type': 'Rotation Pending',
      detail: { clientId: CLIENT_ID, rotationId: 'v-pending', pendingVersionId: 'v-pending' },
    });
    const thrown = await creds.accessToken().catch((caught: unknown) => caught);

    // Assess
    expect(check).toMatchObject({ healthy: false, reported: true });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ consumer: 'billing-api', healthy: false });
    expect(reports[0]?.detail).toContain(shown);
    expectClean(reports[0]?.detail ?? '', 500);
    expectClean(check?.detail ?? '', 500);
    expectNoSecret(JSON.stringify(reports));
    expect(thrown).toBeInstanceOf(TokenRequestError);
    expectClean((thrown as Error).message, 600);
  });
});
