/**
 * A loader that imports a module on its first call and gives the same promise to every later
 * one; a failed import is forgotten, so the next call tries again.
 *
 * Why: a Lambda bundle leaves the AWS SDK to the runtime, and a static import of it makes Node
 * resolve and evaluate the SDK's CommonJS files (hundreds of milliseconds) before the handler's
 * first line runs. Imported here, on the first AWS call, an invocation that makes none never
 * loads it, and a cold start pays for it once, inside the call that needs it.
 */
export function onFirstUse<M>(load: () => Promise<M>): () => Promise<M> {
  let loading: Promise<M> | undefined;
  return () => {
    loading ??= load()
      .then(namedExports)
      .catch((error: unknown) => {
        loading = undefined;
        throw error;
      });
    return loading;
  };
}

/**
 * The module's named exports. Node's own `import()` of the SDK's CommonJS files gives them by name;
 * a bundler that inlines the SDK (esbuild, for the CLI) can hand over a namespace whose only key is
 * `default`, holding `module.exports`. Without this, `SecretsManagerClient` and every command read
 * as undefined in the built CLI ("is not a constructor").
 */
function namedExports<M>(module: M): M {
  if (typeof module !== 'object' || module === null) return module;
  const keys = Object.keys(module);
  const inner = (module as { default?: unknown }).default;
  return keys.length === 1 && keys[0] === 'default' && typeof inner === 'object' && inner !== null
    ? (inner as M)
    : module;
}
