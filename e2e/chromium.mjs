// Debian's Chromium through playwright-core, as the end-to-end tests and the benchmark launch
// it. As root Chromium needs --no-sandbox; the rest keeps it from calling home on a closed
// network.
import { chromium } from 'playwright-core';

const FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium (CHROMIUM or /usr/bin/chromium) with the flags above and `extra`. */
export function launchChromium(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...extra],
  });
}
