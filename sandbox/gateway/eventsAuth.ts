/**
 * Who may put what on the bus, decided as AWS decides it: every `PutEvents` caller is identified by
 * the access key of its SigV4 `Authorization` header (moto's IAM: the key's user, its tags, its
 * policies), the signature is verified with that key's secret, and each entry is authorized against
 * the caller's identity policies with the entry's `events:source` and `events:detail-type`. The
 * template's own managed policies stand for the moto policies of the same name (construct id).
 *
 * moto never answers a secret key after `CreateAccessKey`, so the authorizer knows the secret keys
 * it was given (the sandbox's principals) and those it saw in `CreateAccessKey` answers it proxied;
 * any other key is refused as unknown, as AWS refuses a key it did not issue.
 */
import type { IncomingMessage } from 'node:http';
import { type AwsJsonEndpoint, AwsJsonError } from './awsJson.js';
import { type Decision, evaluatePolicies, type PolicyDocument } from './iamPolicy.js';
import {
  type AccessKey,
  accessKeyOfCreateAnswer,
  callIam,
  IamQueryError,
  xmlMembers,
  xmlValues,
} from './iamQuery.js';
import { isRefusal, parseAuthorization, type ReceivedRequest, verifySignature } from './sigv4.js';
import { eventBusArn } from './templateGrants.js';

/** Options of {@link PutEventsAuthorizer}. */
export interface PutEventsAuthorizerOptions {
  /** moto, whose IAM holds the users, their keys, tags and policies. */
  readonly moto: AwsJsonEndpoint;
  readonly accountId: string;
  /**
   * Documents that stand for the moto managed policy of the same name (the template's managed
   * policies by construct id): a user with such a policy attached holds this document.
   */
  readonly namedPolicies: ReadonlyMap<string, PolicyDocument>;
  /**
   * Principal tag key → name in `namedPolicies`: a user with that tag holds that policy without
   * attaching it (a tagged role is a consumer: what the bus policy grants the consumer policy's
   * principals in AWS).
   */
  readonly taggedGrants?: Readonly<Record<string, string>>;
  /** Access keys whose secrets the authorizer knows from the start. */
  readonly accessKeys?: readonly AccessKey[];
  /** @default Date.now */
  readonly now?: () => number;
}

/** The caller of an authorized `PutEvents`. */
export interface EventsCaller {
  readonly userName: string;
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
}

const EVENTS_CONTENT_TYPE = 'application/x-amz-json-1.1';
const PUT_EVENTS = 'events:PutEvents';
const UNRECOGNIZED = 'The security token included in the request is invalid.';
/**
 * How long a caller's identity (user, key status, tags, policies: 5-7 IAM reads) is reused. IAM
 * itself takes seconds to apply a change; a change made through the gateway applies at once (the
 * cache is dropped), one made on moto directly within this long.
 */
const IDENTITY_TTL_MS = 1_000;

type Identity = { caller: EventsCaller; policies: PolicyDocument[] };

/** Authenticates and authorizes `PutEvents` calls (see the module comment). */
export class PutEventsAuthorizer {
  readonly #options: PutEventsAuthorizerOptions;
  readonly #secrets = new Map<string, string>();
  readonly #identities = new Map<string, { readonly at: number; readonly identity: Promise<Identity> }>();

  public constructor(options: PutEventsAuthorizerOptions) {
    this.#options = options;
    for (const key of options.accessKeys ?? []) this.rememberAccessKey(key);
  }

  /** The content type of the refusals (EventBridge's JSON protocol). */
  public static readonly contentType = EVENTS_CONTENT_TYPE;

  /** Makes `key` verifiable (its secret is what signs the caller's requests). */
  public rememberAccessKey(key: AccessKey): void {
    this.#secrets.set(key.accessKeyId, key.secretAccessKey);
    this.forgetIdentities();
  }

  /** Drops every cached identity: IAM changed (a write through the gateway, a new key). */
  public forgetIdentities(): void {
    this.#identities.clear();
  }

