import { test as base, expect, Browser, BrowserContext, Page } from '@playwright/test';

// A panic in the WASM app (a hydration mismatch, say) leaves the page on
// screen but deaf to clicks, and the test would fail later on a click that
// "did nothing". Every test here fails instead on the panic itself, with its
// message: pages are watched from creation and checked when the test ends.

type Fixtures = {
  /// Uncaught errors of every watched page, in order.
  pageErrors: string[];
  /// Watches a page the test made itself (a second browser context). That
  /// context is closed when the test ends: left open, its live connection
  /// would go on reporting presence on tickets later tests look at.
  watch: (page: Page) => Page;
};

export const test = base.extend<Fixtures>({
  pageErrors: [
    async ({}, use) => {
      const errors: string[] = [];
      await use(errors);
      expect(errors, 'uncaught errors in the page').toEqual([]);
    },
    { auto: true },
  ],
  watch: async ({ pageErrors, context }, use) => {
    const own = new Set<BrowserContext>();
    await use((page: Page) => {
      if (page.context() !== context) own.add(page.context());
      page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && m.text().includes('panicked')) {
          pageErrors.push(`${page.url()}: ${m.text().split('\n')[0]}`);
        }
      });
      return page;
    });
    for (const c of own) await c.close();
  },
  page: async ({ page, watch }, use) => {
    await use(watch(page));
  },
});

export { expect };
export type { Page };

/// A second person, signed in in a browser context of their own (a separate
/// session), on a hydrated workspace with its live connection up and its
/// panels' code in.
export async function signedIn(
  browser: Browser,
  watch: (page: Page) => Page,
  who: { email: string; password: string },
): Promise<Page> {
  const context = await browser.newContext();
  const page = watch(await context.newPage());
  await page.goto('/login');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/views\/[a-z]+$/);
  await expect(page.locator('.workspace[data-hydrated=true]')).toBeVisible();
  await expect(page.getByTestId('connection')).toContainText('Live');
  // The panels' code, fetched after hydration, is in too (a test that then
  // cuts the network is not racing it).
  await expect(page.locator('.workspace[data-panels=loaded]')).toBeVisible();
  return page;
}

/// Creates a ticket over the REST API with the page's session (as the
/// workspace itself would, from our own origin).
export async function createTicket(
  page: Page,
  subject: string,
  body: string,
  email: string,
): Promise<{ id: number; number: number }> {
  const port = Number(process.env.AYUDA_E2E_PORT || 3123);
  const res = await page.request.post('/api/v1/tickets', {
    data: { subject, body, contact: { email } },
    headers: { Origin: `http://127.0.0.1:${port}` },
  });
  expect(res.status()).toBe(201);
  return await res.json();
}
