// The shell's QR code of the current link: it decodes (jsQR, from npm) to exactly the link in the
// address bar, at a projector's size and a phone's, in both themes; it follows the settings;
// Escape closes it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import jsQR from 'jsqr';

import { OUT, launch, open, rendered } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
});

/** The dialog's QR code drawn at `size` × `size` pixels in the page, decoded here. */
async function decodeQr(page, size = 480) {
  const { data } = await page.evaluate(async (size) => {
    const svg = document.querySelector('[data-testid=qr-dialog] .qr-code svg');
    const img = new Image();
    img.src = `data:image/svg+xml;base64,${btoa(new XMLSerializer().serializeToString(svg))}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0, size, size);
    return { data: Array.from(g.getImageData(0, 0, size, size).data) };
  }, size);
  return jsQR(Uint8ClampedArray.from(data), size, size)?.data;
}

/** Opens the QR dialog; returns the link it shows, once the address bar shows it too. */
async function showQr(page) {
  await page.click('[data-testid=qr]');
  await page.waitForSelector('[data-testid=qr-dialog] .qr-code svg', { timeout: 10_000 });
  const link = await page.textContent('[data-testid=qr-link]');
  await page.waitForFunction((l) => location.href === l, link, { timeout: 10_000 });
  return link;
}

for (const [name, viewport] of [
  ['projector', { width: 1280, height: 720 }],
  ['phone', { width: 390, height: 844 }],
]) {
  test(`${name}: the QR code decodes to exactly the current link, follows the settings, and Escape closes it`, async () => {
    for (const colorScheme of ['light', 'dark']) {
      const { page, context, problems } = await open(browser, '?page=attention&v=1&attn=lssa&n=64&seed=3', {
        viewport,
        colorScheme,
        touch: name === 'phone',
      });
      await rendered(page);
      await page.waitForSelector('.variant-panel', { timeout: 60_000 });
      const link = await showQr(page);
      assert.match(link, /page=attention/);
      assert.match(link, /n=64/);
      assert.equal(await decodeQr(page), link);
      const box = await page.locator('[data-testid=qr-dialog] .qr-code').boundingBox();
      assert.ok(box.width >= Math.min(300, viewport.width * 0.8), `the code is ${box.width} px wide`);
      assert.ok(box.y >= 0 && box.y + box.height <= viewport.height, 'the whole code is on the screen');
      await page.screenshot({ path: `${OUT}/qr-${name}-${colorScheme}.png` });

      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid=qr-dialog]', { state: 'detached', timeout: 10_000 });
      // Another page: the code follows.
      await page.click('.site-header .brand');
      await page.waitForFunction(() => !location.search.includes('page=attention'), null, { timeout: 10_000 });
      const home = await showQr(page);
      assert.equal(await decodeQr(page), home);
      assert.deepEqual(problems, []);
      await context.close();
    }
  });
}
