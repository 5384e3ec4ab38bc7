// Brings in a supported Node for `npm start`, `npm test`, `npm run bench` and `.ci/run` when the
// machine's is older (issue 15): the one implementation of "Node 22, installed once from the npm
// registry into .ci/.node". scripts/with-node.mjs is the entry; this file holds the decisions, kept
// apart so that they are unit-tested (test/unit/scripts/).
//
// Plain, old JavaScript on purpose: it runs first, under whatever Node the machine has, so it must
// parse and run on Node 14+ (no `??=`, no `.at()`, no top-level await, no `node:` specifiers).
import { spawnSync } from 'child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'fs';
import { basename, delimiter, dirname, join, relative } from 'path';
import { fileURLToPath } from 'url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the bootstrapped Node lives: CI's location, so CI and a person share one install. */
export const DEFAULT_NODE_DIR = join(REPO_ROOT, '.ci', '.node');

/** Environment variable that moves it (tests point it at a temporary directory). */
export const NODE_DIR_VARIABLE = 'ROTATOR_NODE_DIR';

const PREFIX = 'stytch-m2m-rotator';

/** The major version in a Node version string ('v20.20.2', '22.1.0'); NaN when there is none. */
export function majorOf(version) {
  const match = /^v?(\d+)\./.exec(String(version).trim());
  return match === null ? Number.NaN : Number(match[1]);
}

/**
 * The Node major that package.json's `engines.node` asks for: the one place it is written
 * (.nvmrc repeats it for version managers, and a unit test keeps the two equal).
 */
export function requiredMajorOf(enginesRange) {
  const match = /^\s*>=\s*v?(\d+)(\.\d+){0,2}\s*$/.exec(String(enginesRange));
  if (match === null) throw new Error('package.json engines.node must read ">=N", not ' + enginesRange);
  return Number(match[1]);
}

export function readRequiredMajor() {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  return requiredMajorOf(pkg.engines?.node);
}

/** Where the `node` of a bootstrapped install is, and the directory to put first on PATH. */
export function binDirOf(nodeDir) {
  return join(nodeDir, 'node_modules', '.bin');
}

/**
 * The version of the Node installed in nodeDir (from the `node` package's package.json), or null
 * when there is none or it is incomplete: an install is moved into place whole, but a directory
 * someone emptied or an older layout must not be mistaken for one.
 */
export function installedVersion(nodeDir) {
  try {
    const pkg = JSON.parse(readFileSync(join(nodeDir, 'node_modules', 'node', 'package.json'), 'utf8'));
    return existsSync(join(binDirOf(nodeDir), 'node')) && typeof pkg.version === 'string'
      ? pkg.version
      : null;
  } catch (_error) {
    return null;
  }
}

/**
 * Which Node runs the command: 'running' (the one running this script is new enough),
 * 'installed' (a bootstrapped one is there), or 'install' (bring one in first).
 */
export function chooseNode(runningVersion, installed, requiredMajor) {
  if (majorOf(runningVersion) >= requiredMajor) return 'running';
  if (installed !== null && majorOf(installed) >= requiredMajor) return 'installed';
  return 'install';
}

/** The one line said before installing (the install takes 10-60 s; it is said once, ever). */
export function installingLine(runningVersion, requiredMajor, where) {
  return (
    PREFIX +
    ': Node v' +
    runningVersion +
    ' is older than ' +
    requiredMajor +
    ': installing Node ' +
    requiredMajor +
    ' from the npm registry into ' +
    where +
    ' (once; later runs use it)'
  );
}

/** The one line when no supported Node can be had: what to install. */
export function cannotInstallLine(runningVersion, requiredMajor, why) {
  return (
    PREFIX +
    ': Node v' +
    runningVersion +
    ' is older than ' +
    requiredMajor +
    ' and Node ' +
    requiredMajor +
    ' could not be installed from the npm registry (' +
    why +
    '): install Node ' +
    requiredMajor +
    ' or newer (https://nodejs.org, or `nvm install`: .nvmrc says ' +
    requiredMajor +
    ') and run this again'
  );
}

/** Why `npm install` failed, in a few words: npm's error code (ENOTFOUND, ETIMEDOUT, E404, …). */
export function npmFailureReason(npmOutput, status) {
  const match = /npm (?:error|ERR!) code (\S+)/.exec(npmOutput);
  if (match !== null) return 'npm install: ' + match[1];
  return 'npm install exited with ' + status;
}

