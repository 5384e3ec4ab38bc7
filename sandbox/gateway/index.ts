/**
 * The sandbox gateway: the one loopback AWS endpoint of the sandbox (Step Functions from the local
 * executor, EventBridge routed by the template's rules, everything else from moto).
 */
export { AwsJsonError } from './awsJson.js';
export { type DeliveredEvent, EventRouter, type UndeliveredEvent } from './EventRouter.js';
export { SandboxGateway, type SandboxGatewayOptions } from './SandboxGateway.js';
export { STEP_FUNCTIONS_ACTIONS } from './stepFunctionsApi.js';
export {
  buildTargetInput,
  readPath,
  type TemplateRule,
  type TemplateSchedule,
  templateRules,
  templateSchedules,
} from './templateTriggers.js';
