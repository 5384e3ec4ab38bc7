/**
 * The sandbox's AWS principals, as IAM users in moto with access keys: the operator (the template's
 * operator policy attached), one user per consumer (tagged `rotator-consumer=<name>`, the template's
 * consumer policy attached, as a consumer's role is in AWS), and stand-ins for the identities the
 * sandbox itself runs as: the rotator's functions, the GitHub webhook function and Step Functions'
 * status-change announcements, each allowed only its own event `source`.
 */
import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { CONSUMER_PRINCIPAL_TAG, EVENT_SOURCES } from '#core/events.js';
import type { PolicyDocument } from '../gateway/iamPolicy.js';
import {
  type AccessKey,
  accessKeyOfCreateAnswer,
  callIam,
  IamQueryError,
  xmlMembers,
  xmlValues,
} from '../gateway/iamQuery.js';

/** Construct id of the template's consumer policy (issue 13). */
export const CONSUMER_POLICY = 'ConsumerHealthReportsPolicy';
/** Construct id of the template's operator grant (issue 13). */
export const OPERATOR_POLICY = 'OperatorPolicy';

/** Where the principals are created. */
export interface PrincipalsTarget {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly dispatcher: Dispatcher;
  /** ARN of the bus the stand-ins' own statements name. */
  readonly eventBusArn: string;
}

/** The principals the sandbox created, with their access keys. */
export interface SandboxPrincipals {
  readonly operator: AccessKey;
  /** By consumer name. */
  readonly consumers: ReadonlyMap<string, AccessKey>;
  /** The rotator's functions (source `stytch-m2m-rotator`). */
  readonly functions: AccessKey;
  /** The GitHub webhook function (source `stytch-m2m-rotator.github-webhook`). */
  readonly githubWebhook: AccessKey;
  /** Step Functions announcing execution ends (source `aws.states`; AWS puts those itself). */
  readonly stepFunctions: AccessKey;
  /** The demo resource server, reading the token revocation document (a deployment's reader role). */
  readonly resourceServer: AccessKey;
}

/** The template is missing a policy the trust boundary is made of. */
export class MissingTemplatePolicyError extends Error {
  public constructor(constructId: string) {
    super(
      `the synthesized template has no managed policy '${constructId}' (issue 13: lib/ defines the consumer ` +
        `policy '${CONSUMER_POLICY}' and the operator grant '${OPERATOR_POLICY}'); the sandbox enforces the ` +
        'grants the template holds and cannot start without it',
    );
    this.name = 'MissingTemplatePolicyError';
  }
}

/**
 * Creates (or, on a reused moto, refreshes) every principal, each with one new access key. The
 * moto policies named after the template's policies hold the template's documents, resolved.
 * @throws {MissingTemplatePolicyError} when the template lacks the consumer or the operator policy
 */
export async function createSandboxPrincipals(
  target: PrincipalsTarget,
  templatePolicies: ReadonlyMap<string, PolicyDocument>,
  consumerNames: readonly string[],
  revocationDocumentArn: string,
): Promise<SandboxPrincipals> {
  const consumerPolicy = templatePolicies.get(CONSUMER_POLICY);
  const operatorPolicy = templatePolicies.get(OPERATOR_POLICY);
  if (consumerPolicy === undefined) throw new MissingTemplatePolicyError(CONSUMER_POLICY);
  if (operatorPolicy === undefined) throw new MissingTemplatePolicyError(OPERATOR_POLICY);
  const consumerPolicyArn = await ensurePolicy(target, CONSUMER_POLICY, consumerPolicy);
  const operatorPolicyArn = await ensurePolicy(target, OPERATOR_POLICY, operatorPolicy);
  const ownSource = async (name: string, source: string): Promise<string> =>
    ensurePolicy(target, name, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: target.eventBusArn,
          Condition: { StringEquals: { 'events:source': source } },
        },
      ],
    });

  const operator = await ensureUser(target, 'stytch-m2m-rotator-operator', {
    policyArns: [operatorPolicyArn],
  });
  const consumers = new Map<string, AccessKey>();
  for (const name of new Set(consumerNames)) {
    consumers.set(name, await ensureConsumerUser(target, name, consumerPolicyArn));
  }
  const functions = await ensureUser(target, 'stytch-m2m-rotator-functions', {
    policyArns: [await ownSource('sandbox-rotator-functions-events', EVENT_SOURCES.rotator)],
  });
  const githubWebhook = await ensureUser(target, 'stytch-m2m-rotator-github-webhook', {
    policyArns: [await ownSource('sandbox-github-webhook-events', EVENT_SOURCES.githubWebhook)],
  });
  const stepFunctions = await ensureUser(target, 'sandbox-step-functions-service', {
    policyArns: [await ownSource('sandbox-step-functions-events', 'aws.states')],
  });
  // What attaching the stack's TokenRevocationReaderPolicy grants: GetObject of the one key.
  const resourceServer = await ensureUser(target, 'stytch-m2m-rotator-demo-resource-server', {
    policyArns: [
      await ensurePolicy(target, 'sandbox-token-revocations-reader', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: revocationDocumentArn }],
      }),
    ],
  });
  return { operator, consumers, functions, githubWebhook, stepFunctions, resourceServer };
}

