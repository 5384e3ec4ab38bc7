import { RotatorError } from '../../lambdas/core/errors.js';

/** The config `npx cdk synth/deploy` reads when no `-c config=<path>` is given. */
export const DEFAULT_CONFIG_PATH = 'config/rotator.json';
/** The sample: made-up clients, for trying the app offline (it refuses to deploy, see RotatorStack). */
export const SAMPLE_CONFIG_PATH = 'config/rotator.sample.json';

/** Which deployment config the CDK app synthesizes, and whether deploying the sample is meant. */
export interface ConfigSelection {
  readonly path: string;
  /** `-c allowSample=true`: deploy the sample on purpose (a test account, say). */
  readonly allowSample: boolean;
}

/** No config was given and there is no config/rotator.json: the app stops instead of guessing. */
export class DeploymentConfigNotGivenError extends RotatorError {
  public constructor(message: string) {
    super(message);
    this.name = 'DeploymentConfigNotGivenError';
  }
}

/**
 * The config of `-c config=<path>`, else config/rotator.json when it exists. Never the sample on
 * its own: a forgotten config would deploy its five made-up clients with live schedules.
 * @throws DeploymentConfigNotGivenError with one line saying how to pass a config
 */
export function selectDeploymentConfig(
  context: (key: string) => unknown,
  exists: (path: string) => boolean,
): ConfigSelection {
  const allowSample = isTrue(context('allowSample'));
  const given = context('config');
  if (given !== undefined) {
    if (typeof given !== 'string' || given.trim() === '') {
      throw new DeploymentConfigNotGivenError('-c config=<path> needs the path of a deployment config');
    }
    return { path: given, allowSample };
  }
  if (exists(DEFAULT_CONFIG_PATH)) return { path: DEFAULT_CONFIG_PATH, allowSample };
  throw new DeploymentConfigNotGivenError(
    `no deployment config: pass -c config=<path>, or write ${DEFAULT_CONFIG_PATH} (start from ` +
      `${SAMPLE_CONFIG_PATH}, which synthesizes but deploys only with -c allowSample=true)`,
  );
}

/** A context value as `-c key=true` (a string) or cdk.json (a boolean) gives it. */
function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}
