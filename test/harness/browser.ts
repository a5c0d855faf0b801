// A real headless Chromium (Debian's `chromium`, installed by scripts/bootstrap.sh) driven by
// playwright-core. Never skips: a missing browser fails the suite with the command that installs it.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.KUBETRIAGE_CHROMIUM ?? '/usr/bin/chromium';

export function requireChromium(): string {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} not found: install Debian's chromium once with \`sudo apt-get install -y chromium\` (scripts/bootstrap.sh does it), or point KUBETRIAGE_CHROMIUM at a Chromium binary`,
    );
  return CHROMIUM;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireChromium(),
    // Root in containers and CI: Chromium's sandbox needs user namespaces it may not get there.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/** Everything the page complained about: console errors (CSP violations among them) and uncaught exceptions. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/**
 * Polls an expression in the page until it is truthy. (page.waitForFunction evaluates a string with
 * `new Function`, which the page's own CSP forbids, rightly.)
 */
export async function waitUntil(page: Page, expression: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await page.evaluate(expression)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
}
