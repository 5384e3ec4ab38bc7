// TEMPORARY re-export for the move to lambdas/wiring; removed by the lead
export { type GitHubWebhookEnv, readGitHubWebhookEnv } from '#wiring/environment.js';
