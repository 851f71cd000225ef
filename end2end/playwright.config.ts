import { defineConfig } from '@playwright/test';
import { debianChromium } from './chromium';

// The release build of the server, on a fresh SQLite database with the demo
// workspace, at a port of its own. Chromium is Debian's: Playwright cannot
// download browsers on these machines.
const port = Number(process.env.AYUDA_E2E_PORT || 3123);
const dataDir = process.env.AYUDA_E2E_DATA || '../target/e2e';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  workers: 1,
  fullyParallel: false,
  reporter: 'list',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
  },
  webServer: {
    command: `rm -rf ${dataDir} && ../target/release/ayuda`,
    url: `http://127.0.0.1:${port}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    env: {
      DATABASE_URL: `sqlite://${dataDir}/e2e.db`,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: '../target/site',
      AYUDA_ADMIN_EMAIL: 'admin@e2e.example',
      AYUDA_ADMIN_PASSWORD: 'e2e-password',
      AYUDA_SMTP_ADDR: `127.0.0.1:${port + 2}`,
      AYUDA_SECRET_KEY_FILE: `${dataDir}/secret.key`,
      RUST_LOG: 'warn',
    },
  },
  projects: [debianChromium],
});
