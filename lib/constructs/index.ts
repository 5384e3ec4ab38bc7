/** The constructs {@link StytchM2MRotator} is composed of, one concern each. */
export { FleetRotation, type FleetRotationProps } from './FleetRotation.js';
export { FUNCTION_ACCESS, type FunctionAccess, type RotatorFunctionName } from './functionAccess.js';
export { RotationTriggers, type RotationTriggersProps } from './RotationTriggers.js';
export { RotationWorkflow, type RotationWorkflowProps, type WorkflowStepName } from './RotationWorkflow.js';
export { RotatorAccess, type RotatorAccessProps } from './RotatorAccess.js';
export { RotatorLedger, type RotatorLedgerProps } from './RotatorLedger.js';
export { TokenRevocations, type TokenRevocationsProps } from './TokenRevocations.js';
