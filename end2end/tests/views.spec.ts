import { test, expect, Page, signedIn } from './fixtures';

// Views in the browser: an admin builds and edits a shared view while an
// agent has it open (the agent's workspace follows without a reload), the
// history restores an earlier version, a collaborator gets three views and
// nothing to customise, and an agent picks and orders their views.

const ADMIN = { email: 'admin@e2e.example', password: 'e2e-password' };
const ANA = { email: 'ana@ayuda.example', password: 'ayuda-demo' };
const ELI = { email: 'eli@ayuda.example', password: 'ayuda-demo' };

/// Every priority badge in the list.
async function priorities(page: Page): Promise<string[]> {
  return page.locator('[data-testid=ticket-row] .prio').allInnerTexts();
}

test('an admin edits a shared view live in an agent workspace, then rolls it back', async ({ browser, watch }) => {
  const admin = await signedIn(browser, watch, ADMIN);
  const ana = await signedIn(browser, watch, ANA);

  // The admin builds "Urgent queue": priority is Urgent, shared with everyone.
  await admin.getByTestId('new-view').click();
  await admin.getByTestId('view-name').fill('Urgent queue');
  await admin.getByTestId('add-group').click();
  await admin.locator('[data-testid=condition-values] input[value=urgent]').check();
  await admin.getByTestId('sharing-everyone').check();
  await admin.getByTestId('save-view').click();
  await expect(admin.getByTestId('view-editor')).toBeHidden();
  await expect(admin.getByTestId('view-title')).toHaveText('Urgent queue');
  await expect(admin).toHaveURL(/\/views\/\d+$/);
  expect(new Set(await priorities(admin))).toEqual(new Set(['Urgent']));

  // Ana sees it appear in her column, without reloading, and opens it.
  const anaLink = ana.locator('.view-list a', { hasText: 'Urgent queue' });
  await expect(anaLink).toBeVisible();
  await anaLink.click();
  await expect(ana.getByTestId('view-title')).toHaveText('Urgent queue');
  await expect(ana.getByTestId('ticket-row').first()).toBeVisible();
  expect(new Set(await priorities(ana))).toEqual(new Set(['Urgent']));
  // Shared with her, not hers: she cannot edit it.
  await expect(ana.getByTestId('edit-view')).toHaveCount(0);

  // The admin turns it into "High queue" with a board layout.
  await admin.getByTestId('edit-view').click();
  await admin.getByTestId('view-name').fill('High queue');
  await admin.locator('[data-testid=condition-values] input[value=urgent]').uncheck();
  await admin.locator('[data-testid=condition-values] input[value=high]').check();
  await admin.getByTestId('view-layout').selectOption('board');
  await admin.getByTestId('save-view').click();
  await expect(admin.getByTestId('view-title')).toHaveText('High queue');
  await expect(admin.getByTestId('board')).toBeVisible();

  // Ana's open workspace follows: name, title, layout and tickets.
  await expect(ana.getByTestId('view-title')).toHaveText('High queue');
  await expect(ana.locator('.view-list a', { hasText: 'High queue' })).toBeVisible();
  await expect(ana.getByTestId('board')).toBeVisible();
  await expect.poll(async () => [...new Set(await priorities(ana))]).toEqual(['High']);

  // The admin restores version 1 from the history; Ana sees it come back.
  await admin.getByTestId('edit-view').click();
  await admin.getByTestId('view-history').click();
  await expect(admin.getByTestId('view-version')).toHaveCount(2);
  await admin.getByTestId('rollback').click();
  await expect(admin.getByTestId('view-title')).toHaveText('Urgent queue');
  await expect(ana.getByTestId('view-title')).toHaveText('Urgent queue');
  await expect(ana.getByTestId('board')).toHaveCount(0);
  await expect.poll(async () => [...new Set(await priorities(ana))]).toEqual(['Urgent']);
});

test('a collaborator sees only three views and nothing to customise', async ({ browser, watch }) => {
  const eli = await signedIn(browser, watch, ELI);
  await expect(eli.locator('.view-list a')).toHaveCount(3);
  for (const slug of ['open', 'mentions', 'followers']) {
    await expect(eli.getByTestId(`view-${slug}`)).toBeVisible();
  }
  await expect(eli.getByTestId('view-unassigned')).toHaveCount(0);
  await expect(eli.getByTestId('new-view')).toHaveCount(0);
  await expect(eli.getByTestId('create-ticket')).toHaveCount(0);
  await expect(eli.getByRole('link', { name: /settings/i })).toHaveCount(0);
  // A default view outside their three is not there for them.
  await eli.goto('/views/unassigned');
  await expect(eli.locator('.list .form-error')).toContainText('View not found');
});

test('an agent follows a ticket and picks and orders their views', async ({ browser, watch }) => {
  const ana = await signedIn(browser, watch, ANA);
  // My mentions has the demo note that @mentions Ana.
  await ana.getByTestId('view-mentions').click();
  await expect(ana.getByTestId('view-title')).toHaveText('My mentions');
  await expect(ana.getByTestId('ticket-row').first()).toBeVisible();

  // Follow a ticket: Followers counts it and lists it.
  await ana.getByTestId('view-open').click();
  const number = await ana.getByTestId('ticket-row').first().getAttribute('data-number');
  // Open that ticket by its number: `first()` re-resolves, and a ticket
  // another test creates meanwhile arrives live at the top of the list.
  await ana.locator(`[data-testid=ticket-row][data-number="${number}"] a`).first().click();
  await expect(ana.getByTestId('follow')).toHaveText('☆ Follow');
  await ana.getByTestId('follow').click();
  await expect(ana.getByTestId('follow')).toHaveText('★ Following');
  await expect(ana.locator('[data-testid=view-followers] .count')).toHaveText('1');
  await ana.getByTestId('view-followers').click();
  await expect(ana.locator(`[data-testid=ticket-row][data-number="${number}"]`)).toBeVisible();

  // Hide Closed and put Followers first; it stays so after a reload.
  await ana.getByTestId('choose-views').click();
  await ana.getByTestId('show-view-closed').uncheck();
  const followers = ana.locator('[data-testid=customize-view][data-view=followers]');
  for (let i = 0; i < 4; i++) {
    await followers.getByTitle('Move up').click();
  }
  await ana.getByTestId('save-view-preferences').click();
  await expect(ana.getByTestId('customize-views')).toBeHidden();
  await expect(ana.getByTestId('view-closed')).toHaveCount(0);
  await expect(ana.locator('.view-list a').first()).toHaveAttribute('data-testid', 'view-followers');
  await ana.reload();
  await expect(ana.locator('.view-list a').first()).toHaveAttribute('data-testid', 'view-followers');
  await expect(ana.getByTestId('view-closed')).toHaveCount(0);
});
