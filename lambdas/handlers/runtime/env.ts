// TEMPORARY re-export for the move to lambdas/wiring; removed by the lead
export { EnvironmentError, parseEnv, type RotatorEnv, readRotatorEnv } from '#wiring/environment.js';
