import type { ConnectedAppStore } from '../connectedAppStore.js';
import type { ErrorShape } from '../errors.js';
import type { ApiResponse, EmulatorRequest } from '../http.js';
import type { M2MClientStore } from '../m2mStore.js';
import type { EmulatorModes } from '../modes.js';
import type { RouteId } from '../routeIds.js';
import type { SigningKeyRing } from '../signingKeys.js';

/** The emulated project: its state and clock, shared by every route handler. */
export interface EmulatorServices {
  readonly projectId: string;
  readonly m2m: M2MClientStore;
  readonly connectedApps: ConnectedAppStore;
  readonly keys: SigningKeyRing;
  /** Behaviour modes; the token endpoint reads its refusal from here. */
  readonly modes: EmulatorModes;
  /** The emulator clock in ms (token iat/exp, when the token endpoint sees a rotation). */
  readonly now: () => number;
}

/** Everything a handler gets for one request. */
export interface RouteContext {
  readonly request: EmulatorRequest;
  /** Path parameters, percent-decoded (`client_id`, `project_id`). */
  readonly params: Readonly<Record<string, string>>;
  readonly requestId: string;
  readonly services: EmulatorServices;
  /** Records which client the request is about, for the request log (ids are not secret). */
  noteClient(clientId: string): void;
}

/** Answers one request, or throws an `ApiError`. */
export type RouteHandler = (context: RouteContext) => ApiResponse | Promise<ApiResponse>;

/** One served route. */
export interface RouteDefinition {
  readonly id: RouteId;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path segments after the leading `/`; `:name` captures a parameter. */
  readonly pattern: readonly string[];
  /** `project`: Basic `project_id:secret`; `none`: public (token endpoint, JWKS). */
  readonly auth: 'project' | 'none';
  /** The shape of every error this route answers with (the token endpoint uses OAuth2's). */
  readonly errorShape: ErrorShape;
  readonly handler: RouteHandler;
}

/** Splits `/v1/m2m/clients/:client_id` into pattern segments. */
export function pattern(path: string): readonly string[] {
  return path.split('/').slice(1);
}
