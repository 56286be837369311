import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

export { launchBrowser } from '../../fixtures/browser.js';

/**
 * A browser context on the service that records what must never happen: a request to any host but 127.0.0.1
 * (it is refused, too), an error in the console, an uncaught exception in a page.
 */
export async function watchedContext(
  browser: Browser,
  baseURL: string,
  viewport = { width: 1280, height: 720 },
) {
  const context = await browser.newContext({ baseURL, viewport, locale: 'uk-UA' });
  const problems: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    problems.push(`request left 127.0.0.1: ${url.href}`);
    return route.abort();
  });
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error')
        problems.push(`console error on ${page.url()} (${message.location().url}): ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
  };
  context.on('page', watch);
  return { context, problems };
}

/** axe-core against WCAG 2.1 A and AA: the page, in the state it is in now, has no violations. */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const summary = violations.map(
    (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join('; ')}`,
  );
  expect(summary, `axe on ${state}`).toEqual([]);
}

/** Saves a screenshot into docs/screenshots when UPDATE_SCREENSHOTS is set (npm run screenshots). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.UPDATE_SCREENSHOTS) return;
  await page.screenshot({ path: new URL(`../../docs/screenshots/${name}.png`, import.meta.url).pathname });
}

export type Watched = { context: BrowserContext; problems: string[] };
