import { parseArgs } from 'node:util';
import { processIo } from '#cli/io.js';
import { runEmulatorDemo } from './emulatorDemo.js';

// `npm start`. Until the rotation workflow lands (issue 5/6) the sandbox demonstrates the
// foundation it will run on: the Stytch emulator and our Stytch client, walking a whole
// rotation with Stytch's semantics (seed 002: register a service, mint a token, rotate).
const USAGE = 'usage: npm start -- [--json] [--keep]';

let values: { json?: boolean; keep?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    options: { json: { type: 'boolean' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }));
} catch (error) {
  process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exit(2);
}

if (values.help) {
  process.stdout.write(
    `${USAGE}\n\n` +
      'Runs the Stytch emulator on a free loopback port and walks one M2M client through a complete\n' +
      "and a cancelled secret rotation with the rotator's Stytch client.\n\n" +
      '  --json   print one JSON document on stdout (progress goes to stderr)\n' +
      '  --keep   keep the emulator running afterwards and print its endpoint until Ctrl-C\n',
  );
} else {
  process.exitCode = await runEmulatorDemo(
    { json: values.json ?? false, keep: values.keep ?? false },
    processIo(),
  );
}
