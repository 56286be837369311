import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import type { OcrResult } from '../../src/pipeline/ocr.js';
import { apiClient } from '../helpers/api-client.js';
import { expectAccessible, screenshot, watchedContext } from '../helpers/browser.js';
import { TEST_ADMIN_TOKEN } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { expectNoSidewaysScroll, signIn, tabTo, useWebStack, ZOOM_200 } from '../helpers/web-stack.js';

/**
 * The registrar desk and the citizen's page in a real Chromium against a real service (Redis, S3 server,
 * tesseract.js, the dispatcher): two registrars, one packet, a recusal, a decision, the citizen's view.
 */
const web = useWebStack('web-desk');
const api = apiClient(() => web.stack.app);

beforeAll(async () => {
  for (const slug of ['desk', 'keys']) await api.addService(slug);
});

/** Signs a registrar in and waits for his status line. */
async function signInAtDesk(page: Page, token: string) {
  await signIn(page, token);
  await page.getByRole('heading', { name: 'Ваш статус' }).waitFor({ state: 'attached' });
}

const packetHeading = (page: Page) => page.getByRole('heading', { name: 'Пакет', exact: true });

describe('the registrar desk and the citizen’s page', () => {
  it('two registrars, one packet: shown within 2 s of ready, searched, recused, approved; the citizen sees it', async () => {
    const registrars = await Promise.all(
      ['Оксана', 'Тарас'].map(async (name) => {
        const response = await api.json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, {
          name,
          services: ['desk'],
        });
        return response.json() as { id: string; token: string };
      }),
    );
    const desks = await Promise.all(registrars.map(() => web.open('/desk')));
    await expectAccessible(desks[0]!.page, 'desk sign-in');
    for (const [i, desk] of desks.entries()) await signInAtDesk(desk.page, registrars[i]!.token);
    await screenshot(desks[0]!.page, 'desk-away');
    for (const desk of desks) await desk.page.getByRole('button', { name: 'Я вільний' }).click();
    await desks[0]!.page.getByText('Очікуємо пакет').waitFor();
    await expectAccessible(desks[0]!.page, 'desk waiting');
    await screenshot(desks[0]!.page, 'desk-waiting');

    // A two-page packet through the station API.
    const station = await api.createStation();
    const packet = await api.createPacket(station.token, { ticket: 'В-042', service: 'desk' });
    const pages = await Promise.all([
      generatePage({ dpi: 200, paragraphs: { from: 0, count: 2 } }),
      generatePage({ dpi: 200, paragraphs: { from: 5, count: 2 } }),
    ]);
    for (const [i, page] of pages.entries())
      expect(
        (await api.uploadPage(station.token, packet.id, i + 1, page.bytes, 'image/jpeg')).statusCode,
      ).toBe(201);
    expect((await api.submit(station.token, packet.id, 2)).statusCode).toBe(202);
    const ready = await until(
      'packet ready',
      async () => {
        const record = await web.stack.infra.repositories.packets.get(packet.id);
        return record?.readyAt ? record : undefined;
      },
      90_000,
    );

    // It opens on the desk of the registrar it was drawn for, by itself.
    const shown = await Promise.race(
      desks.map(async (desk, i) => {
        await packetHeading(desk.page).waitFor({ timeout: 10_000 });
        return i;
      }),
    );
    const shownAfterReadyMs = Date.now() - Date.parse(ready.readyAt!);
    console.log(`packet on the desk ${shownAfterReadyMs} ms after it was ready`);
    expect(shownAfterReadyMs).toBeLessThan(2000);
    const holder = desks[shown]!;
    const other = desks[1 - shown]!;
    const holderId = (await web.stack.infra.repositories.packets.get(packet.id))!.registrarId;
    expect(holderId).toBe(registrars[shown]!.id);

    // Page 2, a word on it found through the text layer and marked where the scan shows it.
    const ocrOf = async (n: number) => {
      const record = await web.stack.infra.repositories.packets.getPage(packet.id, n);
      return JSON.parse(
        (await web.stack.infra.store.get(record!.processing!.ocrKey)).toString(),
      ) as OcrResult;
    };
    const [ocr1, ocr2] = [await ocrOf(1), await ocrOf(2)];
    // A long word read with confidence on page 2 and nowhere on page 1.
    const word = ocr2.lines
      .flatMap((line) => line.words)
      .filter((w) => w.confidence > 90 && /^\p{L}{7,}$/u.test(w.text))
      .filter((w) => !ocr1.text.toLocaleLowerCase().includes(w.text.toLocaleLowerCase()))
      .sort((a, b) => b.text.length - a.text.length)[0]!.text;
    await holder.page.getByRole('button', { name: 'Наступна сторінка' }).first().click();
    await holder.page.getByText('Сторінка 2 з 2').waitFor();
    await holder.page.getByRole('searchbox', { name: 'Пошук у документі' }).fill(word);
    await holder.page.getByRole('button', { name: 'Знайти' }).click();
    await holder.page.getByText(/Знайдено: \d+ \(сторінки 2\)/).waitFor();
    const marked = holder.page.locator('.page[data-page="2"] .textLayer .highlight').first();
    await marked.waitFor({ state: 'visible' });
    expect((await marked.textContent())?.toLocaleLowerCase()).toContain(word.toLocaleLowerCase());
    await holder.page.getByText(/Підпис дійсний/).waitFor();
    // He sees his packet, never who else could have had it.
    expect(await holder.page.locator('main').textContent()).not.toContain(registrars[1 - shown]!.id);
    expect(await holder.page.content()).not.toMatch(shown === 0 ? /Тарас/ : /Оксана/);
    await expectAccessible(holder.page, 'desk with a packet open');
    await screenshot(holder.page, 'desk-packet');

    // A decision needs a confirmation step; Escape leaves it undecided.
    await holder.page.getByRole('button', { name: 'Ухвалити рішення' }).click();
    await holder.page.getByRole('dialog', { name: 'Рішення щодо пакета' }).waitFor();
    await expectAccessible(holder.page, 'decision dialog');
    await holder.page.keyboard.press('Escape');
    expect((await web.stack.infra.repositories.packets.get(packet.id))!.status).toBe('assigned');

    // He recuses: the packet goes to the other desk.
    await holder.page.getByRole('button', { name: 'Самовідвід' }).click();
    await holder.page.getByLabel('Причина самовідводу').fill('Знайомий заявника');
    await holder.page.getByRole('button', { name: 'Відмовитися від пакета' }).click();
    await holder.page.getByText('Пакет повернуто на жеребкування без вас.').waitFor();
    await holder.page.getByText(/Після самовідводу пакети вам не призначаються до \d\d:\d\d/).waitFor();
    await packetHeading(other.page).waitFor({ timeout: 10_000 });

    // She approves with a note, through the confirmation step, and is back in the pool.
    await other.page.getByRole('button', { name: 'Ухвалити рішення' }).click();
    await other.page.getByLabel('Схвалити').check();
    await other.page.getByLabel('Примітка').fill('Документи в порядку');
    await other.page.getByRole('button', { name: 'Далі' }).click();
    await other.page.getByRole('heading', { name: 'Підтвердіть рішення' }).waitFor();
    await expectAccessible(other.page, 'decision confirmation');
    await screenshot(other.page, 'desk-decision');
    await other.page.getByRole('button', { name: 'Підтвердити рішення' }).click();
    await other.page.getByText('Рішення записано.').waitFor();
    await other.page.getByText('Вільний: чекаю на пакет').waitFor();
    expect(await web.stack.infra.repositories.packets.get(packet.id)).toMatchObject({
      status: 'decided',
      outcome: 'approved',
      note: 'Документи в порядку',
    });

    // The citizen's page, from the receipt's link.
    const citizen = await web.open(`/track/${packet.trackingCode}`);
    await citizen.page.getByText('Рішення: схвалено.').waitFor();
    await expect
      .poll(() => citizen.page.locator('[aria-current="step"]').textContent())
      .toContain('Рішення ухвалено');
    expect(await citizen.page.content()).not.toContain(holderId!);
    await expectAccessible(citizen.page, 'tracking, decided');
    await screenshot(citizen.page, 'track-decided');
    await citizen.page.getByLabel('Код відстеження').fill('ZZZZ-ZZZZ-ZZZZ-ZZZZ');
    await citizen.page.getByRole('button', { name: 'Перевірити' }).click();
    await citizen.page.getByText('Справу з таким кодом не знайдено.', { exact: false }).waitFor();
    await expectAccessible(citizen.page, 'tracking, unknown code');

    // The unknown code's 404 is the answer the page asked for; the browser logs any 404 as an error.
    const unknownCode =
      '/v1/track/ZZZZ-ZZZZ-ZZZZ-ZZZZ): Failed to load resource: the server responded with a status of 404';
    for (const session of web.watched)
      expect(session.problems.filter((problem) => !problem.includes(unknownCode))).toEqual([]);
  }, 240_000);

  it('works in English, at 200 % zoom on a 1280×720 screen, with the keyboard alone', async () => {
    const created = (
      await api.json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, { name: 'Марко', services: ['keys'] })
    ).json() as { id: string; token: string };
    const session = await watchedContext(web.browser, web.base, ZOOM_200);
    web.watched.push(session);
    const page = await session.context.newPage();
    await page.goto('/desk');
    await page.getByRole('button', { name: 'English' }).click();
    await page.reload();
    await page.getByRole('heading', { name: 'Registrar desk' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');

    // Keyboard only from here: Tab to a control, Enter or Space to use it; focus always visible.
    await tabTo(page, 'Access key');
    await page.keyboard.type(created.token);
    await page.keyboard.press('Enter');
    await page.getByText('Your status').first().waitFor();
    await tabTo(page, 'I am free');
    await page.keyboard.press('Enter');
    await page.getByText('Waiting for a packet.', { exact: false }).waitFor();

    const station = await api.createStation();
    const packet = await api.createPacket(station.token, { ticket: 'К-7', service: 'keys' });
    const scan = await generatePage({ dpi: 200, paragraphs: { from: 3, count: 1 } });
    await api.uploadPage(station.token, packet.id, 1, scan.bytes, 'image/jpeg');
    expect((await api.submit(station.token, packet.id, 1)).statusCode).toBe(202);
    await page.getByRole('heading', { name: 'Packet', exact: true }).waitFor({ timeout: 60_000 });
    await page.getByText(/Signature valid/).waitFor();
    await expectNoSidewaysScroll(page);
    await expectAccessible(page, 'desk in English at 200 % zoom');
    await screenshot(page, 'desk-zoom-200');

    // The decision by keys: d opens it, Tab and Space choose, Enter moves on, Enter on the confirm button decides.
    await page.locator('main').focus();
    await page.keyboard.press('d');
    await page.getByRole('dialog', { name: 'Decision on the packet' }).waitFor();
    await tabTo(page, 'Approve');
    await page.keyboard.press('Space');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Confirm the decision' }).waitFor();
    await tabTo(page, 'Confirm the decision');
    await page.keyboard.press('Enter');
    await page.getByText('Decision recorded.').waitFor();
    expect(await web.stack.infra.repositories.packets.get(packet.id)).toMatchObject({
      status: 'decided',
      outcome: 'approved',
    });
    const dated = await page.evaluate(
      `new Intl.DateTimeFormat('uk-UA', { dateStyle: 'medium' }).format(new Date(0))`,
    );
    expect(dated).toMatch(/1970/);
    expect(session.problems).toEqual([]);
  }, 120_000);

  it('keeps the session in an HttpOnly, SameSite=Strict cookie; refuses cross-site changes; signs out for good', async () => {
    const created = (
      await api.json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, { name: 'Ірина', services: ['desk'] })
    ).json() as { token: string };
    const desk = await web.open('/desk');
    await signInAtDesk(desk.page, created.token);
    const [cookie] = await desk.context.cookies();
    expect(cookie).toMatchObject({ name: 'scan_session', httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await desk.page.evaluate('document.cookie')).toBe('');
    expect(await desk.page.evaluate('JSON.stringify(localStorage)')).not.toContain(created.token);

    const request = desk.context.request;
    // The cookie alone does not change anything: a page of another site cannot send the CSRF token.
    const forged = await request.put(`${web.base}/v1/registrar/status`, { data: { status: 'free' } });
    expect(forged.status()).toBe(403);
    expect((await forged.json()).error.code).toBe('csrf_failed');
    const { csrfToken } = (await (await request.get(`${web.base}/v1/session`)).json()) as {
      csrfToken: string;
    };
    const foreign = await request.put(`${web.base}/v1/registrar/status`, {
      data: { status: 'free' },
      headers: { 'x-csrf-token': csrfToken, origin: 'http://evil.example' },
    });
    expect(foreign.status()).toBe(403);
    const own = await request.put(`${web.base}/v1/registrar/status`, {
      data: { status: 'free' },
      headers: { 'x-csrf-token': csrfToken, origin: web.base },
    });
    expect(own.status()).toBe(200);

    await desk.page.getByRole('button', { name: 'Вийти' }).click();
    await desk.page.getByRole('button', { name: 'Увійти' }).waitFor();
    expect((await request.get(`${web.base}/v1/registrar/me`)).status()).toBe(401);
    // The old cookie, sent again by hand, names a session that no longer exists.
    const replayed = await fetch(`${web.base}/v1/registrar/me`, {
      headers: { cookie: `scan_session=${cookie!.value}` },
    });
    expect(replayed.status).toBe(401);
    expect(desk.problems).toEqual([]);
  });
});
