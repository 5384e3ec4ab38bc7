import { exec } from '#cli/exec.js';

// A shim: the work is in `exec`, which returns the exit code instead of exiting, so the whole CLI
// is testable with argv arrays and open handles close by themselves.
process.exitCode = await exec(process.argv.slice(2));
