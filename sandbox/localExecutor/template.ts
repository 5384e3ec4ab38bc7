/**
 * Extracts a state machine definition from a synthesized CloudFormation template and resolves every
 * intrinsic in it to a deterministic placeholder, so the very definition `cdk synth` produced can run
 * on one machine. Nothing is guessed silently: whatever cannot be resolved is reported as an issue.
 */

/** Where placeholders point. */
export interface PlaceholderEnvironment {
  readonly region: string;
  readonly accountId: string;
}

/** A Lambda function of the template. */
export interface TemplateLambdaFunction {
  readonly logicalId: string;
  /** The construct path (`aws:cdk:path` without a trailing `/Resource`), when the metadata is there. */
  readonly constructPath?: string;
  /** Placeholder function name: the logical id. */
  readonly functionName: string;
  /** `arn:aws:lambda:<region>:<account>:function:<logicalId>`. */
  readonly arn: string;
}

/** The state machine found in a template, resolved. */
export interface ResolvedStateMachine {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The resolved `RoleArn` (a placeholder ARN). */
  readonly roleArn?: string;
  /** The definition with every intrinsic and `DefinitionSubstitutions` key replaced. */
  readonly definition: Record<string, unknown>;
  readonly lambdaFunctions: readonly TemplateLambdaFunction[];
}

/** Options of {@link resolveStateMachine}. */
export interface ResolveStateMachineOptions extends PlaceholderEnvironment {
  readonly stateMachineLogicalId?: string;
  readonly stateMachineName?: string;
}

type Resource = {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: unknown;
};

const STATE_MACHINE_TYPE = 'AWS::StepFunctions::StateMachine';
const LAMBDA_TYPE = 'AWS::Lambda::Function';

/** Finds and resolves the state machine; `issues` lists every problem (the result is absent if any). */
export function resolveStateMachine(
  template: unknown,
  options: ResolveStateMachineOptions,
): { readonly stateMachine?: ResolvedStateMachine; readonly issues: readonly string[] } {
  const issues: string[] = [];
  if (!isRecord(template) || !isRecord(template.Resources)) {
    return { issues: ['The template is not a CloudFormation template object (no Resources).'] };
  }
  const resources = readResources(template.Resources, issues);
  const parameters = isRecord(template.Parameters) ? template.Parameters : {};

  const logicalId = chooseStateMachine(resources, options.stateMachineLogicalId, issues);
  if (logicalId === undefined) return { issues };
  const properties = resources.get(logicalId)?.Properties ?? {};

  const resolver = new IntrinsicResolver(resources, parameters, options);
  const name = options.stateMachineName ?? literalString(properties.StateMachineName) ?? logicalId;
  const arn = stateMachineArn(options, name);

  const definitionText = definitionTextOf(properties, resolver, logicalId, issues);
  const substitutions = resolveSubstitutions(properties.DefinitionSubstitutions, resolver, logicalId, issues);
  const roleArn =
    properties.RoleArn === undefined
      ? undefined
      : resolver.resolve(properties.RoleArn, `${logicalId}.RoleArn`);
  if (properties.QueryLanguage === 'JSONata') {
    issues.push(
      `${logicalId}: QueryLanguage is JSONata; aws-local-stepfunctions accepts JSONata but never evaluates it. Synthesize the machine in JSONPath.`,
    );
  }
  issues.push(...resolver.issues);
  if (definitionText === undefined || issues.length > 0) return { issues };

  let definition: unknown;
  try {
    definition = JSON.parse(substitute(definitionText, substitutions ?? {}));
  } catch (error) {
    issues.push(`${logicalId}: the resolved definition is not JSON (${(error as Error).message}).`);
    return { issues };
  }
  if (!isRecord(definition)) {
    return { issues: [`${logicalId}: the resolved definition is not a JSON object.`] };
  }

  const lambdaFunctions = [...resources]
    .filter(([, resource]) => resource.Type === LAMBDA_TYPE)
    .map(([id, resource]) => lambdaFunctionOf(id, resource, options));
  return {
    stateMachine: {
      logicalId,
      name,
      arn,
      ...(typeof roleArn === 'string' ? { roleArn } : {}),
      definition,
      lambdaFunctions,
    },
    issues,
  };
}

/** `arn:aws:states:<region>:<account>:stateMachine:<name>`. */
export function stateMachineArn(env: PlaceholderEnvironment, name: string): string {
  return `arn:aws:states:${env.region}:${env.accountId}:stateMachine:${name}`;
}

function readResources(raw: Record<string, unknown>, issues: string[]): Map<string, Resource> {
  const resources = new Map<string, Resource>();
  for (const [id, value] of Object.entries(raw)) {
    if (isRecord(value) && typeof value.Type === 'string') {
      resources.set(id, {
        Type: value.Type,
        ...(isRecord(value.Properties) ? { Properties: value.Properties } : {}),
        Metadata: value.Metadata,
      });
    } else {
      issues.push(`Resource ${id} has no Type.`);
    }
  }
  return resources;
}

