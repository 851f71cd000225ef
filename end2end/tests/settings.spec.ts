import { test, expect, signedIn, createTicket } from './fixtures';

// Help desk settings in the browser: an admin rearranges the ticket
// sidebar while an agent has a ticket open (the agent's sidebar follows
// without a reload), an SLA policy set in Settings shows on a new ticket
// at once with everyone's hours and capacity listed, and agents and
// collaborators find no settings to open.

const ADMIN = { email: 'admin@e2e.example', password: 'e2e-password' };
const ANA = { email: 'ana@ayuda.example', password: 'ayuda-demo' };
const ELI = { email: 'eli@ayuda.example', password: 'ayuda-demo' };

test('an admin reorders the sidebar and an agent sees it change on the open ticket', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  const ana = await signedIn(browser, watch, ANA);

  // Ana opens a new ticket (one with no linked tickets): the built-in layout.
  const { number } = await createTicket(admin, 'Sidebar order check', 'Which card comes first?', 'sidebar@order.test');
  await ana.locator(`[data-testid=ticket-row][data-number="${number}"] .subject a`).click();
  await expect(ana.getByTestId('ticket-subject')).toContainText(`#${number}`);
  const headings = ana.locator('[data-testid=sidebar] > section.card > h3');
  await expect(headings).toHaveText(['Contact', 'SLA', 'Ticket properties', 'Other tickets of the contact']);

  // The admin moves the properties to the top, drops the other tickets,
  // adds the company, and saves.
  await admin.getByTestId('settings-help-desk').click();
  await expect(admin.getByTestId('settings-page')).toBeVisible();
  await admin.getByRole('link', { name: 'Ticket sidebar' }).click();
  const cards = admin.getByTestId('layout-card');
  await expect(cards).toHaveCount(4);
  await cards.nth(2).getByTestId('card-up').click();
  await cards.nth(1).getByTestId('card-up').click();
  await cards.nth(3).getByTestId('card-remove').click();
  await admin.getByTestId('add-card-kind').selectOption('company');
  await admin.getByTestId('add-card').click();
  const expected = ['Ticket properties', 'Contact', 'SLA', 'Company'];
  await expect(admin.getByTestId('layout-preview').locator('section.card > h3')).toHaveText(expected);
  await admin.getByTestId('save-layout').click();
  await expect(admin.getByTestId('layout-version')).toContainText('version 1');

  // Ana's open ticket follows, without a reload.
  await expect(headings).toHaveText(expected);
  await expect(ana.getByTestId('sidebar')).toHaveAttribute('data-layout-version', '1');
  await expect(ana.getByTestId('company-card')).toBeVisible();

  // A second save, then the first version restored: Ana follows again.
  await cards.nth(3).getByTestId('card-remove').click();
  await admin.getByTestId('save-layout').click();
  await expect(admin.getByTestId('layout-version')).toContainText('version 2');
  await expect(headings).toHaveText(['Ticket properties', 'Contact', 'SLA']);
  await admin.getByTestId('layout-versions').locator('li', { hasText: 'Version 1 ' }).getByTestId('rollback').click();
  await expect(admin.getByTestId('layout-version')).toContainText('version 3');
  await expect(headings).toHaveText(expected);
});

test('an SLA policy from Settings shows on a new ticket and in the SLA views', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  await admin.getByTestId('settings-help-desk').click();
  // People's settings come with the page (the workspace's own list of
  // users leaves them out); collaborators have no seat to set.
  const people = admin.getByTestId('people');
  await expect(people).toContainText('Ana Ruiz');
  await expect(people).not.toContainText('Eli Moreau');
  const form = admin.getByTestId('sla-form');
  await form.getByTestId('sla-name').fill('E2E low priority');
  await form.getByLabel('Low').check();
  await form.getByTestId('sla-first').fill('45');
  await form.getByTestId('save-sla').click();
  await expect(admin.getByTestId('sla-policy').filter({ hasText: 'E2E low priority' })).toBeVisible();
  // Bad input is refused inline.
  await form.getByTestId('sla-name').fill('Nothing set');
  await form.getByTestId('sla-first').fill('');
  await form.getByTestId('save-sla').click();
  await expect(form.getByTestId('sla-error')).toContainText('Set at least one target');

  // A ticket made in the workspace gets its clocks at once (from the
  // demo's "Standard" policy, which comes before the new one).
  await admin.getByRole('link', { name: '← Workspace' }).click();
  await admin.getByTestId('create-ticket').click();
  const panel = admin.getByTestId('create-panel');
  await panel.getByTestId('new-subject').fill('SLA clock check');
  await panel.getByTestId('new-contact-email').fill('sla.check@example.com');
  await panel.getByTestId('new-priority').selectOption('low');
  await panel.getByTestId('new-body').fill('When will you answer?');
  await panel.getByTestId('create-submit').click();
  await expect(admin.getByTestId('ticket-subject')).toContainText('SLA clock check');
  await expect(admin.getByTestId('ticket-pane').getByTestId('sla-badge')).toBeVisible();
  await expect(admin.getByTestId('sla-goals').locator('dd[data-goal=first_reply]')).toBeVisible();

  // The demo's old unanswered tickets are overdue: the view lists them.
  await admin.getByTestId('view-sla_overdue').click();
  await expect(admin.getByTestId('ticket-row').first()).toBeVisible();
  await expect(admin.getByTestId('ticket-row').first().getByTestId('sla-badge')).toContainText('Overdue');
});

