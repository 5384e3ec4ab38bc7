import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The docs hold together: every relative link of README.md and docs/*.md reaches a file, and its
 * `#fragment` a heading there; every repository path a page names in code text exists. A moved
 * page, a renamed heading or a moved source file fails here rather than in a reader's browser.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(repoRoot, 'docs')).map((name) => `docs/${name}`)].filter(
  (page) => page.endsWith('.md'),
);

/** Paths the docs name that a deployer writes, not the repository holds. */
const WRITTEN_BY_THE_READER = new Set(['config/rotator.json']);

/** The text outside fenced blocks: links and code spans in examples are not the page's own. */
function prose(markdown: string): string {
  return markdown.replace(/^(\s*)```[\s\S]*?^\1```\s*$/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
    .replaceAll(' ', '-');
}

function anchorsOf(file: string): Set<string> {
  const text = prose(readFileSync(file, 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchor(match[1] ?? '')));
}

describe('Docs: links and paths', () => {
  it.each(PAGES)('%s: every relative link reaches a file and, with a #fragment, a heading there', (page) => {
    // Prepare
    const text = prose(readFileSync(join(repoRoot, page), 'utf8'));
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1] ?? '')
      .filter((target) => !/^[a-z]+:/.test(target));

    // Act
    const broken = links.filter((target) => {
      const [path = '', fragment] = target.split('#');
      const file = path === '' ? join(repoRoot, page) : normalize(join(repoRoot, dirname(page), path));
      if (!existsSync(file)) return true;
      return fragment !== undefined && !anchorsOf(file).has(fragment);
    });

    // Assess
    expect(links.length).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });

  it.each(PAGES)('%s: every repository path it names in code text exists', (page) => {
    // Prepare
    const text = prose(readFileSync(join(repoRoot, page), 'utf8'));
    const paths = [
      ...text.matchAll(
        /`((?:bin|cli|lib|config|lambdas|consumer|sandbox|bench|scripts|test|docs)\/[^`\s]*)`/g,
      ),
    ].map((match) => match[1] ?? '');

    // Act
    const missing = paths.filter(
      (path) => !WRITTEN_BY_THE_READER.has(path) && !existsSync(join(repoRoot, path.replace(/\/\*$/, ''))),
    );

    // Assess
    expect(missing.map((path) => relative('.', path))).toEqual([]);
  });
});