function chooseStateMachine(
  resources: ReadonlyMap<string, Resource>,
  wanted: string | undefined,
  issues: string[],
): string | undefined {
  const machines = [...resources].filter(([, r]) => r.Type === STATE_MACHINE_TYPE).map(([id]) => id);
  if (wanted !== undefined) {
    if (machines.includes(wanted)) return wanted;
    issues.push(
      `stateMachineLogicalId ${wanted} is not an ${STATE_MACHINE_TYPE} of the template (found: ${machines.join(', ') || 'none'}).`,
    );
    return undefined;
  }
  if (machines.length === 1) return machines[0];
  issues.push(
    machines.length === 0
      ? `The template has no ${STATE_MACHINE_TYPE}.`
      : `The template has ${machines.length} state machines (${machines.join(', ')}); pass stateMachineLogicalId to choose one.`,
  );
  return undefined;
}

function definitionTextOf(
  properties: Record<string, unknown>,
  resolver: IntrinsicResolver,
  logicalId: string,
  issues: string[],
): string | undefined {
  if (properties.DefinitionS3Location !== undefined) {
    issues.push(`${logicalId}: DefinitionS3Location is not supported; synthesize the definition inline.`);
    return undefined;
  }
  if (properties.DefinitionString !== undefined) {
    const text = resolver.resolve(properties.DefinitionString, `${logicalId}.DefinitionString`);
    if (typeof text === 'string') return text;
    issues.push(`${logicalId}: DefinitionString does not resolve to a string.`);
    return undefined;
  }
  if (properties.Definition !== undefined) {
    return JSON.stringify(resolver.resolve(properties.Definition, `${logicalId}.Definition`));
  }
  issues.push(`${logicalId}: the state machine has no DefinitionString or Definition.`);
  return undefined;
}

function resolveSubstitutions(
  raw: unknown,
  resolver: IntrinsicResolver,
  logicalId: string,
  issues: string[],
): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    issues.push(`${logicalId}: DefinitionSubstitutions is not an object.`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    const resolved = resolver.resolve(value, `${logicalId}.DefinitionSubstitutions.${key}`);
    out[key] = typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
  }
  return out;
}

/** Step Functions' own `${key}` substitution: textual, only for keys of the map. */
function substitute(text: string, substitutions: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([^}]+)\}/g, (match, key: string) => substitutions[key] ?? match);
}

function lambdaFunctionOf(
  logicalId: string,
  resource: Resource,
  env: PlaceholderEnvironment,
): TemplateLambdaFunction {
  const path = isRecord(resource.Metadata) ? resource.Metadata['aws:cdk:path'] : undefined;
  return {
    logicalId,
    ...(typeof path === 'string' ? { constructPath: path.replace(/\/Resource$/, '') } : {}),
    functionName: logicalId,
    arn: `arn:aws:lambda:${env.region}:${env.accountId}:function:${logicalId}`,
  };
}

/** Resolves CloudFormation intrinsics to deterministic placeholders, collecting what it cannot resolve. */
class IntrinsicResolver {
  public readonly issues: string[] = [];

  public constructor(
    private readonly resources: ReadonlyMap<string, Resource>,
    private readonly parameters: Record<string, unknown>,
    private readonly env: PlaceholderEnvironment,
  ) {}

