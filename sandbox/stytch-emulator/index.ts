/**
 * The Stytch emulator: Stytch's M2M and Connected Apps client APIs, the token endpoint and the JWKS
 * on loopback, with fault injection. See README.md beside this file.
 */

export { ADMIN_PREFIX } from './adminRoutes.js';
export { StytchEmulatorError, type StytchEmulatorErrorCode } from './errors.js';
export {
  type DelayNextOptions,
  type DropResponseNextOptions,
  type FailNextOptions,
  FaultInjector,
  type FaultKind,
  type FaultSnapshot,
  ROUTE_FAULT_STATUSES,
  type RouteFaultConfig,
  type RouteFaultStatus,
} from './faults.js';
export {
  type ConsistencyDelay,
  DEFAULT_TOKEN_REFUSAL,
  type EmulatorModeSettings,
  EmulatorModes,
  type FixedWindowLimit,
  type FixedWindowRateLimit,
  MODE_KEYS,
  type ModeSnapshot,
  type RateLimitGroup,
  rateLimitGroupOf,
  TOKEN_REFUSAL_STATUSES,
  type TokenRefusal,
  type TokenRefusalStatus,
} from './modes.js';
export type { RateLimitConfig } from './rateLimiter.js';
export type { LoggedRequest } from './requestLog.js';
export { ROUTE_IDS, ROUTE_SELECTORS, type RouteId, type RouteSelector } from './routeIds.js';
export { StytchEmulator, type StytchEmulatorOptions } from './StytchEmulator.js';
