import { forTerminal } from './terminalText.js';

/** The exit codes every operator command documents in its help. */
export const EXIT_CODES_HELP =
  '\nExit codes: 0 ok; 1 the operation ended badly (rotation cancelled, failed, rejected, invalid\n' +
  'request, or nothing to act on); 2 usage or setup error (one line on stderr).';

/** Outsider text (an error's cause, a task's failure message) as one bounded, escaped line. */
export function oneLine(text: string): string {
  return forTerminal(text);
}

/** Milliseconds as seconds with two decimals (`1.25s`); negative durations print as 0. */
export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(2)}s`;
}
