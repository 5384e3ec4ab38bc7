/**
 * IAM identity-policy evaluation, the part the sandbox needs to refuse what AWS refuses: statements'
 * `Effect`, `Action`/`NotAction`, `Resource`/`NotResource` (with `*`/`?` wildcards and policy
 * variables) and `Condition` with the string, `Null` and `Bool` operators (`…IfExists`,
 * `ForAnyValue:`, `ForAllValues:`). An explicit Deny wins, then an Allow; otherwise the implicit
 * deny. Pure: no I/O. moto evaluates identity policies for action and resource only, never
 * conditions (../../../shared/LOCAL-STACK.md), which is why this exists.
 */

/** A policy document (`{"Version": …, "Statement": …}`), as JSON. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: PolicyStatement | readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny' | string;
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** One request to authorize: the action, the resource and the request context's condition keys. */
export interface AuthorizationRequest {
  /** `service:Action`, e.g. `events:PutEvents`. */
  readonly action: string;
  readonly resource: string;
  /**
   * Condition keys of the request (`events:source`, `aws:PrincipalTag/rotator-consumer`,
   * `aws:username`, …); a key that is absent is not in the request context.
   */
  readonly context: Readonly<Record<string, string | readonly string[]>>;
}

/** The decision and, for a refusal, which kind (for AWS's message). */
export type Decision = 'allow' | 'explicitDeny' | 'implicitDeny';

/** Evaluates `request` against every statement of `policies` (a principal's identity policies). */
export function evaluatePolicies(
  policies: readonly PolicyDocument[],
  request: AuthorizationRequest,
): Decision {
  let allowed = false;
  for (const policy of policies) {
    for (const statement of asArray(policy.Statement)) {
      const applies = statementApplies(statement, request);
      if (applies && statement.Effect === 'Deny') return 'explicitDeny';
      if (applies && statement.Effect === 'Allow') allowed = true;
    }
  }
  return allowed ? 'allow' : 'implicitDeny';
}

function statementApplies(statement: PolicyStatement, request: AuthorizationRequest): boolean {
  const deny = statement.Effect === 'Deny';
  const actionMatches =
    statement.Action !== undefined
      ? asArray(statement.Action).some((pattern) => wildcardMatch(pattern, request.action, true))
      : statement.NotAction !== undefined
        ? !asArray(statement.NotAction).some((pattern) => wildcardMatch(pattern, request.action, true))
        : false;
  if (!actionMatches) return false;
  const resourceMatches = (patterns: readonly string[]): boolean =>
    patterns.some((pattern) => {
      const substituted = substituteVariables(pattern, request.context);
      return substituted !== null && wildcardMatch(substituted, request.resource, false);
    });
  const resourceApplies =
    statement.Resource !== undefined
      ? resourceMatches(asArray(statement.Resource))
      : statement.NotResource !== undefined
        ? !resourceMatches(asArray(statement.NotResource))
        : false;
  if (!resourceApplies) return false;
  const conditions = statement.Condition ?? {};
  for (const [operator, block] of Object.entries(conditions)) {
    for (const [key, expected] of Object.entries(block)) {
      const outcome = conditionHolds(operator, key, expected, request.context);
      // An operator this evaluator does not know fails closed: an Allow does not apply, a Deny does.
      if (outcome === 'unsupported') {
        if (!deny) return false;
        continue;
      }
      if (!outcome) return false;
    }
  }
  return true;
}

type ConditionOutcome = boolean | 'unsupported';

function conditionHolds(
  rawOperator: string,
  key: string,
  expected: unknown,
  context: AuthorizationRequest['context'],
): ConditionOutcome {
  let operator = rawOperator;
  let setQualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  const colon = operator.indexOf(':');
  if (colon !== -1) {
    const qualifier = operator.slice(0, colon);
    if (qualifier !== 'ForAnyValue' && qualifier !== 'ForAllValues') return 'unsupported';
    setQualifier = qualifier;
    operator = operator.slice(colon + 1);
  }
  const ifExists = operator.endsWith('IfExists');
  if (ifExists) operator = operator.slice(0, -'IfExists'.length);
  const expectedValues = asArray(expected as string | readonly string[]).map(String);
  const present = findKey(context, key);

  if (operator === 'Null') {
    // `"Null": {"k": "true"}` holds when the key is absent.
    const wantsAbsent = expectedValues.some((value) => value.toLowerCase() === 'true');
    return wantsAbsent === (present === undefined);
  }
  const negated =
    operator === 'StringNotEquals' ||
    operator === 'StringNotEqualsIgnoreCase' ||
    operator === 'StringNotLike';
  if (present === undefined) {
    // AWS: an absent key matches nothing, so a negated operator holds; IfExists holds either way.
    if (ifExists) return true;
    if (setQualifier === 'ForAllValues') return true;
    return negated;
  }
  const match = valueMatcher(operator, context);
  if (match === undefined) return 'unsupported';
  const values = asArray(present);
  const matchesAny = (value: string): boolean => expectedValues.some((pattern) => match(pattern, value));
  if (setQualifier === 'ForAllValues') {
    return values.every((value) => (negated ? !matchesAny(value) : matchesAny(value)));
  }
  if (setQualifier === 'ForAnyValue') {
    return values.some((value) => (negated ? !matchesAny(value) : matchesAny(value)));
  }
  // A single-valued key (events:source of one PutEvents entry): the value against the list.
  return values.every((value) => (negated ? !matchesAny(value) : matchesAny(value)));
}

function valueMatcher(
  operator: string,
  context: AuthorizationRequest['context'],
): ((pattern: string, value: string) => boolean) | undefined {
  const substituted = (pattern: string): string | null => substituteVariables(pattern, context);
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return (pattern, value) => substituted(pattern) === value;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return (pattern, value) => substituted(pattern)?.toLowerCase() === value.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      return (pattern, value) => {
        const resolved = substituted(pattern);
        return resolved !== null && wildcardMatch(resolved, value, false);
      };
    case 'Bool':
      return (pattern, value) => pattern.toLowerCase() === value.toLowerCase();
    default:
      return undefined;
  }
}

/** Condition keys are case-insensitive; the tag key after `aws:PrincipalTag/` is matched as written too. */
function findKey(
  context: AuthorizationRequest['context'],
  key: string,
): string | readonly string[] | undefined {
  if (key in context) return context[key];
  const lower = key.toLowerCase();
  const found = Object.keys(context).find((candidate) => candidate.toLowerCase() === lower);
  return found === undefined ? undefined : context[found];
}

/**
 * Replaces `${key}` policy variables with the request context's values (`${*}`, `${?}`, `${$}` are
 * the literal characters); null when a variable's key is absent or multi-valued: AWS then matches
 * nothing with that value.
 */
export function substituteVariables(text: string, context: AuthorizationRequest['context']): string | null {
  let missing = false;
  const replaced = text.replace(/\$\{([^}]*)\}/g, (_whole, key: string) => {
    if (key === '*' || key === '?' || key === '$') return key;
    const value = findKey(context, key);
    if (typeof value !== 'string') {
      missing = true;
      return '';
    }
    return value;
  });
  return missing ? null : replaced;
}

/** `*` is any run of characters, `?` any one; case-insensitive for actions, exact otherwise. */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function asArray<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value as T];
}
