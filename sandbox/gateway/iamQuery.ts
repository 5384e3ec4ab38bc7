/**
 * IAM's query protocol (form-encoded POST, XML answers) as the sandbox speaks it to moto: the few
 * calls that identify a caller (access key → user, tags, policies) and create the sandbox's own
 * principals. moto picks the service from the credential scope and checks no signature.
 */
import type { AwsJsonEndpoint } from './awsJson.js';

/** An IAM error answer (`<Code>` of moto's XML), e.g. `NoSuchEntity`, `EntityAlreadyExists`. */
export class IamQueryError extends Error {
  public readonly code: string;
  public readonly statusCode: number;

  public constructor(code: string, message: string, statusCode: number) {
    super(message);
    this.name = 'IamQueryError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** Calls IAM `action` with `params` (flattened query parameters); the XML answer, or an {@link IamQueryError}. */
export async function callIam(
  target: AwsJsonEndpoint,
  action: string,
  params: Readonly<Record<string, string>> = {},
): Promise<string> {
  const body = new URLSearchParams({ Action: action, Version: '2010-05-08', ...params }).toString();
  const response = await target.dispatcher.request({
    origin: target.endpoint,
    path: '/',
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization:
        `AWS4-HMAC-SHA256 Credential=sandbox/20260101/${target.region}/iam/aws4_request, ` +
        'SignedHeaders=host, Signature=0',
    },
    body,
  });
  const text = await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) {
    const code = xmlValues(text, 'Code')[0] ?? 'InternalFailure';
    const message = xmlValues(text, 'Message')[0] ?? text.slice(0, 200);
    throw new IamQueryError(code, `IAM ${action}: ${message}`, response.statusCode);
  }
  return text;
}

/** The text of every `<tag>…</tag>` in `xml` (not nested in itself), entities decoded. */
export function xmlValues(xml: string, tag: string): string[] {
  const values: string[] = [];
  const pattern = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  for (const match of xml.matchAll(pattern)) values.push(decodeXml(match[1] ?? ''));
  return values;
}

/** The raw XML of every `<member>…</member>` inside the first `<list>…</list>`. */
export function xmlMembers(xml: string, list: string): string[] {
  const inner = new RegExp(`<${list}>([\\s\\S]*?)</${list}>`).exec(xml)?.[1] ?? '';
  return [...inner.matchAll(/<member>([\s\S]*?)<\/member>/g)].map((match) => match[1] ?? '');
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_whole, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_whole, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replace(/&amp;/g, '&');
}

/** An IAM user's access key (the secret key is known only to whoever created it). */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The access key in a `CreateAccessKey` answer; undefined when `xml` is not one. */
export function accessKeyOfCreateAnswer(xml: string): (AccessKey & { userName: string }) | undefined {
  if (!xml.includes('<CreateAccessKeyResult>')) return undefined;
  const accessKeyId = xmlValues(xml, 'AccessKeyId')[0];
  const secretAccessKey = xmlValues(xml, 'SecretAccessKey')[0];
  const userName = xmlValues(xml, 'UserName')[0] ?? '';
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  return { accessKeyId, secretAccessKey, userName };
}
