import { githubWebhookLambdaHandler } from '#wiring/githubWebhook.js';

// TEMPORARY re-export for the move to lambdas/wiring; removed by the lead
export {
  createGitHubWebhookDeps,
  createGitHubWebhookHandler,
  type GitHubWebhookClients,
  type GitHubWebhookDepsFactory,
  type GitHubWebhookDepsOptions,
  type GitHubWebhookHandler,
  type GitHubWebhookHttpResult,
} from '#wiring/githubWebhook.js';

/** Lambda entry point of the GitHub secret-scanning webhook receiver (Function URL). */
export const handler = githubWebhookLambdaHandler();