  public resolve(value: unknown, where: string): unknown {
    if (Array.isArray(value)) return value.map((item, i) => this.resolve(item, `${where}[${i}]`));
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    const [key] = keys;
    if (keys.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
      return this.intrinsic(key, value[key], where);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, `${where}.${k}`)]));
  }

  private intrinsic(fn: string, arg: unknown, where: string): unknown {
    switch (fn) {
      case 'Ref':
        return typeof arg === 'string' ? this.ref(arg, where) : this.fail(where, `Ref of a non-string`);
      case 'Fn::GetAtt':
        return this.getAtt(arg, where);
      case 'Fn::Join': {
        const [delimiter, parts] = Array.isArray(arg) ? arg : [];
        const resolved = this.resolve(parts, where);
        if (typeof delimiter !== 'string' || !Array.isArray(resolved))
          return this.fail(where, 'malformed Fn::Join');
        return resolved.map((part) => this.asString(part, where)).join(delimiter);
      }
      case 'Fn::Sub':
        return this.sub(arg, where);
      case 'Fn::Select': {
        const [index, list] = Array.isArray(arg) ? arg : [];
        const resolvedList = this.resolve(list, where);
        const i = Number(this.resolve(index, where));
        if (!Array.isArray(resolvedList) || !Number.isInteger(i) || i < 0 || i >= resolvedList.length) {
          return this.fail(where, 'malformed Fn::Select');
        }
        return resolvedList[i];
      }
      case 'Fn::Split': {
        const [delimiter, source] = Array.isArray(arg) ? arg : [];
        const text = this.resolve(source, where);
        if (typeof delimiter !== 'string' || typeof text !== 'string')
          return this.fail(where, 'malformed Fn::Split');
        return text.split(delimiter);
      }
      default:
        return this.fail(where, `${fn} is not supported locally`);
    }
  }

  private ref(name: string, where: string): unknown {
    switch (name) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::AccountId':
        return this.env.accountId;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'local';
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.env.region}:${this.env.accountId}:stack/local/00000000-0000-0000-0000-000000000000`;
      default:
        break;
    }
    const resource = this.resources.get(name);
    if (resource !== undefined) return refValue(name, resource.Type, this.env);
    const parameter = this.parameters[name];
    if (isRecord(parameter) && parameter.Default !== undefined) return parameter.Default;
    return this.fail(where, `Ref ${name} names no resource, pseudo parameter or parameter with a Default`);
  }

  private getAtt(arg: unknown, where: string): unknown {
    const [id, attribute] = typeof arg === 'string' ? splitOnce(arg, '.') : Array.isArray(arg) ? arg : [];
    if (typeof id !== 'string' || typeof attribute !== 'string')
      return this.fail(where, 'malformed Fn::GetAtt');
    const resource = this.resources.get(id);
    if (resource === undefined) return this.fail(where, `Fn::GetAtt ${id}.${attribute} names no resource`);
    if (attribute === 'Arn') return arnOf(id, resource.Type, this.env);
    if (attribute === 'Name' || /^[A-Z][A-Za-z]*Name$/.test(attribute)) return id;
    if (attribute === 'QueueUrl')
      return `https://sqs.${this.env.region}.amazonaws.com/${this.env.accountId}/${id}`;
    return this.fail(where, `Fn::GetAtt ${id}.${attribute}: no local placeholder for attribute ${attribute}`);
  }

  private sub(arg: unknown, where: string): unknown {
    const [text, rawVars] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? arg : [];
    if (typeof text !== 'string' || !isRecord(rawVars)) return this.fail(where, 'malformed Fn::Sub');
    const vars = this.resolve(rawVars, where) as Record<string, unknown>;
    return text.replace(/\$\{([^}]*)\}/g, (_match, expression: string) => {
      if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
      if (Object.hasOwn(vars, expression)) return this.asString(vars[expression], where);
      const [id, attribute] = splitOnce(expression, '.');
      const value = attribute === undefined ? this.ref(id, where) : this.getAtt([id, attribute], where);
      return this.asString(value, where);
    });
  }

  private asString(value: unknown, where: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    this.fail(where, 'a joined or substituted value is not a string');
    return '';
  }

  private fail(where: string, problem: string): string {
    this.issues.push(`${where}: cannot resolve (${problem}).`);
    return `<unresolved:${where}>`;
  }
}

/** What `Ref` gives for a resource: its name for most types, an ARN or URL for a few (as on AWS). */
function refValue(logicalId: string, type: string, env: PlaceholderEnvironment): string {
  switch (type) {
    case 'AWS::SNS::Topic':
    case 'AWS::SecretsManager::Secret':
    case STATE_MACHINE_TYPE:
    case 'AWS::StepFunctions::Activity':
      return arnOf(logicalId, type, env);
    case 'AWS::SQS::Queue':
      return `https://sqs.${env.region}.amazonaws.com/${env.accountId}/${logicalId}`;
    default:
      return logicalId;
  }
}

/** A placeholder ARN in each service's own ARN format; a generic `<service>:…:<type>/<id>` otherwise. */
function arnOf(logicalId: string, type: string, env: PlaceholderEnvironment): string {
  const { region, accountId } = env;
  switch (type) {
    case LAMBDA_TYPE:
      return `arn:aws:lambda:${region}:${accountId}:function:${logicalId}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${accountId}:role/${logicalId}`;
    case STATE_MACHINE_TYPE:
      return stateMachineArn(env, logicalId);
    case 'AWS::StepFunctions::Activity':
      return `arn:aws:states:${region}:${accountId}:activity:${logicalId}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${region}:${accountId}:table/${logicalId}`;
    case 'AWS::Events::EventBus':
      return `arn:aws:events:${region}:${accountId}:event-bus/${logicalId}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${region}:${accountId}:${logicalId}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${region}:${accountId}:${logicalId}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${region}:${accountId}:secret:${logicalId}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${region}:${accountId}:key/${logicalId}`;
    default: {
      const [, service = 'unknown', kind = 'resource'] = type.split('::');
      return `arn:aws:${service.toLowerCase()}:${region}:${accountId}:${kind.toLowerCase()}/${logicalId}`;
    }
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

function literalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
