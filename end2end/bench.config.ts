import { defineConfig } from '@playwright/test';
import { debianChromium } from './chromium';

// Browser timings for `make bench` (not part of `make test`): runs against
// the release server that scripts/bench.sh started on the generated
// workspace, so there is no webServer here. Same Debian Chromium as the
// tests.
export default defineConfig({
  testDir: './bench',
  timeout: 120_000,
  workers: 1,
  reporter: 'list',
  use: { baseURL: process.env.AYUDA_BENCH_BASE || 'http://127.0.0.1:3300' },
  projects: [debianChromium],
});
