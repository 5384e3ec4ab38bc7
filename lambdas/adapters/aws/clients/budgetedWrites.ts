/**
 * The Secrets Manager operations that count against its shared write quota (50 per second per
 * account and region: PutSecretValue, UpdateSecretVersionStage and the rest), by command class.
 */
const SECRETS_MANAGER_WRITES = new Set([
  'CreateSecretCommand',
  'PutSecretValueCommand',
  'UpdateSecretCommand',
  'UpdateSecretVersionStageCommand',
  'DeleteSecretCommand',
  'RestoreSecretCommand',
  'TagResourceCommand',
  'UntagResourceCommand',
  'PutResourcePolicyCommand',
  'DeleteResourcePolicyCommand',
  'RotateSecretCommand',
  'CancelRotateSecretCommand',
]);

interface SendingClient {
  send(...args: never[]): Promise<unknown>;
}

/**
 * `client` with every Secrets Manager write preceded by `acquire()` (the deployment's shared write
 * budget, core/rateBudget.ts); reads go straight through. What `acquire` throws ends the call
 * before it is sent. The command is known by its class's name: the SDK is never minified (the
 * Lambda runtime provides it, lib/bundling.ts).
 */
export function budgetedSecretsManagerWrites<C extends SendingClient>(
  client: C,
  acquire: () => Promise<void>,
): C {
  const send = async (...args: never[]): Promise<unknown> => {
    const command: unknown = args[0];
    const name = typeof command === 'object' && command !== null ? command.constructor.name : '';
    if (SECRETS_MANAGER_WRITES.has(name)) await acquire();
    return client.send(...args);
  };
  return new Proxy(client, {
    get: (target, key) => {
      if (key === 'send') return send;
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
