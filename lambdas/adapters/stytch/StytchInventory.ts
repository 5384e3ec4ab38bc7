import type { StytchClientFact } from '#core/fleetDrift.js';
import type { StytchInventoryPort } from '#core/fleetSweep.js';
import type { StytchClient } from './StytchClient.js';

/** Stytch's documented maximum page size of both searches: 10 calls for 10,000 clients. */
export const INVENTORY_PAGE_SIZE = 1000;

/** Props of {@link StytchInventory}. */
export interface StytchInventoryProps {
  /** The client to search with (its retries and timeouts apply to each page). */
  readonly stytch: Pick<StytchClient, 'm2m' | 'connectedApps'>;
}

/**
 * {@link StytchInventoryPort} over Stytch's two searches, `POST /v1/m2m/clients/search` and `POST
 * /v1/connected_apps/clients/search`, pages of {@link INVENTORY_PAGE_SIZE}, both at once. It keeps
 * of each client its id, its kind and whether a next secret is pending: never a secret, nor its
 * last four. Reads only.
 */
export class StytchInventory implements StytchInventoryPort {
  readonly #stytch: StytchInventoryProps['stytch'];

  public constructor(props: StytchInventoryProps) {
    this.#stytch = props.stytch;
  }

  public async listClients(): Promise<readonly StytchClientFact[]> {
    const [m2m, apps] = await Promise.all([
      collect(this.#stytch.m2m.searchAll({ limit: INVENTORY_PAGE_SIZE }), 'm2m'),
      collect(this.#stytch.connectedApps.searchAll({ limit: INVENTORY_PAGE_SIZE }), 'connected_app'),
    ]);
    return [...m2m, ...apps];
  }
}

async function collect(
  clients: AsyncIterable<{ readonly clientId: string; readonly nextClientSecretLastFour: string | null }>,
  kind: StytchClientFact['kind'],
): Promise<StytchClientFact[]> {
  const facts: StytchClientFact[] = [];
  for await (const client of clients) {
    facts.push({
      clientId: client.clientId,
      kind,
      nextSecretPending: client.nextClientSecretLastFour !== null,
    });
  }
  return facts;
}
