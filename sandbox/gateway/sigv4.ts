/**
 * AWS Signature Version 4, checked the way an AWS endpoint checks it: the `Authorization` header's
 * credential scope, the request time, and the signature recomputed over the request as received
 * with the caller's secret key. Pure: the caller looks the secret key up.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The parts of an `Authorization: AWS4-HMAC-SHA256 …` header. */
export interface SigV4Authorization {
  readonly accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** A request as the server received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query as sent (`/`, `/a%20b?x=1`). */
  readonly url: string;
  /** Header names in lower case (Node's `IncomingMessage.headers`). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Buffer;
}

/** What the endpoint expects of the credential scope. */
export interface SigV4Expectation {
  readonly region: string;
  readonly service: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Why a request's signature was refused, with the error code and message a JSON-protocol AWS
 * service answers (HTTP 400 for each of them; `UnrecognizedClientException` for an access key it
 * does not know, which the caller decides).
 */
export type SigV4Refusal =
  | { readonly code: 'MissingAuthenticationTokenException'; readonly message: string }
  | { readonly code: 'IncompleteSignatureException'; readonly message: string }
  | { readonly code: 'InvalidSignatureException'; readonly message: string };

/** Requests dated more than this far from the server's clock are refused (AWS: 15 minutes). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** The header, parsed; a refusal when there is none or it is not a SigV4 header. */
export function parseAuthorization(header: string | undefined): SigV4Authorization | SigV4Refusal {
  if (header === undefined || header.trim() === '') {
    return { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  }
  const trimmed = header.trim();
  if (!trimmed.startsWith(`${ALGORITHM} `)) {
    return {
      code: 'IncompleteSignatureException',
      message: `Authorization header requires the ${ALGORITHM} algorithm.`,
    };
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const scope = credential?.split('/') ?? [];
  if (
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined ||
    scope.length !== 5 ||
    scope[4] !== 'aws4_request' ||
    !/^[0-9a-f]{64}$/.test(signature)
  ) {
    return {
      code: 'IncompleteSignatureException',
      message:
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters with a complete credential scope.",
    };
  }
  const [accessKeyId = '', date = '', region = '', service = ''] = scope;
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: signedHeaders.split(';').map((name) => name.trim().toLowerCase()),
    signature,
  };
}

/** Whether {@link parseAuthorization} refused the header. */
export function isRefusal(parsed: SigV4Authorization | SigV4Refusal): parsed is SigV4Refusal {
  return 'code' in parsed;
}

/**
 * Checks the signature of `request` (whose header parsed as `authorization`) with `secretAccessKey`;
 * null when it holds, else the refusal an AWS endpoint answers.
 */
export function verifySignature(
  request: ReceivedRequest,
  authorization: SigV4Authorization,
  secretAccessKey: string,
  expected: SigV4Expectation,
): SigV4Refusal | null {
  const amzDate = headerValue(request.headers['x-amz-date']);
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    return {
      code: 'IncompleteSignatureException',
      message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    };
  }
  if (!authorization.signedHeaders.includes('host')) {
    return {
      code: 'InvalidSignatureException',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    };
  }
  if (authorization.date !== amzDate.slice(0, 8)) {
    return {
      code: 'InvalidSignatureException',
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${authorization.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    };
  }
  if (authorization.service !== expected.service) {
    return {
      code: 'InvalidSignatureException',
      message: `Credential should be scoped to correct service: '${expected.service}'.`,
    };
  }
  if (authorization.region !== expected.region) {
    return {
      code: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region, not '${authorization.region}'.`,
    };
  }
  const requestTime = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const now = (expected.now ?? Date.now)();
  if (Number.isNaN(requestTime) || Math.abs(now - requestTime) > MAX_CLOCK_SKEW_MS) {
    return {
      code: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is not within 15 minutes of the server time ${compactIso(now)}.`,
    };
  }
  const computed = signatureOf(request, authorization, amzDate, secretAccessKey);
  const given = Buffer.from(authorization.signature, 'hex');
  const ours = Buffer.from(computed, 'hex');
  return given.length === ours.length && timingSafeEqual(given, ours)
    ? null
    : { code: 'InvalidSignatureException', message: SIGNATURE_MISMATCH };
}

/** The SigV4 signature of `request` over the headers `authorization` names (hex). */
export function signatureOf(
  request: ReceivedRequest,
  authorization: Pick<SigV4Authorization, 'date' | 'region' | 'service' | 'signedHeaders'>,
  amzDate: string,
  secretAccessKey: string,
): string {
  const scope = `${authorization.date}/${authorization.region}/${authorization.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest(request, authorization))].join(
    '\n',
  );
  const dateKey = hmac(`AWS4${secretAccessKey}`, authorization.date);
  const regionKey = hmac(dateKey, authorization.region);
  const serviceKey = hmac(regionKey, authorization.service);
  const signingKey = hmac(serviceKey, 'aws4_request');
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/** The canonical request of SigV4 (the body is hashed as received, whatever a header claims). */
export function canonicalRequest(
  request: ReceivedRequest,
  authorization: Pick<SigV4Authorization, 'signedHeaders'>,
): string {
  const queryStart = request.url.indexOf('?');
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const query = queryStart === -1 ? '' : request.url.slice(queryStart + 1);
  const names = [...authorization.signedHeaders].sort();
  const headerLines = names.map((name) => `${name}:${canonicalHeaderValue(request.headers[name])}\n`);
  return [
    request.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    headerLines.join(''),
    names.join(';'),
    sha256Hex(request.body),
  ].join('\n');
}

/** Each path segment URI-encoded once more (what the SDKs sign for every service but S3). */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of (path === '' ? '/' : path).split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const joined = `/${segments.map(encodeRfc3986).join('/')}`;
  return path.endsWith('/') && joined !== '/' ? `${joined}/` : joined;
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      return [encodeRfc3986(decodeQueryPart(name)), encodeRfc3986(decodeQueryPart(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a === b ? compare(av, bv) : compare(a, b)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, '%20'));
  } catch {
    return part;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonicalHeaderValue(value: string | readonly string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(',') : ((value as string | undefined) ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

function headerValue(value: string | readonly string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function compactIso(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
