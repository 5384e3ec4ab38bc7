// Prints `N passed, N failed` from vitest's JSON report, so a run that executed no test is
// visible. A missing report (type-check or lint failed first) counts as nothing run; a test file
// that failed before running any test (an import error) counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

const reportPath = process.argv[2] ?? 'reports/vitest.json';
let passed = 0;
let failed = 0;
if (existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failed += 1;
  }
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
