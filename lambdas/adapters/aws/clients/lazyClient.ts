/** What every SDK v3 client has and what the adapters call: `send`, and `destroy` to close it. */
interface SdkClient {
  send(...args: never[]): Promise<unknown>;
  destroy(): void;
}

/**
 * A stand-in for the client `build` makes, built (its SDK package imported, see sdk/onFirstUse.ts)
 * on the first `send`, then used for every later call. The adapters only `send`: until then the
 * stand-in answers `send` and `destroy` (nothing to close yet) and nothing else; once built, every
 * member is the real client's, its methods bound to it. Concurrent first sends share one build; a
 * failed build is tried again on the next send.
 */
export function lazyClient<C extends SdkClient>(build: () => Promise<C>): C {
  let building: Promise<C> | undefined;
  let client: C | undefined;
  const real = (): Promise<C> => {
    building ??= build().then(
      (built) => {
        client = built;
        return built;
      },
      (error: unknown) => {
        building = undefined;
        throw error;
      },
    );
    return building;
  };
  const beforeBuilt: Partial<Record<PropertyKey, unknown>> = {
    send: async (...args: never[]) => (await real()).send(...args),
    destroy: () => undefined,
  };
  return new Proxy({} as C, {
    get: (_target, key) => {
      if (client === undefined) return beforeBuilt[key];
      const value: unknown = Reflect.get(client, key);
      return typeof value === 'function' ? value.bind(client) : value;
    },
    has: (_target, key) => (client === undefined ? key in beforeBuilt : Reflect.has(client, key)),
  });
}
