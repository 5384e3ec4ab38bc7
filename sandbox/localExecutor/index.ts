/**
 * The local executor: runs the state machine that `cdk synth` produced with aws-local-stepfunctions,
 * its Lambda tasks bound to local handlers, and serves the Step Functions API calls the rotator uses.
 * See README.md beside this file.
 */

export {
  LOCAL_MAP_RUN_KEY,
  LOCAL_MAPS_CONTEXT_KEY,
  RESULTS_NOT_WRITTEN,
} from './distributedMapPlan.js';
export {
  LocalExecutorTemplateError,
  LocalSfnApiError,
  SFN_ERROR_CODES,
  type SfnErrorCode,
  TaskFailureError,
} from './errors.js';
export { keyMatchesFunction } from './handlerMatching.js';
export { LocalExecutor, page } from './LocalExecutor.js';
export { lambdaFunctionError } from './lambdaBinding.js';
export { LOCAL_INPUT_KEY, LOCAL_TIMEOUT_KEY, NO_TIMEOUT_SECONDS } from './localDefinition.js';
export { type ResolvedStateMachine, resolveStateMachine, type TemplateLambdaFunction } from './template.js';
export type {
  DescribeExecutionOutput,
  ExecutionListItem,
  ExecutionStatus,
  GetExecutionHistoryParams,
  HistoryEvent,
  HistoryEventType,
  ListExecutionsParams,
  LocalExecutorOptions,
  LocalHandlerContext,
  LocalItemReader,
  LocalLambdaHandler,
  LocalTaskHandler,
  StartExecutionParams,
  StartExecutionResult,
  StopExecutionParams,
} from './types.js';
