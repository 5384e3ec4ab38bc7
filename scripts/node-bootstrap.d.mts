// Types of scripts/node-bootstrap.mjs (plain JavaScript on purpose) for the tests that import it.
export declare const REPO_ROOT: string;
export declare const DEFAULT_NODE_DIR: string;
export declare const NODE_DIR_VARIABLE: string;
export declare function majorOf(version: string): number;
export declare function requiredMajorOf(enginesRange: string | undefined): number;
export declare function readRequiredMajor(): number;
export declare function binDirOf(nodeDir: string): string;
export declare function installedVersion(nodeDir: string): string | null;
export declare function chooseNode(
  runningVersion: string,
  installed: string | null,
  requiredMajor: number,
): 'running' | 'installed' | 'install';
export declare function installingLine(runningVersion: string, requiredMajor: number, where: string): string;
export declare function cannotInstallLine(runningVersion: string, requiredMajor: number, why: string): string;
export declare function npmFailureReason(npmOutput: string, status: number | null): string;
export declare function npmInvocation(
  env: NodeJS.ProcessEnv,
  execPath: string,
): { command: string; args: string[] };
export declare function installEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function environmentWith(binDir: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function versionOfBinary(nodeBinary: string): string | null;
export declare function installNode(
  nodeDir: string,
  requiredMajor: number,
  npm: { command: string; args: string[] },
  env: NodeJS.ProcessEnv,
): string | null;
export declare function ensureNode(options: {
  env: NodeJS.ProcessEnv;
  runningVersion: string;
  execPath: string;
  requiredMajor: number;
  say: (line: string) => void;
}): { binDir: string; bootstrapped: boolean; error?: undefined } | { error: string };
