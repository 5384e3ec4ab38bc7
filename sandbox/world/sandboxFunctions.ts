/**
 * The rotator's step functions as the sandbox runs them: each container builds its deps on its first
 * invocation from its environment, exactly as in Lambda, pointed at the sandbox gateway with the
 * functions' own access key; what they do is observed for the demo, the tests and the leak scan.
 */
import type { RotationMetricsPort, StepDeps, StepLogger } from '#core/deps.js';
import type { DeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import type { AccessKey } from '../gateway/iamQuery.js';
import { observeStepDeps, type StepObservations } from './functionObservation.js';
import { type BoundHandler, bindStep, type StepName, stepDepsFromEnvironment } from './handlerBinding.js';
import { stepFunctionEnvironment } from './worldEnvironment.js';
import { WORLD_RESOURCE_NAMES } from './worldResources.js';

/** One metric a function emitted, as {@link RotationMetricsPort} was called. */
export type SandboxMetric =
  | ({ readonly name: 'rotationEnded' } & Parameters<RotationMetricsPort['rotationEnded']>[0])
  | ({ readonly name: 'firstConsumerReport' } & Parameters<RotationMetricsPort['firstConsumerReport']>[0]);

/** A metrics port keeping every metric in `metrics` (EMF goes to stdout in a Lambda). */
export function recordingMetrics(metrics: SandboxMetric[]): RotationMetricsPort {
  return {
    rotationEnded: (metric) => metrics.push({ name: 'rotationEnded', ...metric }),
    firstConsumerReport: (metric) => metrics.push({ name: 'firstConsumerReport', ...metric }),
  };
}

/** Where the functions run, known once the gateway listens. */
export interface FunctionsPlacement {
  /** The AWS endpoint their SDK clients call (the gateway). */
  readonly awsEndpoint: string;
  /** Their own identity (their execution role in AWS). */
  readonly accessKey: AccessKey;
  readonly stateMachineArn: string;
}

/** Options of {@link SandboxFunctions}. */
export interface SandboxFunctionsOptions {
  readonly config: DeploymentConfig;
  readonly stytchUrl: string;
  readonly logger: StepLogger;
  readonly observations: StepObservations;
  readonly metrics: SandboxMetric[];
}

/** The sandbox's step functions: bind them now, place them before their first invocation. */
export class SandboxFunctions {
  readonly #options: SandboxFunctionsOptions;
  #placement: FunctionsPlacement | undefined;
  #deps: StepDeps | undefined;

  public constructor(options: SandboxFunctionsOptions) {
    this.#options = options;
  }

  /** Says where the functions run; call it before any is invoked. */
  public place(placement: FunctionsPlacement): void {
    this.#placement = placement;
  }

  /** The deployed handler of step `name`, over the container's deps. */
  public readonly bind = (name: StepName): BoundHandler => bindStep(name, () => this.#containerDeps());

  /** Built on the first invocation, as in a Lambda container: from the environment. */
  async #containerDeps(): Promise<StepDeps> {
    if (this.#deps !== undefined) return this.#deps;
    const placement = this.#placement;
    if (placement === undefined)
      throw new Error('a sandbox function was invoked before the sandbox placed it');
    const environment = stepFunctionEnvironment({
      ...placement,
      names: WORLD_RESOURCE_NAMES,
      config: this.#options.config,
      stytchUrl: this.#options.stytchUrl,
      // The deployment's shared budgets, as the template sets them in Lambda.
      rateBudget: {
        stytchRequestsPerSecond: this.#options.config.stytch.requestsPerSecond,
        secretsManagerWritesPerSecond: this.#options.config.secretsManagerWritesPerSecond,
      },
    });
    Object.assign(process.env, environment);
    const real = stepDepsFromEnvironment({ ...process.env }, this.#options.logger);
    this.#deps = {
      ...observeStepDeps(real, this.#options.observations),
      // EMF goes to stdout in a Lambda; here it is kept for tests and the demo instead.
      metrics: recordingMetrics(this.#options.metrics),
    };
    return this.#deps;
  }
}
