import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import { startDispatcherRole } from '../../src/roles/dispatcher.js';
import { launchBrowser, type Watched, watchedContext } from './browser.js';
import { startTestPool, startTestWorkers } from './ocr-pool.js';
import { startTestStack, type TestStack } from './stack.js';

export type WebStack = {
  stack: TestStack;
  browser: Browser;
  /** Where the service listens: http://127.0.0.1:<port>. */
  base: string;
  /** Every browser context opened, with what it recorded that must never happen. */
  watched: Watched[];
  /** A new watched context with one page at `path`. */
  open: (path: string, viewport?: { width: number; height: number }) => Promise<Watched & { page: Page }>;
};

/**
 * A whole service for the browser tests of one file: real Redis, S3 server, tesseract.js workers and the dispatcher
 * (sweeping every second), listening on 127.0.0.1, and Debian's Chromium.
 */
export function useWebStack(label: string): WebStack {
  const web = { watched: [] as Watched[] } as WebStack;
  let pool: TesseractPool | undefined;
  beforeAll(async () => {
    web.stack = await startTestStack(label, {
      DISPATCH_SWEEP_SECONDS: '1',
      // API, bundle worker and dispatcher share this one process here (not in an office), and the suite's other
      // files load both cores: a bundle's PDF build can hold the loop past the production limit of 1 s, and the
      // load shedding's 503 would then show up as a page error. Shedding itself is tested in its own file.
      PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '10000',
    });
    pool = await startTestPool();
    await startTestWorkers(web.stack.infra, pool);
    await startDispatcherRole(web.stack.infra);
    await web.stack.app.listen({ host: '127.0.0.1', port: 0 });
    const address = web.stack.app.server.address();
    web.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    web.browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await web.browser?.close();
    await web.stack?.close();
    await pool?.close();
  });
  web.open = async (path, viewport) => {
    const session = await watchedContext(web.browser, web.base, viewport);
    web.watched.push(session);
    const page = await session.context.newPage();
    await page.goto(path);
    return { ...session, page };
  };
  return web;
}

/** Signs in on any of our pages with an issued token, as a person does. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Ключ доступу').fill(token);
  await page.getByRole('button', { name: 'Увійти' }).click();
  await page.getByRole('button', { name: 'Вийти' }).waitFor();
}

/** 200 % zoom on a 1280×720 screen leaves 640×360 CSS pixels. */
export const ZOOM_200 = { width: 640, height: 360 };

/** Presses Tab until the focused control is named `name`, and checks its focus ring shows. */
export async function tabTo(page: Page, name: string | RegExp): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const label = String(
      await page.evaluate(
        `(e => e.getAttribute('aria-label') || e.labels?.[0]?.textContent || e.textContent || '')(document.activeElement)`,
      ),
    ).trim();
    if (typeof name === 'string' ? label === name : name.test(label)) {
      const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
      expect(outline, `focus ring on ${label}`).not.toBe('none');
      return;
    }
  }
  throw new Error(`could not reach ${name} with Tab`);
}

/** The page does not scroll sideways: it reflows to the viewport (wide tables scroll in their own region). */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const overflow = await page.evaluate(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth',
  );
  expect(overflow).toBeLessThanOrEqual(1);
}
