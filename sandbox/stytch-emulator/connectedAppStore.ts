import { ClientTable, type Page } from './clientTable.js';
import { ClientCredential, type RotationRefusal } from './credentials.js';
import { type ApiError, apiErrors } from './errors.js';
import type { IdGenerator } from './ids.js';

/** The four Connected App client types; the `*_public` ones have no secret. */
export const CONNECTED_APP_TYPES = [
  'first_party',
  'first_party_public',
  'third_party',
  'third_party_public',
] as const;
export type ConnectedAppType = (typeof CONNECTED_APP_TYPES)[number];

/** Whether a client type is confidential (has a client secret). */
export function isConfidential(type: ConnectedAppType): boolean {
  return type === 'first_party' || type === 'third_party';
}

/** The settings of a Connected App that update may change (everything but type, id and secrets). */
export interface ConnectedAppSettings {
  clientName: string;
  clientDescription: string;
  redirectUrls: readonly string[];
  fullAccessAllowed: boolean;
  accessTokenExpiryMinutes: number;
  accessTokenCustomAudience: string | undefined;
  accessTokenTemplateContent: string;
  postLogoutRedirectUrls: readonly string[];
  logoUrl: string | undefined;
  bypassConsentForOfflineAccess: boolean;
  idTokenTemplateContent: string;
}

/** One Connected App as stored; `credential` is null for public clients. */
export interface ConnectedAppRecord extends ConnectedAppSettings {
  readonly clientId: string;
  readonly clientType: ConnectedAppType;
  readonly credential: ClientCredential | null;
}

/** Defaults Stytch documents (`access_token_expiry_minutes` "default is 60") or that an unset field implies. */
export const CONNECTED_APP_DEFAULTS: ConnectedAppSettings = {
  clientName: '',
  clientDescription: '',
  redirectUrls: [],
  fullAccessAllowed: false,
  accessTokenExpiryMinutes: 60,
  accessTokenCustomAudience: undefined,
  accessTokenTemplateContent: '',
  postLogoutRedirectUrls: [],
  logoUrl: undefined,
  bypassConsentForOfflineAccess: false,
  idTokenTemplateContent: '',
};

/** The project's Connected Apps. Refused calls change nothing. */
export class ConnectedAppStore {
  readonly #table = new ClientTable<ConnectedAppRecord>();
  readonly #ids: IdGenerator;

  public constructor(ids: IdGenerator) {
    this.#ids = ids;
  }

  /** Creates an app; confidential apps get a secret, returned here once. */
  public create(
    clientType: ConnectedAppType,
    settings: ConnectedAppSettings,
  ): { record: ConnectedAppRecord; secret: string | undefined } {
    const created = isConfidential(clientType) ? ClientCredential.create() : undefined;
    const record: ConnectedAppRecord = {
      ...settings,
      clientId: this.#ids.connectedAppId(),
      clientType,
      credential: created?.credential ?? null,
    };
    this.#table.insert(record);
    return { record, secret: created?.secret };
  }

  public get(clientId: string): ConnectedAppRecord {
    const record = this.#table.get(clientId);
    if (record === undefined) throw apiErrors.clientNotFound('connectedApp');
    return record;
  }

  /** Applies already-validated settings (the caller merged them with the current ones). */
  public update(clientId: string, settings: ConnectedAppSettings): ConnectedAppRecord {
    const record = this.get(clientId);
    Object.assign(record, settings);
    return record;
  }

  public delete(clientId: string): void {
    if (!this.#table.delete(clientId)) throw apiErrors.clientNotFound('connectedApp');
  }

  public search(cursor: string | undefined, limit: number): Page<ConnectedAppRecord> {
    return this.#table.page(() => true, cursor, limit);
  }

  public startRotation(clientId: string): { record: ConnectedAppRecord; nextSecret: string } {
    const { record, credential } = this.#confidential(clientId);
    const result = credential.startRotation();
    if (!result.ok) throw refusalError(result.refusal);
    return { record, nextSecret: result.nextSecret };
  }

  public completeRotation(clientId: string): ConnectedAppRecord {
    const { record, credential } = this.#confidential(clientId);
    const result = credential.completeRotation();
    if (!result.ok) throw refusalError(result.refusal);
    return record;
  }

  public cancelRotation(clientId: string): ConnectedAppRecord {
    const { record, credential } = this.#confidential(clientId);
    const result = credential.cancelRotation();
    if (!result.ok) throw refusalError(result.refusal);
    return record;
  }

  #confidential(clientId: string): { record: ConnectedAppRecord; credential: ClientCredential } {
    const record = this.get(clientId);
    if (record.credential === null) throw apiErrors.publicAppHasNoSecret();
    return { record, credential: record.credential };
  }
}

function refusalError(refusal: RotationRefusal): ApiError {
  return refusal === 'already_rotating'
    ? apiErrors.alreadyRotating('connectedApp')
    : apiErrors.notRotating('connectedApp');
}

/**
 * The app as Stytch serialises it (`ConnectedApp`). Secret last-fours appear for confidential apps
 * only; `creation_method` is left out of the with-secret variants, as in the SDK types.
 */
export function connectedAppJson(
  record: ConnectedAppRecord,
  variant: 'plain' | 'withSecret' = 'plain',
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    client_id: record.clientId,
    client_name: record.clientName,
    client_description: record.clientDescription,
    status: 'active',
    client_type: record.clientType,
    full_access_allowed: record.fullAccessAllowed,
    redirect_urls: [...record.redirectUrls],
    access_token_expiry_minutes: record.accessTokenExpiryMinutes,
    access_token_template_content: record.accessTokenTemplateContent,
    post_logout_redirect_urls: [...record.postLogoutRedirectUrls],
    bypass_consent_for_offline_access: record.bypassConsentForOfflineAccess,
    id_token_template_content: record.idTokenTemplateContent,
  };
  if (variant === 'plain') json.creation_method = 'api';
  if (record.credential !== null) {
    json.client_secret_last_four = record.credential.lastFour;
    json.next_client_secret_last_four = record.credential.nextLastFour;
  }
  if (record.accessTokenCustomAudience !== undefined) {
    json.access_token_custom_audience = record.accessTokenCustomAudience;
  }
  if (record.logoUrl !== undefined) json.logo_url = record.logoUrl;
  return json;
}
