/**
 * The required scopes that granted scopes do not satisfy, by Stytch's default rule (the Node SDK's
 * `performAuthorizationCheck`): a scope splits on ':' into action and resource (no ':' means
 * resource '-'), and a required `action:resource` is satisfied by a granted `action:resource` or
 * `action:*`. The same rule as lambdas/adapters/stytch/scopes.ts, kept here so that the verifier
 * package stands alone.
 */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const resourcesByAction = new Map<string, Set<string>>();
  for (const scope of granted) {
    const [action, resource] = splitScope(scope);
    const resources = resourcesByAction.get(action) ?? new Set<string>();
    resources.add(resource);
    resourcesByAction.set(action, resources);
  }
  return required.filter((scope) => {
    const [action, resource] = splitScope(scope);
    const resources = resourcesByAction.get(action);
    return resources === undefined || !(resources.has('*') || resources.has(resource));
  });
}

function splitScope(scope: string): [action: string, resource: string] {
  if (!scope.includes(':')) return [scope, '-'];
  const [action = '', resource = ''] = scope.split(':');
  return [action, resource];
}
