import { createHash } from 'node:crypto';
import jsQR from 'jsqr';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { apiClient } from '../helpers/api-client.js';
import { expectAccessible, screenshot } from '../helpers/browser.js';
import { readyPacket } from '../helpers/dispatch.js';
import { unreadableJpeg } from '../helpers/images.js';
import { TEST_ADMIN_TOKEN } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { expectNoSidewaysScroll, signIn, tabTo, useWebStack, ZOOM_200 } from '../helpers/web-stack.js';

/**
 * The front office and the administrator in a real Chromium against a real service (Redis, S3 server, tesseract.js,
 * the dispatcher): a station scans a packet by drag-and-drop and prints the receipt; an administrator adds a
 * service and a registrar, watches him come into the pool, and reads the fairness chart and the protocol.
 */
const web = useWebStack('web-office');
const api = apiClient(() => web.stack.app);
const LAND = { slug: 'land', names: { uk: 'Реєстрація землі', en: 'Land registration' } };
/** Set by the station's test: the packet the administrator later looks up. */
let scanned: { trackingCode: string } | undefined;

beforeAll(async () => {
  expect((await api.json('POST', '/v1/services', TEST_ADMIN_TOKEN, LAND)).statusCode).toBe(201);
});

/** The browser's own classes the drop needs (the tests compile without the DOM's types). */
type PageGlobals = {
  DataTransfer: new () => { items: { add(file: unknown): void } };
  File: new (parts: Uint8Array[], name: string, options: { type: string }) => unknown;
};

/**
 * Drops files on the page's drop zone as a person dragging them from the scanner's folder would; `times` > 1 drops
 * the same files again (the same File objects, as a second drag of the same folder gives).
 */
