import { devices } from '@playwright/test';

// The one browser project of the tests and the bench: Debian's Chromium
// (Playwright cannot download browsers on these machines), headless, at a
// desktop help desk size.
export const debianChromium = {
  name: 'chromium',
  use: {
    ...devices['Desktop Chrome'],
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    },
  },
};
