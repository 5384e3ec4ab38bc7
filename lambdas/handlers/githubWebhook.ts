import { githubWebhookLambdaHandler } from '#wiring/githubWebhook.js';

/** Lambda entry point of the GitHub secret-scanning webhook receiver (Function URL). */
export const handler = githubWebhookLambdaHandler();
