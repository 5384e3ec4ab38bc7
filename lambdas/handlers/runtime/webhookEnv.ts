import { z } from 'zod';
import { DEFAULT_GITHUB_API_URL } from '#adapters/github/GitHubAlerts.js';
import { parseEnv } from './env.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The API URL carries the token in every request: https, or plain http on loopback only (the
 * sandbox's GitHub emulator). No credentials, query or fragment, which a path join would mangle.
 */
const GitHubApiUrlSchema = z
  .url()
  .refine(
    (text) => {
      const url = new URL(text);
      return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
    },
    { message: 'must be an https URL (http only on loopback)' },
  )
  .refine(
    (text) => {
      const url = new URL(text);
      return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
    },
    { message: 'must not hold credentials, a query or a fragment' },
  );

/**
 * The environment of the GitHub webhook receiver: names and ARNs only. The webhook secret and
 * the GitHub token are read from Secrets Manager at run time.
 */
const GitHubWebhookEnvSchema = z.object({
  ROTATOR_TABLE_NAME: z.string().min(1),
  ROTATOR_EVENT_BUS_NAME: z.string().min(1),
  /** The secret holding the fingerprint key (the same the rotation functions use). */
  ROTATOR_FINGERPRINT_KEY_SECRET_ID: z.string().min(1),
  /** SecretString = the webhook's shared secret, as entered in GitHub's webhook settings. */
  ROTATOR_GITHUB_WEBHOOK_SECRET_ID: z.string().min(1),
  /** SecretString = a GitHub token that may read secret-scanning alerts. */
  ROTATOR_GITHUB_TOKEN_SECRET_ID: z.string().min(1),
  ROTATOR_GITHUB_API_URL: GitHubApiUrlSchema.default(DEFAULT_GITHUB_API_URL),
});
export type GitHubWebhookEnv = z.infer<typeof GitHubWebhookEnvSchema>;

/** Reads and validates the receiver's environment; throws {@link EnvironmentError} naming every problem. */
export function readGitHubWebhookEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): GitHubWebhookEnv {
  return parseEnv(GitHubWebhookEnvSchema, env);
}
