/**
 * The sandbox gateway: the one loopback AWS endpoint of the sandbox (Step Functions from the local
 * executor, EventBridge routed by the template's rules, everything else from moto).
 */
export { AwsJsonError } from './awsJson.js';
export {
  type DeliveredEvent,
  EventRouter,
  NOT_MODELLED_TARGET,
  type UndeliveredEvent,
} from './EventRouter.js';
export { type EventsCaller, PutEventsAuthorizer, type PutEventsAuthorizerOptions } from './eventsAuth.js';
export { type Decision, evaluatePolicies, type PolicyDocument, type PolicyStatement } from './iamPolicy.js';
export { type AccessKey, callIam, IamQueryError } from './iamQuery.js';
export {
  type AwsCall,
  MOTO_ACCOUNT_ID,
  SandboxGateway,
  type SandboxGatewayOptions,
  type SandboxGatewayTrust,
} from './SandboxGateway.js';
export { canonicalRequest, parseAuthorization, signatureOf, verifySignature } from './sigv4.js';
export { STEP_FUNCTIONS_ACTIONS } from './stepFunctionsApi.js';
export { eventBusArn, resolveIntrinsics, templateManagedPolicies } from './templateGrants.js';
export {
  buildTargetInput,
  readPath,
  type TemplateRule,
  type TemplateSchedule,
  templateRules,
  templateSchedules,
} from './templateTriggers.js';
