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
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
