import { toError } from '#core/errors.js';
import {
  type ClientRegistration,
  ClientRegistrationSchema,
  type ListRegistrationsOptions,
  type RegistryPort,
} from '#core/registry.js';
import {
  definedFields,
  type LedgerItem,
  LedgerTable,
  type LedgerTableProps,
  parseItem,
  REGISTRY_CLIENT_PREFIX,
  REGISTRY_NAME_PREFIX,
  REGISTRY_PK,
} from './ledgerTable.js';

/**
 * {@link RegistryPort} over the ledger table: the run-time clients under `pk=REGISTRY#`, each twice,
 * `sk=NAME#<name>` (the idempotency key of registering) and `sk=CLIENT#<clientId>`.
 */
export class ClientRegistryTable implements RegistryPort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
  }

  /**
   * The name item (`REGISTRY` / `NAME#<name>`) is the idempotency key: a conditional PutItem, so
   * of two registrations of one name the first wins. The client item (`CLIENT#<id>`) follows.
   */
  public async putRegistration(registration: ClientRegistration): Promise<ClientRegistration> {
    const byName = await this.#table.put({
      Item: { ...registration, pk: REGISTRY_PK, sk: `${REGISTRY_NAME_PREFIX}${registration.name}` },
      ConditionExpression: 'attribute_not_exists(sk)',
    });
    if (!byName.written) {
      const stored = await this.findRegistrationByName(registration.name);
      if (stored !== null) return stored;
    }
    await this.#table.put({
      Item: { ...registration, pk: REGISTRY_PK, sk: `${REGISTRY_CLIENT_PREFIX}${registration.clientId}` },
    });
    return registration;
  }

  /**
   * `apply`'s write: the client item first (what the functions read), then the name item; a name
   * the client had before (`previousName`) is deleted last, so a stop in between leaves the
   * client managed under both names until the next apply, never under none.
   */
  public async replaceRegistration(registration: ClientRegistration, previousName?: string): Promise<void> {
    const item = definedFields(registration);
    await this.#table.put({
      Item: { ...item, pk: REGISTRY_PK, sk: `${REGISTRY_CLIENT_PREFIX}${registration.clientId}` },
    });
    await this.#table.put({
      Item: { ...item, pk: REGISTRY_PK, sk: `${REGISTRY_NAME_PREFIX}${registration.name}` },
    });
    if (previousName !== undefined && previousName !== registration.name) {
      await this.#table.delete({ Key: { pk: REGISTRY_PK, sk: `${REGISTRY_NAME_PREFIX}${previousName}` } });
    }
  }

  /** Deletes the name item, then the client item (the one the functions read) last. */
  public async removeRegistration(
    registration: Pick<ClientRegistration, 'name' | 'clientId'>,
  ): Promise<void> {
    await this.#table.delete({ Key: { pk: REGISTRY_PK, sk: `${REGISTRY_NAME_PREFIX}${registration.name}` } });
    await this.#table.delete({
      Key: { pk: REGISTRY_PK, sk: `${REGISTRY_CLIENT_PREFIX}${registration.clientId}` },
    });
  }

  public async findRegistrationByName(name: string): Promise<ClientRegistration | null> {
    return this.#registration(`${REGISTRY_NAME_PREFIX}${name}`);
  }

  public async getRegistration(clientId: string): Promise<ClientRegistration | null> {
    return this.#registration(`${REGISTRY_CLIENT_PREFIX}${clientId}`);
  }

  /** Every registered client, one query of `CLIENT#*` page by page. */
  public async listRegistrations(
    options: ListRegistrationsOptions = {},
  ): Promise<readonly ClientRegistration[]> {
    const items = await this.#table.query(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :client)',
        ExpressionAttributeValues: { ':pk': REGISTRY_PK, ':client': REGISTRY_CLIENT_PREFIX },
      },
      `${REGISTRY_PK}/${REGISTRY_CLIENT_PREFIX}*`,
    );
    const { onUnreadable } = options;
    if (onUnreadable === undefined) return items.map(parseRegistration);
    const registrations: ClientRegistration[] = [];
    for (const item of items) {
      try {
        registrations.push(parseRegistration(item));
      } catch (error) {
        onUnreadable(`${REGISTRY_PK}/${String(item.sk)}`, toError(error));
      }
    }
    return registrations;
  }

  async #registration(sk: string): Promise<ClientRegistration | null> {
    const item = await this.#table.get(REGISTRY_PK, sk);
    return item === undefined ? null : parseRegistration(item);
  }
}

function parseRegistration(item: LedgerItem): ClientRegistration {
  const { pk: _pk, sk, ...fields } = item;
  return parseItem(ClientRegistrationSchema, fields, `${REGISTRY_PK}/${String(sk)}`);
}
