/** Stytch's production API origin, used for `project-live-…` ids. */
export const LIVE_BASE_URL = 'https://api.stytch.com';
/** Stytch's test API origin, used for every other project id. */
export const TEST_BASE_URL = 'https://test.stytch.com';

/**
 * The API base URL for a project, chosen like the Stytch SDKs do: an explicit URL wins, else the
 * project id's `project-live-` prefix selects live and anything else selects test. Trailing `/`s
 * are trimmed so paths can be appended and the URL doubles as the custom-domain JWT issuer.
 */
export function resolveBaseUrl(projectId: string, override?: string): string {
  if (override !== undefined) {
    return trimTrailingSlashes(override);
  }
  return projectId.startsWith('project-live-') ? LIVE_BASE_URL : TEST_BASE_URL;
}

/**
 * Problems with a caller-supplied base URL, as messages that never echo the value (a misplaced
 * secret must not end up in an error).
 */
export function baseUrlIssues(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return ['baseUrl must be an absolute http(s) URL'];
  }
  const issues: string[] = [];
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    issues.push('baseUrl must use https (or http for a local emulator)');
  }
  if (url.username !== '' || url.password !== '') {
    issues.push('baseUrl must not contain credentials');
  }
  if (url.search !== '' || url.hash !== '') {
    issues.push('baseUrl must not contain a query or fragment');
  }
  return issues;
}

function trimTrailingSlashes(value: string): string {
  return value.replace(/\/+$/, '');
}
