/**
 * The `service` every Powertools utility stamps on what it emits (log lines, metrics, trace
 * annotations); the functions' POWERTOOLS_SERVICE_NAME says the same, this wins if they differ.
 */
export const SERVICE_NAME = 'stytch-m2m-rotator';
