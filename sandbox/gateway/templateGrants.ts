/**
 * The grants the synthesized template holds: its `AWS::IAM::ManagedPolicy` documents by construct id
 * (e.g. `ConsumerHealthReportsPolicy`, `OperatorPolicy`), with the template's intrinsics resolved
 * to the sandbox's names, so the gateway evaluates the very statements `cdk deploy` would create.
 */
import { isRecord } from '../localExecutor/template.js';
import type { PolicyDocument } from './iamPolicy.js';

/** Where the template's resources live in the sandbox. */
export interface TemplateNames {
  readonly region: string;
  readonly accountId: string;
  /** The name, in moto, of the template's `AWS::Events::EventBus` (there is one). */
  readonly eventBusName: string;
  /** ARN (`Ref`) of the template's state machines, when the caller knows it. */
  readonly stateMachineArn?: string;
}

/** The ARN of event bus `name` (or `name` itself when it is an ARN). */
export function eventBusArn(name: string, names: Pick<TemplateNames, 'region' | 'accountId'>): string {
  return name.startsWith('arn:')
    ? name
    : `arn:aws:events:${names.region}:${names.accountId}:event-bus/${name}`;
}

/**
 * Every managed policy of the template, keyed by construct id (the `aws:cdk:path` segment before
 * `Resource`; the logical id when the template has no path metadata), documents resolved.
 */
export function templateManagedPolicies(
  template: unknown,
  names: TemplateNames,
): Map<string, PolicyDocument> {
  const found = new Map<string, PolicyDocument>();
  const all = isRecord(template) && isRecord(template.Resources) ? template.Resources : {};
  for (const [logicalId, resource] of Object.entries(all)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const properties = isRecord(resource.Properties) ? resource.Properties : {};
    const document = resolveIntrinsics(properties.PolicyDocument, template, names);
    if (!isRecord(document)) continue;
    found.set(constructIdOf(logicalId, resource), document as unknown as PolicyDocument);
  }
  return found;
}

function constructIdOf(logicalId: string, resource: Record<string, unknown>): string {
  const path = isRecord(resource.Metadata) ? resource.Metadata['aws:cdk:path'] : undefined;
  if (typeof path !== 'string') return logicalId;
  const segments = path.split('/');
  const last = segments.at(-1);
  return (last === 'Resource' ? segments.at(-2) : last) ?? logicalId;
}

/** A value no ARN pattern matches, for an intrinsic the sandbox cannot resolve. */
const UNRESOLVED = 'arn:aws:sandbox:::unresolved';

/**
 * `value` with CloudFormation intrinsics replaced by the sandbox's values: `Ref`/`Fn::GetAtt` of the
 * event bus (name, ARN) and the state machine, the pseudo parameters, `Fn::Join`, `Fn::Sub` of
 * those. Any other reference becomes an ARN that matches nothing.
 */
export function resolveIntrinsics(value: unknown, template: unknown, names: TemplateNames): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, template, names));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys;
    if (key === 'Ref') return refValue(String(value.Ref), template, names);
    if (key === 'Fn::GetAtt') {
      const [logicalId, attribute] = Array.isArray(value[key]) ? (value[key] as unknown[]) : [];
      return getAttValue(String(logicalId), String(attribute), template, names);
    }
    if (key === 'Fn::Join') {
      const [separator, parts] = Array.isArray(value[key]) ? (value[key] as unknown[]) : [];
      if (typeof separator === 'string' && Array.isArray(parts)) {
        return parts.map((part) => String(resolveIntrinsics(part, template, names))).join(separator);
      }
    }
    if (key === 'Fn::Sub' && typeof value[key] === 'string') {
      return (value[key] as string).replace(/\$\{([^}!]+)\}/g, (whole, name: string) => {
        // `${aws:…}` is an IAM policy variable, not a CloudFormation one.
        if (name.startsWith('aws:')) return whole;
        const [logicalId, attribute] = name.split('.');
        return attribute === undefined
          ? String(refValue(logicalId ?? '', template, names))
          : String(getAttValue(logicalId ?? '', attribute, template, names));
      });
    }
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, resolveIntrinsics(item, template, names)]),
  );
}

function resourceType(template: unknown, logicalId: string): string | undefined {
  if (!isRecord(template) || !isRecord(template.Resources)) return undefined;
  const resource = template.Resources[logicalId];
  return isRecord(resource) && typeof resource.Type === 'string' ? resource.Type : undefined;
}

function refValue(name: string, template: unknown, names: TemplateNames): string {
  switch (name) {
    case 'AWS::Region':
      return names.region;
    case 'AWS::AccountId':
      return names.accountId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
  }
  const type = resourceType(template, name);
  if (type === 'AWS::Events::EventBus') return names.eventBusName;
  if (type === 'AWS::StepFunctions::StateMachine' && names.stateMachineArn !== undefined) {
    return names.stateMachineArn;
  }
  return `${UNRESOLVED}/${name}`;
}

function getAttValue(logicalId: string, attribute: string, template: unknown, names: TemplateNames): string {
  const type = resourceType(template, logicalId);
  if (type === 'AWS::Events::EventBus' && attribute === 'Arn') return eventBusArn(names.eventBusName, names);
  if (type === 'AWS::Events::EventBus' && attribute === 'Name') return names.eventBusName;
  if (type === 'AWS::StepFunctions::StateMachine' && names.stateMachineArn !== undefined) {
    if (attribute === 'Arn') return names.stateMachineArn;
  }
  return `${UNRESOLVED}/${logicalId}.${attribute}`;
}
