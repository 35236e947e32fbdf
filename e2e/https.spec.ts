/**
 * `npm run preview:https` for a booth on a LAN: the build over HTTPS with the self-signed
 * certificate of @vitejs/plugin-basic-ssl. Chromium resolves a made-up host name to 127.0.0.1
 * (--host-resolver-rules), so the page is opened the way a visitor opens a LAN address: not
 * localhost, hence a secure context only because of HTTPS. The visitor's "proceed anyway" is
 * `ignoreHTTPSErrors`. No traffic leaves the loopback interface.
 *
 * Found here: the page is a secure context and WebGPU works, but Chromium refuses to register a
 * service worker while the certificate is untrusted, so offline use needs the certificate trusted
 * on the visitor's device (the README says how).
 */
import { chromium, expect, test, watchCsp } from './fixtures/test';
import { go, openServerPanels } from './fixtures/page-helpers';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { chromiumArgs } from '../playwright.config';

const port = Number(process.env.PRECIS_E2E_HTTPS_PORT ?? 4443);
const HOST = 'booth.test';
let server: ChildProcess | null = null;

test.beforeAll(async () => {
  server = spawn('npm', ['run', 'preview:https', '--', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: resolve(import.meta.dirname, '..'),
    stdio: 'ignore',
    detached: true,
  });
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  try {
    for (let i = 0; i < 600; i++) {
      const up = await fetch(`https://127.0.0.1:${port}/`).then((r) => r.ok, () => false);
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`npm run preview:https did not start on port ${port}`);
  } finally {
    delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  }
});

test.afterAll(() => {
  if (server?.pid) process.kill(-server.pid);
});

test('over HTTPS a LAN-style address is a secure context: WebGPU is offered; offline storage is refused for an untrusted certificate, and the page says so', async ({}, testInfo) => {
  const executablePath = testInfo.project.use.launchOptions?.executablePath;
  const browser = await chromium.launch({
    executablePath,
    args: [...chromiumArgs, '--enable-unsafe-webgpu', `--host-resolver-rules=MAP ${HOST} 127.0.0.1`],
  });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const csp = await watchCsp(context);
    const page = await context.newPage();
    await page.goto(`https://${HOST}:${port}/`);
    await go(page, 'models');
    expect(await page.evaluate(() => [location.protocol, location.hostname, window.isSecureContext])).toEqual(['https:', HOST, true]);
    await expect(page.getByTestId('webgpu-status')).toHaveAttribute('data-available', 'true');
    await expect(page.getByTestId('webllm-model').first()).toBeVisible();
    // Chromium registers no service worker from a page whose certificate it does not trust, even
    // after "proceed anyway": offline use needs the certificate trusted on the visitor's device.
    const status = page.getByTestId('offline-status');
    await expect(status).toHaveAttribute('data-stored', 'refused');
    await expect(status).toContainText('the browser refused the service worker');
    await expect(status).toContainText(/certificate/i);

    // From this HTTPS page a model server on the LAN over plain http is mixed content: the
    // panels say so before anything is tried, and Connect stays off. Loopback stays allowed.
    await go(page, 'compress');
    await openServerPanels(page);
    await page.getByTestId('chat-base-url').fill('http://192.168.10.20:11434');
    await expect(page.getByTestId('chat-warning')).toHaveAttribute('data-reason', 'blocked');
    await expect(page.getByTestId('chat-warning')).toContainText('cannot call http://192.168.10.20:11434 (mixed content)');
    await page.getByTestId('server-base-url').fill('http://192.168.10.20:8000');
    await expect(page.getByTestId('server-warning')).toContainText('(mixed content)');
    await expect(page.getByTestId('server-connect')).toBeDisabled();
    await page.getByTestId('server-base-url').fill('http://127.0.0.1:8000');
    await expect(page.getByTestId('server-loopback')).toBeVisible();
    expect(csp).toEqual([]);
  } finally {
    await browser.close();
  }
});
