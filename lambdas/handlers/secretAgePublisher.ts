import { secretAgePublisherHandler } from '#wiring/secretAgePublisher.js';

/** Lambda entry point of the secret-age publisher (SecretsOverdue, ManagedClients), run by a schedule. */
export const handler = secretAgePublisherHandler();
