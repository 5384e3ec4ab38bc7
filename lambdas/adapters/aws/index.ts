// The AWS adapters' public surface: one class per port, the ledger's table definition, errors.
export { type AwsClientSettings, AwsClients } from './awsClients.js';
export {
  CloudFormationStackOutputs,
  type CloudFormationStackOutputsProps,
  StackNotFoundError,
} from './CloudFormationStackOutputs.js';
export {
  dynamoDocumentClient,
  eventBridgeClient,
  type FunctionClients,
  secretsManagerClient,
  sfnClient,
} from './clients.js';
export {
  BY_STARTED_AT_INDEX,
  DynamoLedger,
  type DynamoLedgerProps,
  LOCK_SK,
  ledgerTableDefinition,
  ROTATION_SK_PREFIX,
} from './DynamoLedger.js';
export {
  EventBridgePublisher,
  type EventBridgePublisherProps,
  MAX_ENTRIES_PER_CALL,
} from './EventBridgePublisher.js';
export {
  AwsAdapterError,
  type AwsCallContext,
  AwsServiceError,
  awsErrorCode,
  EventPublishError,
  type FailedEventEntry,
  InvalidEventError,
  isRetryableAwsError,
  LedgerItemFormatError,
  RotationNotFoundError,
  SecretValueFormatError,
  SecretVersionConflictError,
  SecretVersionNotFoundError,
  wrapAwsError,
} from './errors.js';
export {
  type NewRotationSchedule,
  type ScheduleDescription,
  SchedulerSchedules,
  type SchedulerSchedulesProps,
} from './SchedulerSchedules.js';
export {
  FingerprintKeyError,
  SecretsManagerFingerprints,
  type SecretsManagerFingerprintsProps,
} from './SecretsManagerFingerprints.js';
export {
  DEFAULT_SECRET_PREFIX,
  SecretsManagerStore,
  type SecretsManagerStoreProps,
  STAGES,
} from './SecretsManagerStore.js';
export {
  cachedSecret,
  readGitHubToken,
  readStytchCredentials,
  readWebhookSecret,
  SECRET_CACHE_TTL_MS,
  type StytchCredentials,
  StytchCredentialsError,
  WebhookSecretValueError,
} from './SecretValueReader.js';
export { SfnExecutionStatus, type SfnExecutionStatusProps } from './SfnExecutionStatus.js';
export {
  type ExecutionDescription,
  type ExecutionHistoryEvent,
  type ExecutionTaskFailure,
  SfnExecutions,
  type SfnExecutionsProps,
} from './SfnExecutions.js';
export {
  MAX_CAUSE_LENGTH,
  MAX_ERROR_LENGTH,
  SfnTaskCallbacks,
  type SfnTaskCallbacksProps,
  TASK_GONE_ERRORS,
  type TaskCallbackLogger,
  type TaskGoneError,
} from './SfnTaskCallbacks.js';
export { executionArnOf, SfnWorkflowStarter, type SfnWorkflowStarterProps } from './SfnWorkflowStarter.js';
