import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { processIo } from '#cli/io.js';
import { runDemo, SandboxStoppedError } from './demo/runDemo.js';

// `npm start`: the whole workflow on one machine (see docs/sandbox.md). Parses flags, checks what
// it was pointed at, runs the demo; a usage problem or an unreachable endpoint is one line, exit 2.
const USAGE =
  'usage: npm start -- [--json] [--keep] [--aws-endpoint URL]\n' +
  '                    [--stytch-url URL --stytch-project-id ID --stytch-project-secret S]';

const HELP = `${USAGE}

Runs the rotator's deployed workflow on this machine: moto_server (AWS) behind the sandbox gateway,
the Stytch emulator, and the state machine \`cdk synth\` produces with its Lambda tasks bound to the
handler code. Registers the sample config's clients, then rotates four of them:
  a  schedule, every consumer healthy          -> completed, the old secret rejected
  b  schedule, one consumer unhealthy          -> cancelled, the old secret still works
  c  leak event, one consumer never reports    -> deadline passes, completed anyway
  d  schedule, Stytch loses rotate/start reply -> recovered (cancel + restart), completed
Demo consumers mint tokens throughout and report with their own IAM credentials (the AWS endpoint
refuses a PutEvents its caller's policies do not allow, as EventBridge does); the run ends with a
summary and a leak scan of everything it captured, and says what to try next (on stderr). Exit
code 0 when every check held, no token request failed and no secret leaked.

  --json                      one JSON document on stdout; progress goes to stderr
  --keep                      keep everything running afterwards and print the endpoints and the
                              operator's AWS exports, until Ctrl-C / SIGTERM (with --json, inside
                              the document as "endpoints", with every consumer's access key)

SIGINT (Ctrl-C) or SIGTERM stops it at any point: everything it started is stopped, one line on
stderr says so, exit code 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once.
  --aws-endpoint URL          use this running moto server instead of starting one
  --stytch-url URL            use this running Stytch (the emulator, or a real test project:
  --stytch-project-id ID      scenario d needs the emulator's fault injection and is then skipped)
  --stytch-project-secret S   (or set STYTCH_PROJECT_SECRET, which keeps it out of the process list)
  -h, --help                  this text
`;

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(2);
}

let values: {
  json?: boolean;
  keep?: boolean;
  help?: boolean;
  'aws-endpoint'?: string;
  'stytch-url'?: string;
  'stytch-project-id'?: string;
  'stytch-project-secret'?: string;
};
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      json: { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      'aws-endpoint': { type: 'string' },
      'stytch-url': { type: 'string' },
      'stytch-project-id': { type: 'string' },
      'stytch-project-secret': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)} (see npm start -- --help)`);
}

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function httpUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${flag} ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${flag} must be an http(s) URL`);
  return value.replace(/\/+$/, '');
}

async function reachable(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

const projectSecret = values['stytch-project-secret'] ?? process.env.STYTCH_PROJECT_SECRET;
const stytchFlags = [values['stytch-url'], values['stytch-project-id']];
let stytch: { url: string; projectId: string; projectSecret: string } | undefined;
if (stytchFlags.some((flag) => flag !== undefined) || values['stytch-project-secret'] !== undefined) {
  if (
    values['stytch-url'] === undefined ||
    values['stytch-project-id'] === undefined ||
    projectSecret === undefined
  ) {
    fail('--stytch-url, --stytch-project-id and --stytch-project-secret go together');
  }
  if (!/^project-(test|live)-/.test(values['stytch-project-id'])) {
    fail('--stytch-project-id must start with project-test- or project-live-');
  }
  const url = httpUrl('--stytch-url', values['stytch-url']);
  if (!(await reachable(url))) fail(`--stytch-url ${url} does not answer`);
  stytch = { url, projectId: values['stytch-project-id'], projectSecret };
}
let awsEndpoint: string | undefined;
if (values['aws-endpoint'] !== undefined) {
  awsEndpoint = httpUrl('--aws-endpoint', values['aws-endpoint']);
  if (!(await reachable(`${awsEndpoint}/moto-api/`))) fail(`--aws-endpoint ${awsEndpoint} does not answer`);
}

const stop = new AbortController();
/** The conventional exit code of a process a signal ended: 128 + its number (130, 143). */
const exitCodeOf = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];
const onSignal = (signal: NodeJS.Signals): void => {
  // A second signal while shutting down means now.
  if (stop.signal.aborted) process.exit(exitCodeOf(signal));
  stop.abort(new SandboxStoppedError(signal));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  process.exitCode = await runDemo(
    {
      json: values.json ?? false,
      keep: values.keep ?? false,
      signal: stop.signal,
      ...(stytch === undefined ? {} : { stytch }),
      ...(awsEndpoint === undefined ? {} : { awsEndpoint }),
    },
    processIo(),
  );
} catch (error) {
  const reason: unknown = stop.signal.aborted ? stop.signal.reason : undefined;
  if (reason instanceof SandboxStoppedError) {
    // runDemo stopped everything it started before rejecting; what is still pending in this
    // process (a synth in progress, a request to a stopped server) is abandoned.
    process.stderr.write(`npm start: ${reason.message}\n`);
    process.exit(exitCodeOf(reason.signal));
  }
  const message =
    error instanceof Error
      ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
      : String(error);
  process.stderr.write(`npm start: ${message.split('\n')[0]}\n`);
  process.exitCode = 2;
}