/**
 * How to run npm: the npm that started this script (npm_execpath, with this Node) when it is npm,
 * otherwise `npm` from PATH.
 */
export function npmInvocation(env, execPath) {
  const npmCli = env.npm_execpath;
  if (typeof npmCli === 'string' && /^npm-cli\.c?js$/.test(basename(npmCli))) {
    return { command: execPath, args: [npmCli] };
  }
  return { command: 'npm', args: [] };
}

/**
 * The environment for the nested `npm install`: the npm running this script exports its
 * lifecycle and package variables, which are not the install's. Its settings (`npm_config_*`:
 * registry, proxy, cache) are kept; `--prefix` on the command line outranks its `local_prefix`.
 */
export function installEnvironment(env) {
  const clean = {};
  for (const key of Object.keys(env)) {
    if (!/^npm_(lifecycle_|package_|command$|execpath$|node_execpath$)/.test(key)) clean[key] = env[key];
  }
  return clean;
}

/**
 * The environment for the command under a bootstrapped Node: its directory first on PATH, so
 * `node`, and every `#!/usr/bin/env node` script (tsx, tsc, vitest), is that Node.
 */
export function environmentWith(binDir, env) {
  const next = Object.assign({}, env);
  const pathKey = Object.keys(env).find((key) => key.toUpperCase() === 'PATH') || 'PATH';
  next[pathKey] = env[pathKey] ? binDir + delimiter + env[pathKey] : binDir;
  const node = join(binDir, 'node');
  // npm exports the Node it runs on; a tool that reads these must see the same one.
  if (next.NODE !== undefined) next.NODE = node;
  if (next.npm_node_execpath !== undefined) next.npm_node_execpath = node;
  return next;
}

/** The version a node binary reports, or null when it does not run. */
export function versionOfBinary(nodeBinary) {
  const result = spawnSync(nodeBinary, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/**
 * Installs Node `requiredMajor` into nodeDir: into a sibling directory first, moved into place when
 * it runs, so an interrupted install never looks like a finished one and two runs at once do not
 * mix. Returns null, or why it failed (a few words).
 */
export function installNode(nodeDir, requiredMajor, npm, env) {
  const staging = nodeDir + '.installing-' + process.pid;
  rmSync(staging, { recursive: true, force: true });
  const args = npm.args.concat([
    'install',
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    '--fetch-retries=1',
    '--prefix',
    staging,
    'node@' + requiredMajor,
  ]);
  // npm's output is kept (only its error code is shown): the one line says what happened.
  const result = spawnSync(npm.command, args, { encoding: 'utf8', env: installEnvironment(env) });
  try {
    if (result.error) return result.error.code === 'ENOENT' ? 'npm not found' : String(result.error.code);
    if (result.status !== 0) return npmFailureReason(result.stdout + result.stderr, result.status);
    const version = versionOfBinary(join(binDirOf(staging), 'node'));
    if (version === null || majorOf(version) < requiredMajor) return 'the installed node does not run here';
    if (installedVersion(nodeDir) === null) {
      rmSync(nodeDir, { recursive: true, force: true });
      renameSync(staging, nodeDir);
    }
    return null;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The Node to run the command with, installing it when needed: { binDir, bootstrapped } or
 * { error } (one line). `say` writes the one line announcing an install.
 */
export function ensureNode(options) {
  const env = options.env;
  const requiredMajor = options.requiredMajor;
  const nodeDir = env[NODE_DIR_VARIABLE] || DEFAULT_NODE_DIR;
  const choice = chooseNode(options.runningVersion, installedVersion(nodeDir), requiredMajor);
  if (choice === 'running') return { binDir: dirname(options.execPath), bootstrapped: false };
  if (choice === 'install') {
    const where = relative(process.cwd(), nodeDir) || nodeDir;
    options.say(installingLine(options.runningVersion, requiredMajor, where));
    const failure = installNode(nodeDir, requiredMajor, npmInvocation(env, options.execPath), env);
    if (failure !== null) return { error: cannotInstallLine(options.runningVersion, requiredMajor, failure) };
  }
  return { binDir: binDirOf(nodeDir), bootstrapped: true };
}
