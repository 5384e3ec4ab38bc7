import { connectedAppRoutes } from './connectedAppRoutes.js';
import { jwksRoutes } from './jwksRoute.js';
import { m2mRoutes } from './m2mRoutes.js';
import { tokenRoute } from './tokenRoute.js';
import type { RouteDefinition } from './types.js';

/** Every Stytch route the emulator serves. */
export const stytchRoutes: readonly RouteDefinition[] = [
  ...m2mRoutes,
  ...connectedAppRoutes,
  tokenRoute,
  ...jwksRoutes,
];

export type { EmulatorServices, RouteContext, RouteDefinition, RouteHandler } from './types.js';