/** The IAM user name of consumer `name` (user names are at most 64 characters). */
export function consumerUserName(name: string): string {
  const plain = `consumer-${name}`;
  if (plain.length <= 64) return plain;
  return `consumer-${name.slice(0, 45)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/**
 * A consumer's user: tagged `rotator-consumer=<name>`, the consumer policy attached when its ARN
 * is given, one new access key.
 */
export async function ensureConsumerUser(
  target: PrincipalsTarget,
  name: string,
  consumerPolicyArn: string | undefined,
): Promise<AccessKey> {
  return ensureUser(target, consumerUserName(name), {
    tags: { [CONSUMER_PRINCIPAL_TAG]: name },
    policyArns: consumerPolicyArn === undefined ? [] : [consumerPolicyArn],
  });
}

/** The ARN of the moto managed policy `name`. */
export function policyArn(target: Pick<PrincipalsTarget, 'accountId'>, name: string): string {
  return `arn:aws:iam::${target.accountId}:policy/${name}`;
}

async function ensureUser(
  target: PrincipalsTarget,
  userName: string,
  options: { tags?: Readonly<Record<string, string>>; policyArns: readonly string[] },
): Promise<AccessKey> {
  await ignoring('EntityAlreadyExists', () => callIam(target, 'CreateUser', { UserName: userName }));
  const tags = Object.entries(options.tags ?? {});
  if (tags.length > 0) {
    const params: Record<string, string> = { UserName: userName };
    tags.forEach(([key, value], index) => {
      params[`Tags.member.${index + 1}.Key`] = key;
      params[`Tags.member.${index + 1}.Value`] = value;
    });
    await callIam(target, 'TagUser', params);
  }
  for (const arn of options.policyArns) {
    await callIam(target, 'AttachUserPolicy', { UserName: userName, PolicyArn: arn });
  }
  // A reused moto keeps the keys of an earlier run, whose secrets nobody holds any more (and a
  // user has at most two keys).
  const existing = xmlMembers(
    await callIam(target, 'ListAccessKeys', { UserName: userName }),
    'AccessKeyMetadata',
  );
  for (const member of existing) {
    const accessKeyId = xmlValues(member, 'AccessKeyId')[0];
    if (accessKeyId !== undefined) {
      await callIam(target, 'DeleteAccessKey', { UserName: userName, AccessKeyId: accessKeyId });
    }
  }
  const created = accessKeyOfCreateAnswer(await callIam(target, 'CreateAccessKey', { UserName: userName }));
  if (created === undefined) throw new Error(`IAM CreateAccessKey for ${userName} answered no key`);
  return { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey };
}

async function ensurePolicy(
  target: PrincipalsTarget,
  name: string,
  document: PolicyDocument,
): Promise<string> {
  const arn = policyArn(target, name);
  const text = JSON.stringify(document);
  try {
    await callIam(target, 'CreatePolicy', { PolicyName: name, PolicyDocument: text });
  } catch (error) {
    if (!(error instanceof IamQueryError && error.code === 'EntityAlreadyExists')) throw error;
    // A reused moto: the document of this run's template becomes the default version.
    const versions = xmlMembers(await callIam(target, 'ListPolicyVersions', { PolicyArn: arn }), 'Versions');
    for (const version of versions) {
      const versionId = xmlValues(version, 'VersionId')[0];
      if (versionId !== undefined && xmlValues(version, 'IsDefaultVersion')[0] !== 'true') {
        await callIam(target, 'DeletePolicyVersion', { PolicyArn: arn, VersionId: versionId });
      }
    }
    await callIam(target, 'CreatePolicyVersion', {
      PolicyArn: arn,
      PolicyDocument: text,
      SetAsDefault: 'true',
    });
  }
  return arn;
}

async function ignoring(code: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof IamQueryError && error.code === code)) throw error;
  }
}
