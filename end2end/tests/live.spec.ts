import { test, expect, signedIn } from './fixtures';

// Two agents in two browser contexts (two separate sessions) work the same
// ticket and see each other live: presence, typing, replies, property
// changes and availability, with no reload.

const ADMIN = { email: 'admin@e2e.example', password: 'e2e-password' };
const ANA = { email: 'ana@ayuda.example', password: 'ayuda-demo' };

test('two agents see each other live', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  const ana = await signedIn(browser, watch, ANA);

  // Both open the same ticket.
  await admin.getByTestId('view-open').click();
  await expect(admin.getByTestId('view-title')).toHaveText('All open');
  const number = await admin.getByTestId('ticket-row').first().getAttribute('data-number');
  // By number: a ticket another test creates may arrive on top meanwhile.
  await admin.locator(`[data-testid=ticket-row][data-number="${number}"] a`).first().click();
  await expect(admin.getByTestId('ticket-pane')).toBeVisible();
  await ana.goto(`/views/open/tickets/${number}`);
  await expect(ana.getByTestId('ticket-pane')).toBeVisible();
  await expect(ana.getByTestId('connection')).toContainText('Live');

  // Presence: each sees the other viewing.
  await expect(admin.getByTestId('viewers')).toContainText('Ana Ruiz is viewing');
  await expect(ana.getByTestId('viewers')).toContainText('Admin is viewing');
  // And the list shows who is on which ticket.
  await expect(
    admin.locator(`[data-testid=ticket-row][data-number="${number}"] [data-testid=row-viewer]`),
  ).toHaveText('AR');

  // The admin starts a reply; Ana sees the typing indicator.
  await admin.getByTestId('mode-reply').click();
  await admin.getByTestId('composer').fill('Draft that must survive');
  await expect(ana.getByTestId('viewers')).toContainText('Admin is typing a reply');

  // Ana replies; the admin's thread shows it at once, the draft stays.
  await ana.getByTestId('mode-reply').click();
  await ana.getByTestId('composer').fill('Ana answered first.');
  await ana.getByTestId('send').click();
  await expect(ana.getByTestId('composer')).toHaveValue('');
  await expect(admin.locator('[data-testid=entry][data-kind=reply]').last()).toContainText('Ana answered first.');
  await expect(admin.getByTestId('composer')).toHaveValue('Draft that must survive');

  // Sending the draft now asks first: Ana's reply came after it was begun.
  await admin.getByTestId('send').click();
  await expect(admin.getByTestId('stale-warning')).toContainText('Another agent replied');
  await admin.getByTestId('send-anyway').click();
  await expect(admin.getByTestId('stale-warning')).toHaveCount(0);
  await expect(ana.locator('[data-testid=entry][data-kind=reply]').last()).toContainText('Draft that must survive');

  // A status change made by Ana shows in the admin's sidebar and header.
  await ana.getByTestId('prop-status').selectOption({ label: 'Waiting on contact' });
  await expect(admin.getByTestId('ticket-status')).toHaveText('Waiting on contact');
  await expect(admin.getByTestId('prop-status').locator('option:checked')).toHaveText('Waiting on contact');

  // Availability: Ana goes away; the admin's owner picker says so.
  await ana.getByTestId('availability').selectOption('away');
  await expect(admin.getByTestId('prop-owner').locator('option', { hasText: 'Ana Ruiz' })).toHaveText(
    'Ana Ruiz (away)',
  );

  // Ana leaves the ticket; her presence disappears from the admin's header.
  await ana.getByTestId('view-unassigned').click();
  await expect(admin.getByTestId('viewers')).not.toContainText('Ana Ruiz');

  // Back on it, Ana sees the admin again, until the admin leaves the
  // workspace for Settings.
  await ana.goto(`/views/open/tickets/${number}`);
  await expect(ana.getByTestId('viewers')).toContainText('Admin is viewing');
  await admin.getByTestId('settings-help-desk').click();
  await expect(admin.getByTestId('settings-page')).toBeVisible();
  await expect(ana.getByTestId('viewers')).not.toContainText('Admin');
});

test('a new ticket appears in another agent\'s list and counts without reload', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  const ana = await signedIn(browser, watch, ANA);
  const count = ana.getByTestId('view-unassigned').locator('.count');
  const before = Number(await count.textContent());

  await admin.getByTestId('create-ticket').click();
  const panel = admin.getByTestId('create-panel');
  await panel.getByTestId('new-subject').fill('Arrived live in the list');
  await panel.getByTestId('new-contact-email').fill('live-list@customer.example');
  await panel.getByTestId('create-submit').click();

  await expect(ana.getByTestId('ticket-row').first()).toContainText('Arrived live in the list');
  await expect(count).toHaveText(String(before + 1));
});

test('a dropped connection shows offline, reconnects by itself and misses nothing', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  const ana = await signedIn(browser, watch, ANA);

  // Ana's network goes away: the workspace says so.
  await ana.context().setOffline(true);
  await expect(ana.getByTestId('connection')).toContainText('Offline');

  // Meanwhile a ticket is created.
  await admin.getByTestId('create-ticket').click();
  const panel = admin.getByTestId('create-panel');
  await panel.getByTestId('new-subject').fill('Created while Ana was offline');
  await panel.getByTestId('new-contact-email').fill('offline@customer.example');
  await panel.getByTestId('create-submit').click();
  await expect(admin.getByTestId('create-panel')).toHaveCount(0);

  // Back online: it reconnects without a reload and replays what it missed.
  await ana.context().setOffline(false);
  await expect(ana.getByTestId('connection')).toContainText('Live', { timeout: 20_000 });
  await expect(ana.getByTestId('ticket-row').first()).toContainText('Created while Ana was offline');
});

test('the live connection waits for its code, and connects once it can be fetched', async ({ page }) => {
  // The socket's code is a chunk of its own (app::on_demand), fetched as the
  // workspace hydrates; here the server answers 503 for it at first.
  const manifest = await (await page.request.get('/pkg/__wasm_split_manifest.json')).json();
  const liveChunks = new Set<string>(manifest['live_socket'].map((c: string) => `/pkg/${c}.wasm`));
  const isLiveChunk = (url: URL) => liveChunks.has(url.pathname);
  await page.route(isLiveChunk, (r) => r.fulfill({ status: 503, body: '' }));
  await page.goto('/login');
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('.workspace[data-hydrated=true]')).toBeVisible();
  // The workspace works, and says it is not live.
  await expect(page.getByTestId('connection')).toContainText('Offline');
  await page.getByTestId('view-open').click();
  await expect(page.getByTestId('view-title')).toHaveText('All open');

  // The code can be fetched again: the workspace connects by itself.
  await page.unroute(isLiveChunk);
  await expect(page.getByTestId('connection')).toContainText('Live', { timeout: 15_000 });
});
