// The AWS adapters' public surface: one class per port, the ledger's table definition, errors.
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
export { SfnExecutionStatus, type SfnExecutionStatusProps } from './SfnExecutionStatus.js';
export {
  MAX_CAUSE_LENGTH,
  MAX_ERROR_LENGTH,
  SfnTaskCallbacks,
  type SfnTaskCallbacksProps,
  TASK_GONE_ERRORS,
  type TaskCallbackLogger,
} from './SfnTaskCallbacks.js';
export { executionArnOf, SfnWorkflowStarter, type SfnWorkflowStarterProps } from './SfnWorkflowStarter.js';
