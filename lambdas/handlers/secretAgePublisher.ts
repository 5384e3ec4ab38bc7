import { secretAgePublisherHandler } from '#wiring/secretAgePublisher.js';

/** Lambda entry point of the SecretAgeDays publisher, run by a schedule. */
export const handler = secretAgePublisherHandler();