async function dropFiles(page: Page, files: Array<{ name: string; bytes: Buffer }>, times = 1) {
  const dataTransfer = await page.evaluateHandle(
    (encoded) => {
      const { DataTransfer, File } = globalThis as unknown as PageGlobals;
      const transfer = new DataTransfer();
      for (const file of encoded) {
        const bytes = Uint8Array.from(atob(file.data), (char) => char.charCodeAt(0));
        transfer.items.add(new File([bytes], file.name, { type: 'image/jpeg' }));
      }
      return transfer;
    },
    files.map((file) => ({ name: file.name, data: file.bytes.toString('base64') })),
  );
  for (let i = 0; i < times; i++) await page.locator('.dropzone').dispatchEvent('drop', { dataTransfer });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const tile = (page: Page, n: number) => page.getByRole('listitem', { name: `Сторінка ${n}`, exact: true });

/** The thumbnail's own pixels, as the browser decoded them: upright means taller than wide. */
const thumbnailShape = (page: Page, n: number) =>
  tile(page, n)
    .locator('img')
    .evaluate((img) => {
      const { naturalWidth, naturalHeight } = img as unknown as {
        naturalWidth: number;
        naturalHeight: number;
      };
      return { width: naturalWidth, height: naturalHeight };
    });

describe('the station and the admin console', () => {
  it('a station scans a packet by drag-and-drop, fixes it in place and prints the receipt with a QR code', async () => {
    const station = await api.createStation('Вікно 3');
    const desk = await web.open('/station');
    await expectAccessible(desk.page, 'station sign-in');
    await signIn(desk.page, station.token);
    const { page } = desk;

    await page.getByLabel('Номер талона').fill('А-017');
    await page.getByLabel('Послуга').selectOption({ label: 'Реєстрація землі' });
    await expectAccessible(page, 'station, new packet');
    await page.getByRole('button', { name: 'Відкрити пакет' }).click();
    await page.getByRole('heading', { name: 'Пакет за талоном А-017' }).waitFor();

    // Three files dropped at once: upright, turned 90°, and one that is not a readable sheet.
    const upright = (await generatePage({ dpi: 200, paragraphs: { from: 0, count: 1 }, format: 'jpeg' }))
      .bytes;
    const turned = (
      await generatePage({ dpi: 200, rotation: 90, paragraphs: { from: 2, count: 1 }, format: 'jpeg' })
    ).bytes;
    const broken = await unreadableJpeg();
    const dropped = [
      { name: 'scan-10.jpg', bytes: broken },
      { name: 'scan-2.jpg', bytes: turned },
      { name: 'scan-1.jpg', bytes: upright },
    ];
    // Dropped twice (an impatient operator): nothing is uploaded twice.
    await dropFiles(page, dropped, 2);
    // In the order of their names (scan-1, scan-2, scan-10), each upload with its progress bar.
    await page.getByRole('progressbar', { name: 'Сторінка 3: scan-10.jpg' }).waitFor();
    await tile(page, 1).locator('img').waitFor({ timeout: 60_000 });
    await tile(page, 2).locator('img').waitFor({ timeout: 60_000 });
    await tile(page, 3).getByText('не вдалося прочитати').waitFor({ timeout: 60_000 });
    expect(await page.getByRole('progressbar').count()).toBe(3);
    expect(await page.locator('.page-grid > li').count()).toBe(3);
    for (const n of [1, 2]) {
      const { width, height } = await thumbnailShape(page, n);
      expect(height, `page ${n} thumbnail is upright`).toBeGreaterThan(width);
    }
    await tile(page, 2)
      .getByText(/повернуто на 90°/)
      .waitFor();
    await expectAccessible(page, 'station, page grid with a failed page');
    await screenshot(page, 'station-grid');

    // The failed page is replaced in place, then moved up before page 2.
    const replacement = (await generatePage({ dpi: 200, paragraphs: { from: 4, count: 1 }, format: 'jpeg' }))
      .bytes;
    // The office network drops the first attempt: the queue says so and sends it again by itself.
    let attempts = 0;
    await page.route('**/pages/3', (route) =>
      route.request().method() === 'PUT' && attempts++ === 0
        ? route.abort('connectionreset')
        : route.fallback(),
    );
    await tile(page, 3)
      .getByLabel('Замінити сторінку 3 новим сканом')
      .setInputFiles({ name: 'rescan.jpg', mimeType: 'image/jpeg', buffer: replacement });
    await page.getByText('немає зв’язку, повторюємо…').waitFor();
    await tile(page, 3).locator('img').waitFor({ timeout: 60_000 });
    expect(attempts).toBe(2);
    // The browser reports the dropped connection in its console; that one is ours.
    desk.problems.splice(0, desk.problems.length, ...desk.problems.filter((p) => !p.includes('/pages/3')));
    await page.getByRole('button', { name: 'Перемістити сторінку 3 вище' }).click();
    const { stationPackets } = await until('the pages renumbered by the server', async () => {
      const listed = (await api.json('GET', '/v1/packets', station.token)).json() as Array<{ id: string }>;
      const view = (await api.getPacket(station.token, listed[0]!.id)).json() as {
        pages: Array<{ n: number; sha256: string; status: string }>;
      };
      const order = view.pages.map((p) => p.sha256);
      return order[1] === sha256(replacement) && view.pages.every((p) => p.status === 'done')
        ? { stationPackets: listed, order }
        : undefined;
    });
    const packetId = stationPackets[0]!.id;
    const pages = (
      (await api.getPacket(station.token, packetId)).json() as { pages: Array<{ sha256: string }> }
    ).pages;
    expect(pages.map((p) => p.sha256)).toEqual([sha256(upright), sha256(replacement), sha256(turned)]);
    await tile(page, 3)
      .getByText(/повернуто на 90°/)
      .waitFor();

    await page.getByRole('button', { name: 'Подати пакет (3 стор.)' }).click();
    await page.getByRole('heading', { name: 'Квитанція' }).waitFor();
    const { trackingCode } = (await api.json('GET', '/v1/packets', station.token)).json()[0] as {
      trackingCode: string;
    };
    scanned = { trackingCode };
    expect(await page.getByTestId('tracking-code').textContent()).toBe(trackingCode);
    await expectAccessible(page, 'station, receipt');
    await screenshot(page, 'station-receipt');

    // The QR code, read from the pixels the browser drew, is the citizen's status page.
    const png = await page.locator('.receipt .qr').screenshot();
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    // jsqr is CommonJS: under Node's ESM its default export is the module, which carries the function as .default.
    const decoded = jsQR.default(
      new Uint8ClampedArray(data.buffer, data.byteOffset, data.length),
      info.width,
      info.height,
    );
    expect(decoded?.data).toBe(`${web.base}/track/${trackingCode}`);

    // Printed, only the receipt is on paper.
    await page.getByLabel('Стрічка 80 мм').check();
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.packet-list').isVisible()).toBe(false);
    expect(await page.locator('.receipt').isVisible()).toBe(true);
    await page.emulateMedia({ media: 'screen' });
    expect(desk.problems).toEqual([]);
  }, 240_000);

  it('a packet that failed after submit names the page to rescan, takes the rescan in place and is submitted again', async () => {
    const station = await api.createStation('Вікно 4');
    const packet = await api.createPacket(station.token, { ticket: 'Б-9', service: 'land' });
    expect(
      (await api.uploadPage(station.token, packet.id, 1, await unreadableJpeg(), 'image/jpeg')).statusCode,
    ).toBe(201);
    expect((await api.submit(station.token, packet.id, 1)).statusCode).toBe(202);
    await until(
      'the packet failed',
      async () => (await api.getPacket(station.token, packet.id)).json().status === 'failed',
    );

    const desk = await web.open(`/station?packet=${packet.id}`);
    await signIn(desk.page, station.token);
    const { page } = desk;
    await page.getByText('Перескануйте сторінки: 1.', { exact: false }).waitFor();
    expect(await page.getByRole('button', { name: /Видалити|Вище|Нижче/ }).count()).toBe(0);
    await expectAccessible(page, 'station, failed packet');
    const rescan = (await generatePage({ dpi: 200, paragraphs: { from: 6, count: 1 }, format: 'jpeg' }))
      .bytes;
    await tile(page, 1)
      .getByLabel('Замінити сторінку 1 новим сканом')
      .setInputFiles({ name: 'rescan.jpg', mimeType: 'image/jpeg', buffer: rescan });
    await tile(page, 1).locator('img').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Подати знову (1 стор.)' }).click();
    await page.getByRole('heading', { name: 'Квитанція' }).waitFor();
    expect(await page.getByTestId('tracking-code').textContent()).toBe(packet.trackingCode);
    await until('the packet ready', async () =>
      ['ready', 'assigned', 'decided'].includes(
        (await api.getPacket(station.token, packet.id)).json().status,
      ),
    );
    expect(desk.problems).toEqual([]);
  }, 120_000);

  it('an administrator adds a service and a registrar, sees him come into the pool, reads fairness and the protocol', async () => {
    // A history to read: three registrars decide the stations' two packets and 24 more as the draw hands them out.
    const registrars: Array<{ token: string }> = [];
    for (const name of ['Оксана', 'Тарас', 'Ірина']) {
      const created = await api.json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, {
        name,
        services: ['land'],
      });
      registrars.push(created.json());
      await api.json('PUT', '/v1/registrar/status', registrars.at(-1)!.token, { status: 'free' });
    }
    for (let i = 0; i < 24; i++) await readyPacket(web.stack.infra, 'land');
    await until('every packet drawn and decided', async () => {
      for (const { token } of registrars) {
        const assignment = await api.json('GET', '/v1/registrar/assignment', token);
        if (assignment.statusCode === 200)
          await api.json('POST', `/v1/registrar/packets/${assignment.json().packetId}/decision`, token, {
            outcome: 'approved',
          });
      }
      const listed = (await api.json('GET', '/v1/packets', TEST_ADMIN_TOKEN)).json() as Array<{
        status: string;
      }>;
      return listed.length === 26 && listed.every((packet) => packet.status === 'decided');
    });

    const admin = await web.open('/admin');
    await expectAccessible(admin.page, 'admin sign-in');
    await signIn(admin.page, TEST_ADMIN_TOKEN);
    const { page } = admin;
    await page.getByRole('heading', { name: 'Офіс зараз' }).waitFor();
    await page.getByRole('heading', { name: 'Реєстрація землі' }).waitFor();
    await expectAccessible(page, 'admin, office now');

    // A new service in the catalogue, through the console.
    await page.getByRole('link', { name: 'Послуги' }).click();
    await page.getByLabel('Код послуги').fill('business');
    await page.getByLabel('Назва українською').fill('Реєстрація бізнесу');
    await page.getByLabel('Назва англійською').fill('Business registration');
    await page.getByRole('button', { name: 'Додати послугу' }).click();
    await page.getByRole('cell', { name: 'Реєстрація бізнесу' }).waitFor();
    await expectAccessible(page, 'admin, services');

    // A registrar for it: his key is shown once.
    await page.getByRole('link', { name: 'Станції і реєстратори' }).click();
    await page.getByLabel('Ім’я або назва').nth(1).fill('Олена');
    await page.getByLabel('Реєстрація бізнесу').check();
    await page.getByRole('button', { name: 'Додати реєстратора' }).click();
    await page.getByText('Створено: Олена.', { exact: false }).waitFor();
    const token = await page.getByLabel('Ключ доступу').inputValue();
    expect(token).toMatch(/^reg_/);
    await expectAccessible(page, 'admin, registrar created with his key shown');

    // In the live view he is away; once he signs in on the desk and says he is free, he is free there.
    await page.getByRole('link', { name: 'Офіс зараз' }).click();
    const business = page.locator('section', {
      has: page.getByRole('heading', { name: 'Реєстрація бізнесу' }),
    });
    await business.getByText(/Олена\s*відсутній/).waitFor();
    await screenshot(page, 'admin-office');
    const desk = await web.open('/desk');
    await signIn(desk.page, token);
    await desk.page.getByRole('button', { name: 'Я вільний' }).click();
    await business.getByText(/Олена\s*вільний/).waitFor({ timeout: 10_000 });
    await expectAccessible(page, 'admin, office now with a free registrar');

    // Fairness: the draw of the station's packet, as a chart and a table.
    await page.getByRole('link', { name: 'Справедливість розподілу' }).click();
    const chart = page.getByRole('img', { name: 'Отримано і очікувано за реєстраторами, послуга land' });
    await chart.waitFor();
    expect(await chart.locator('circle.received').count()).toBe(3);
    expect(await chart.locator('rect.band').count()).toBe(3);
    await page.getByRole('heading', { name: /Реєстрація землі: жеребкувань 26, p = / }).waitFor();
    await expectAccessible(page, 'admin, fairness');
    await screenshot(page, 'admin-fairness');

    // The protocol, verified, and the packet found by the citizen's code.
    await page.getByRole('link', { name: 'Протокол' }).click();
    // 26 draws, 26 decisions, and the registrars' status entries.
    const total = (await web.stack.infra.repositories.protocol.head()).seq;
    expect(total).toBeGreaterThan(52);
    await page.getByText(`Ланцюжок цілий; записів: ${total}.`, { exact: false }).waitFor();
    await page.getByRole('cell', { name: 'жеребкування' }).first().waitFor();
    await expectAccessible(page, 'admin, protocol');
    await page.getByRole('link', { name: 'Пошук пакета' }).click();
    await page.getByLabel('Ідентифікатор пакета або код відстеження').fill(scanned!.trackingCode);
    await page.getByRole('button', { name: 'Знайти' }).click();
    await page.getByText('А-017').waitFor();
    await expectAccessible(page, 'admin, packet found');

    // Nobody chooses who decides: the console offers no such control.
    expect(await page.getByRole('button', { name: /признач|assign/i }).count()).toBe(0);
    for (const session of web.watched) expect(session.problems).toEqual([]);
  }, 180_000);

  it('the station and the console work at 200 % zoom on a 1280×720 screen, with the keyboard alone', async () => {
    const station = await api.createStation('Вікно 5');
    const desk = await web.open('/station', ZOOM_200);
    const { page } = desk;
    await tabTo(page, 'Ключ доступу');
    await page.keyboard.type(station.token);
    await page.keyboard.press('Enter');
    await tabTo(page, 'Номер талона');
    await page.keyboard.type('В-3');
    await tabTo(page, 'Послуга');
    await page.keyboard.press('ArrowDown');
    await tabTo(page, 'Відкрити пакет');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Пакет за талоном В-3' }).waitFor();
    await tabTo(page, 'Обрати файли');
    await expectNoSidewaysScroll(page);
    await expectAccessible(page, 'station at 200 % zoom');

    const admin = await web.open('/admin', ZOOM_200);
    await tabTo(admin.page, 'Ключ доступу');
    await admin.page.keyboard.type(TEST_ADMIN_TOKEN);
    await admin.page.keyboard.press('Enter');
    for (const [link, heading] of [
      ['Офіс зараз', 'Реєстрація землі'],
      ['Станції і реєстратори', 'Реєстратори'],
      ['Справедливість розподілу', 'Справедливість розподілу'],
      ['Протокол', 'Протокол'],
    ] as const) {
      await tabTo(admin.page, link);
      await admin.page.keyboard.press('Enter');
      await admin.page.getByRole('heading', { name: heading }).first().waitFor();
      await expectNoSidewaysScroll(admin.page);
      await expectAccessible(admin.page, `console at 200 % zoom: ${link}`);
    }
    expect([...desk.problems, ...admin.problems]).toEqual([]);
  }, 120_000);
});
