/**
 * GitHub for the sandbox: the secret-scanning alert API on loopback (with an admin route that
 * stages alerts from outside), a client that delivers webhooks the way GitHub signs them, and a
 * listener that stands in for the receiver's Function URL.
 */

export {
  type DeliverGitHubWebhookOptions,
  type DeliveryResult,
  type DeliverySignature,
  deliverGitHubWebhook,
} from './deliver.js';
export {
  type AddAlertInput,
  type AddedAlert,
  GitHubEmulator,
  GitHubEmulatorError,
  type GitHubEmulatorOptions,
  type GitHubLoggedRequest,
} from './GitHubEmulator.js';
export {
  ALERTS_ADMIN_PATH,
  MAX_ADMIN_BODY_BYTES,
  parseStageAlertBody,
  type StageAlertInput,
} from './stageAlert.js';
export {
  type FunctionUrlHandler,
  MAX_WEBHOOK_BODY_BYTES,
  WebhookListener,
  type WebhookListenerOptions,
} from './WebhookListener.js';
