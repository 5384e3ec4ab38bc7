import { describe, expect, it } from 'vitest';
import { baseUrlIssues, LIVE_BASE_URL, resolveBaseUrl, TEST_BASE_URL } from '#adapters/stytch/baseUrl.js';

describe('Function: resolveBaseUrl', () => {
  it.each([
    ['a live project', 'project-live-123', undefined, LIVE_BASE_URL],
    ['a test project', 'project-test-123', undefined, TEST_BASE_URL],
    ['any other id', 'something-else', undefined, TEST_BASE_URL],
    ['an override', 'project-live-123', 'http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    [
      'an override with trailing slashes',
      'project-test-1',
      'https://auth.example.com//',
      'https://auth.example.com',
    ],
    [
      'an override with a path',
      'project-test-1',
      'https://proxy.example.com/stytch/',
      'https://proxy.example.com/stytch',
    ],
  ])('returns the URL for %s', (_label, projectId, override, expected) => {
    // Act
    const url = resolveBaseUrl(projectId, override);

    // Assess
    expect(url).toBe(expected);
  });
});

describe('Function: baseUrlIssues', () => {
  it.each([
    ['https://test.stytch.com', []],
    ['http://localhost:3000/', []],
    ['not a url', ['baseUrl must be an absolute http(s) URL']],
    ['ftp://x', ['baseUrl must use https (or http for a local emulator)']],
    ['https://user:pw@x', ['baseUrl must not contain credentials']],
    ['https://x/?a=1', ['baseUrl must not contain a query or fragment']],
  ])('returns the problems of %s', (value, expected) => {
    // Act
    const issues = baseUrlIssues(value);

    // Assess
    expect(issues).toEqual(expected);
  });
});