test('agents and collaborators find no settings', async ({ browser, watch }) => {
  for (const who of [ANA, ELI]) {
    const page = await signedIn(browser, watch, who);
    await expect(page.getByTestId('settings-help-desk')).toHaveCount(0);
    for (const path of ['/settings/help-desk', '/settings/sidebar']) {
      await page.goto(path);
      await expect(page.getByTestId('settings-forbidden')).toBeVisible();
      await expect(page.getByTestId('settings-page')).toHaveCount(0);
    }
  }
});

test('panel and ticket code come after hydration, settings code only with a settings page, and such a page or a ticket loaded directly hydrates', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  const wasm: string[] = [];
  admin.on('request', (r) => {
    if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname);
  });

  // The workspace hydrates with the main bundle alone, then fetches the
  // chunks of the open ticket and its panels (palette, create, merge, view
  // editor) and none of the settings pages' chunks.
  await admin.reload();
  await expect(admin.locator('.workspace[data-hydrated=true]')).toBeVisible();
  expect(wasm[0]).toBe('/pkg/ayuda.wasm');
  await expect.poll(() => wasm.some((p) => p.includes('split_panel_workspace'))).toBe(true);
  expect(wasm.some((p) => p.includes('split_panel_open_ticket'))).toBe(true);
  expect(wasm.filter((p) => p.includes('split_page_'))).toEqual([]);
  await expect(admin.locator('head link[rel=preload][href*="split_panel_"]')).toHaveCount(0);

  // A ticket's own address, loaded directly, fetches the open ticket's
  // chunk (listed in the head) before hydrating, and the ticket then works
  // in the browser: its composer switches to a note.
  await admin.getByTestId('ticket-row').first().locator('.subject a').click();
  await expect(admin.getByTestId('thread')).toBeVisible();
  wasm.length = 0;
  await admin.reload();
  await expect(admin.locator('head link[rel=preload][href*="split_panel_open_ticket"]')).toHaveCount(1);
  await expect(admin.locator('.workspace[data-hydrated=true]')).toBeVisible();
  expect(wasm.filter((p) => p.includes('split_panel_open_ticket'))).toHaveLength(1);
  await admin.getByTestId('mode-note').click();
  await expect(admin.locator('form.composer.note')).toBeVisible();
  await expect(admin.getByTestId('thread')).toBeVisible();

  // Loaded directly, the sidebar editor fetches its chunk before hydrating:
  // its buttons then work in the browser, and the preview follows them.
  wasm.length = 0;
  await admin.goto('/settings/sidebar');
  // The server lists the page's chunks in its head, for the browser to
  // fetch beside the main bundle.
  await expect(admin.locator('head link[rel=preload][href*="split_page_sidebar_editor"]')).toHaveCount(1);
  const cards = admin.getByTestId('layout-card');
  await expect(cards.first()).toBeVisible();
  // Fetched once: the entry point's own fetch finds the preloaded one.
  expect(wasm.filter((p) => p.includes('split_page_sidebar_editor'))).toHaveLength(1);
  expect(wasm.some((p) => p.includes('split_page_help_desk_settings'))).toBe(false);
  const preview = admin.getByTestId('layout-preview').locator('section.card > h3');
  const before = await preview.allTextContents();
  await cards.nth(1).getByTestId('card-up').click();
  await expect(preview).toHaveText([before[1], before[0], ...before.slice(2)]);

  // A link to another settings page shows it once its own chunk is in.
  await admin.getByRole('link', { name: 'Help desk' }).click();
  await expect(admin.getByTestId('settings-page')).toBeVisible();
  expect(wasm.some((p) => p.includes('split_page_help_desk_settings'))).toBe(true);
});

test('a settings page whose code cannot be fetched says so, and the app keeps working', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  const logged: string[] = [];
  admin.on('console', (m) => logged.push(m.text()));
  // The settings pages' code comes in chunks of its own (app::on_demand);
  // here the server answers 503 for them.
  const pageChunks = /\/pkg\/split_page_[^/]*\.wasm$/;
  await admin.route(pageChunks, (r) => r.fulfill({ status: 503, body: '' }));

  // Reached by a link from the workspace, the page says so (the fixture
  // fails the test on a panic, which is what a failed fetch used to be).
  await admin.getByTestId('settings-help-desk').click();
  const notice = admin.getByTestId('page-unavailable');
  await expect(notice).toContainText('could not be loaded');
  await expect(admin.getByTestId('settings-page')).toHaveCount(0);

  // The app still works: back in the workspace, Ctrl-K opens the palette.
  await admin.goBack();
  await expect(admin.getByTestId('ticket-row').first()).toBeVisible();
  await admin.keyboard.press('Control+k');
  await expect(admin.getByTestId('palette')).toBeVisible();

  // "Try again" loads the address in full. Still without its code, the
  // page stays as the server rendered it, not hydrated, and says why in
  // the console.
  await admin.goForward();
  await expect(notice).toBeVisible();
  await notice.getByRole('link', { name: 'Try again' }).click();
  await expect(admin.getByTestId('settings-page')).toBeVisible();
  await expect.poll(() => logged.some((t) => t.includes("this page's code could not be fetched"))).toBe(true);

  // Once the code can be fetched, the same link from the workspace shows
  // the page: a failed fetch is not remembered.
  await admin.unroute(pageChunks);
  await admin.getByRole('link', { name: '← Workspace' }).click();
  await expect(admin.locator('.workspace[data-hydrated=true]')).toBeVisible();
  await admin.getByTestId('settings-help-desk').click();
  await expect(admin.getByTestId('settings-page')).toBeVisible();
  await expect(notice).toHaveCount(0);
});