  /** Learns the key of a proxied `CreateAccessKey` answer (XML); ignores any other answer. */
  public learnFromIamAnswer(xml: string): void {
    const created = accessKeyOfCreateAnswer(xml);
    if (created !== undefined) this.rememberAccessKey(created);
  }

  /**
   * The caller when every entry of the `PutEvents` request is allowed; otherwise throws the
   * {@link AwsJsonError} EventBridge answers (`UnrecognizedClientException`,
   * `InvalidSignatureException`, `IncompleteSignatureException`, `MissingAuthenticationTokenException`,
   * `AccessDeniedException`, all HTTP 400).
   */
  public async authorize(
    request: IncomingMessage,
    body: Buffer,
    payload: Record<string, unknown>,
  ): Promise<EventsCaller> {
    const received: ReceivedRequest = {
      method: request.method ?? 'POST',
      url: request.url ?? '/',
      headers: request.headers,
      body,
    };
    const header = request.headers.authorization;
    const parsed = parseAuthorization(Array.isArray(header) ? header[0] : header);
    if (isRefusal(parsed)) throw new AwsJsonError(parsed.code, parsed.message, 400);
    const secret = this.#secrets.get(parsed.accessKeyId);
    if (secret === undefined) throw new AwsJsonError('UnrecognizedClientException', UNRECOGNIZED, 400);
    const refusal = verifySignature(received, parsed, secret, {
      region: this.#options.moto.region,
      service: 'events',
      ...(this.#options.now === undefined ? {} : { now: this.#options.now }),
    });
    if (refusal !== null) throw new AwsJsonError(refusal.code, refusal.message, 400);

    const identity = await this.#cachedIdentity(parsed.accessKeyId);
    const entries = Array.isArray(payload.Entries) ? (payload.Entries as unknown[]) : [];
    const principalContext: Record<string, string> = {
      'aws:username': identity.caller.userName,
      'aws:PrincipalArn': identity.caller.arn,
      'aws:PrincipalAccount': this.#options.accountId,
      'aws:PrincipalType': 'User',
    };
    for (const [key, value] of Object.entries(identity.caller.tags)) {
      principalContext[`aws:PrincipalTag/${key}`] = value;
    }
    const names = { region: this.#options.moto.region, accountId: this.#options.accountId };
    // AWS authorizes the call before looking at entries; an empty call is still the caller's.
    const requests = entries.length === 0 ? [{}] : entries;
    for (const raw of requests) {
      const entry = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
      const busName =
        typeof entry.EventBusName === 'string' && entry.EventBusName !== '' ? entry.EventBusName : 'default';
      const resource = eventBusArn(busName, names);
      const context: Record<string, string> = { ...principalContext };
      if (typeof entry.Source === 'string') context['events:source'] = entry.Source;
      if (typeof entry.DetailType === 'string') context['events:detail-type'] = entry.DetailType;
      const decision = evaluatePolicies(identity.policies, { action: PUT_EVENTS, resource, context });
      if (decision !== 'allow') {
        throw new AwsJsonError(
          'AccessDeniedException',
          accessDeniedMessage(identity.caller.arn, resource, decision),
          400,
        );
      }
    }
    return identity.caller;
  }

  /** {@link #identity}, shared by the calls of the last {@link IDENTITY_TTL_MS} (a burst reads IAM once). */
  #cachedIdentity(accessKeyId: string): Promise<Identity> {
    const now = performance.now();
    const held = this.#identities.get(accessKeyId);
    if (held !== undefined && now - held.at < IDENTITY_TTL_MS) return held.identity;
    const identity = this.#identity(accessKeyId);
    this.#identities.set(accessKeyId, { at: now, identity });
    // A failed lookup (an unknown or deleted key) is not remembered.
    identity.catch(() => {
      if (this.#identities.get(accessKeyId)?.identity === identity) this.#identities.delete(accessKeyId);
    });
    return identity;
  }

  async #identity(accessKeyId: string): Promise<Identity> {
    const moto = this.#options.moto;
    let userName: string;
    try {
      userName =
        xmlValues(await callIam(moto, 'GetAccessKeyLastUsed', { AccessKeyId: accessKeyId }), 'UserName')[0] ??
        '';
    } catch (error) {
      if (error instanceof IamQueryError && error.code === 'NoSuchEntity') {
        throw new AwsJsonError('UnrecognizedClientException', UNRECOGNIZED, 400);
      }
      throw error;
    }
    // A deleted or deactivated key no longer signs anything.
    const keys = xmlMembers(
      await callIam(moto, 'ListAccessKeys', { UserName: userName }),
      'AccessKeyMetadata',
    );
    const active = keys.some(
      (member) =>
        xmlValues(member, 'AccessKeyId')[0] === accessKeyId && xmlValues(member, 'Status')[0] === 'Active',
    );
    if (!active) throw new AwsJsonError('UnrecognizedClientException', UNRECOGNIZED, 400);

    const tags: Record<string, string> = {};
    for (const member of xmlMembers(await callIam(moto, 'ListUserTags', { UserName: userName }), 'Tags')) {
      const key = xmlValues(member, 'Key')[0];
      if (key !== undefined) tags[key] = xmlValues(member, 'Value')[0] ?? '';
    }
    const policies: PolicyDocument[] = [];
    const held = new Set<string>();
    for (const [tag, policyName] of Object.entries(this.#options.taggedGrants ?? {})) {
      if (tag in tags) held.add(policyName);
    }
    const attached = xmlMembers(
      await callIam(moto, 'ListAttachedUserPolicies', { UserName: userName }),
      'AttachedPolicies',
    );
    for (const member of attached) {
      const name = xmlValues(member, 'PolicyName')[0] ?? '';
      const arn = xmlValues(member, 'PolicyArn')[0] ?? '';
      if (this.#options.namedPolicies.has(name)) held.add(name);
      else policies.push(...parseDocument(await this.#managedPolicyDocument(arn)));
    }
    for (const name of held) {
      const document = this.#options.namedPolicies.get(name);
      if (document !== undefined) policies.push(document);
    }
    const inline = xmlValues(await callIam(moto, 'ListUserPolicies', { UserName: userName }), 'member');
    for (const policyName of inline) {
      const answer = await callIam(moto, 'GetUserPolicy', { UserName: userName, PolicyName: policyName });
      policies.push(...parseDocument(xmlValues(answer, 'PolicyDocument')[0] ?? ''));
    }
    const arn = `arn:aws:iam::${this.#options.accountId}:user/${userName}`;
    return { caller: { userName, arn, tags }, policies };
  }

  async #managedPolicyDocument(policyArn: string): Promise<string> {
    const policy = await callIam(this.#options.moto, 'GetPolicy', { PolicyArn: policyArn });
    const versionId = xmlValues(policy, 'DefaultVersionId')[0] ?? 'v1';
    const version = await callIam(this.#options.moto, 'GetPolicyVersion', {
      PolicyArn: policyArn,
      VersionId: versionId,
    });
    return xmlValues(version, 'Document')[0] ?? '';
  }
}

/** A policy document as IAM returns it (URL-encoded JSON on AWS, plain JSON from moto); none if unreadable. */
function parseDocument(text: string): PolicyDocument[] {
  const json = text.trimStart().startsWith('%') ? safeDecode(text) : text;
  try {
    const parsed = JSON.parse(json) as unknown;
    return typeof parsed === 'object' && parsed !== null && 'Statement' in parsed
      ? [parsed as PolicyDocument]
      : [];
  } catch {
    return [];
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** AWS's wording of an authorization failure. */
function accessDeniedMessage(
  principalArn: string,
  resource: string,
  decision: Exclude<Decision, 'allow'>,
): string {
  const why =
    decision === 'explicitDeny'
      ? `with an explicit deny in an identity-based policy`
      : `because no identity-based policy allows the ${PUT_EVENTS} action`;
  return `User: ${principalArn} is not authorized to perform: ${PUT_EVENTS} on resource: ${resource} ${why}`;
}
