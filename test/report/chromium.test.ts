/**
 * The browser the HTML report tests fall back to on a machine with no system Chromium: the chrome-headless-shell
 * packed inside the `@sparticuz/chromium` dev dependency unpacks next to node_modules and renders a page under
 * playwright-core with only the libraries it brings (checked here even where a system Chromium exists).
 */
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { missingChromiumMessage, packagedChromium } from './chromium.ts';

const packaged = packagedChromium();

describe.skipIf(packaged === null)('the Chromium packed in @sparticuz/chromium', () => {
  it('unpacks once, launches headless and runs a page script', async () => {
    expect(packaged!.source).toMatch(/^@sparticuz\/chromium@\d+\.\d+\.\d+$/);
    expect(packagedChromium()!.executablePath).toBe(packaged!.executablePath); // the second call reuses the unpacked copy
    const browser = await chromium.launch({
      executablePath: packaged!.executablePath,
      env: { ...process.env, ...packaged!.env } as Record<string, string>,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    try {
      const page = await browser.newPage();
      await page.setContent(
        '<p id="greeting">hello</p><script>document.getElementById("greeting").textContent += " world"</script>',
      );
      expect(await page.locator('#greeting').textContent()).toBe('hello world');
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('without any Chromium', () => {
  it('the message is one line that names what is missing and how to add it', () => {
    const message = missingChromiumMessage();
    expect(message).not.toContain('\n');
    expect(message).toContain('/usr/bin/chromium');
    expect(message).toContain('apt-get install chromium');
    expect(message).toContain('npm install');
  });
});
