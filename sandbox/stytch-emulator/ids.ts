import { randomUUID } from 'node:crypto';

/** Stytch's two environments; every generated id carries the project's (`request-id-test-…`). */
export type StytchEnvironment = 'test' | 'live';

/** The environment a project id belongs to (`project-live-…` is live, anything else test, as the SDKs decide). */
export function environmentOf(projectId: string): StytchEnvironment {
  return projectId.startsWith('project-live-') ? 'live' : 'test';
}

/** Generators for the ids Stytch hands out, in the formats of its docs examples. */
export interface IdGenerator {
  requestId(): string;
  m2mClientId(): string;
  connectedAppId(): string;
  signingKeyId(): string;
}

/** Random (uuid v4) ids for `environment`. */
export function idGenerator(environment: StytchEnvironment): IdGenerator {
  return {
    requestId: () => `request-id-${environment}-${randomUUID()}`,
    m2mClientId: () => `m2m-client-${environment}-${randomUUID()}`,
    connectedAppId: () => `connected-app-${environment}-${randomUUID()}`,
    signingKeyId: () => `jwk-${environment}-${randomUUID()}`,
  };
}
