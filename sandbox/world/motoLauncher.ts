import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type MotoProcess, startMotoServer } from '../motoServer.js';

/** Where the sandbox installs moto when it is not on PATH. */
export const VENV_DIR = '.venv';
const MOTO_REQUIREMENT = 'moto[server]>=5,<6';

/** moto could not be found or installed: the user has to install something. */
export class MotoUnavailableError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'MotoUnavailableError';
  }
}

/**
 * Starts moto_server from PATH; else from the project's virtual environment; else installs it
 * there (`pip install 'moto[server]>=5,<6'`) and says so through `say`. With no Python at all,
 * throws {@link MotoUnavailableError} naming what to install. Aborting `signal` while it starts
 * kills it (see startMotoServer).
 */
export async function launchMoto(
  repoRoot: string,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<MotoProcess> {
  const options = signal === undefined ? {} : { signal };
  if (onPath('moto_server')) return startMotoServer(options);
  const venvMoto = join(repoRoot, VENV_DIR, 'bin', 'moto_server');
  if (!existsSync(venvMoto)) {
    const python = ['python3', 'python'].find(onPath);
    if (python === undefined) {
      throw new MotoUnavailableError(
        "moto_server is not on PATH and there is no Python to install it: install Python 3, then pip install 'moto[server]>=5,<6'",
      );
    }
    say(`moto_server is not on PATH: installing ${MOTO_REQUIREMENT} into ${VENV_DIR}/ (once)`);
    const venv = spawnSync(python, ['-m', 'venv', join(repoRoot, VENV_DIR)], { stdio: 'ignore' });
    const pip = join(repoRoot, VENV_DIR, 'bin', 'pip');
    const install =
      venv.status === 0
        ? spawnSync(pip, ['install', '--quiet', MOTO_REQUIREMENT], { stdio: ['ignore', 'ignore', 'pipe'] })
        : venv;
    if (install.status !== 0 || !existsSync(venvMoto)) {
      throw new MotoUnavailableError(
        `could not install ${MOTO_REQUIREMENT} into ${VENV_DIR}/ (pip exit ${install.status ?? 'none'}); install it yourself and put moto_server on PATH`,
      );
    }
  }
  return startMotoServer({ ...options, command: venvMoto });
}

/** Whether an executable named `command` is in a PATH directory (no shell involved). */
function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}
