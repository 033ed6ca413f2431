// WebKit, Safari's engine: Debian's WebKitGTK MiniBrowser driven by its WebKitWebDriver (webkit2gtk-driver)
// under xvfb-run, through a small WebDriver classic client written here with fetch. Each page is
// its own WebDriver session, so its own MiniBrowser with fresh storage.
//
// WebDriver classic gives no console log. What the page shows stands in for it: boot.js puts any
// uncaught error or rejection from the start in the #fatal banner, and the shell names failures
// in its error notices (both checked by the smoke run for every browser). After each load a
// listener is added here (through WebDriver, which the page's CSP does not govern) for later
// errors, rejections and console.error; the files named in Resource Timing are asked again for
// their HTTP status.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER ?? '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const CALL_MS = 75_000;
/** A call slower than this is named in the output (a driver or browser that stalls). */
const SLOW_MS = 10_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts WebKitWebDriver under xvfb-run; returns the smoke run's browser: `version`, `newPage()`, `close()`. */
export async function launchWebKit() {
  const port = await freePort();
  // Its own process group, so that closing ends xvfb-run, Xvfb, the driver and MiniBrowser together.
  const driver = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', WEBKIT_DRIVER, `--port=${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  const keep = (d) => {
    log = (log + d).slice(-4000);
  };
  driver.stdout.on('data', keep);
  driver.stderr.on('data', keep);
  let exited = null;
  driver.on('exit', (code, signal) => (exited = signal ?? code));
  const stop = () => {
    try {
      process.kill(-driver.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  // Ended with this process, however it ends (its group is not the terminal's, so Ctrl-C
  // reaches only this process).
  const interrupted = (signal) => {
    stop();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', stop);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const base = `http://127.0.0.1:${port}`;
  async function call(method, path, body) {
    let res;
    const started = Date.now();
    try {
      res = await fetch(base + path, {
        method,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: body === undefined ? undefined : JSON.stringify(body),
        // Past the session's own timeouts (page load 60 s, script 30 s): a driver that does
        // not answer is named, not waited on for undici's 300 s.
        signal: AbortSignal.timeout(CALL_MS),
      });
    } catch (e) {
      const why = e?.name === 'TimeoutError' ? `no answer in ${CALL_MS / 1000} s` : `${e?.message}${e?.cause ? ` (${e.cause.message ?? e.cause})` : ''}`;
      throw new Error(`WebKitWebDriver ${method} ${path.replace(/^\/session\/[^/]+/, '/session/…')}: ${why}`);
    }
    const json = await res.json().catch(() => ({}));
    const took = Date.now() - started;
    if (took > SLOW_MS) console.log(`      (slow: WebKitWebDriver ${method} ${path.replace(/^\/session\/[^/]+/, '/session/…')} took ${(took / 1000).toFixed(1)} s)`);
    if (!res.ok) {
      const v = json.value ?? {};
      // A script's own error: its message alone (it says what the page showed).
      if (v.error === 'javascript error' && v.message) throw new Error(v.message.replace(/^Error: /, ''));
      throw new Error(`WebKitWebDriver ${method} ${path}: ${v.error ?? res.status}: ${v.message ?? JSON.stringify(json)}`);
    }
    return json.value;
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await call('GET', '/status'))?.ready !== false) break;
    } catch (e) {
      if (exited !== null || Date.now() > deadline) {
        stop();
        throw new Error(`WebKitWebDriver did not start (${exited !== null ? `exited: ${exited}` : e.message}); its output:\n${log}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const newSession = () =>
    call('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
          timeouts: { pageLoad: 60_000, script: 30_000 },
        },
      },
    });
  // A first session tells the version (and that MiniBrowser starts at all).
  let version;
  try {
    const first = await newSession();
    version = `${first.capabilities.browserName} (WebKitGTK) ${first.capabilities.browserVersion}`;
    await call('DELETE', `/session/${first.sessionId}`);
  } catch (e) {
    stop();
    throw new Error(`${e.message}; WebKitWebDriver's output:\n${log}`);
  }
  return {
    name: 'WebKit',
    version,
    async newPage() {
      const session = await newSession();
      const s = `/session/${session.sessionId}`;
      await call('POST', `${s}/window/rect`, { width: 1280, height: 900 }).catch(() => {});
      const checked = new Map();
      const evaluate = (fn, ...args) => call('POST', `${s}/execute/sync`, { script: `return (${fn}).apply(null, arguments);`, args });
      return {
        async goto(url) {
          await call('POST', `${s}/url`, { url });
          await evaluate(() => {
            if (window.smokeProblems) return;
            const seen = (window.smokeProblems = []);
            addEventListener('error', (e) => seen.push(`page error: ${e.message || e.error}`));
            addEventListener('unhandledrejection', (e) => seen.push(`page error: unhandled rejection: ${e.reason}`));
            const error = console.error;
            console.error = (...a) => {
              seen.push(`console error: ${a.join(' ')}`);
              error.apply(console, a);
            };
          });
        },
        evaluate,
        async click(selector) {
          const el = await call('POST', `${s}/element`, { using: 'css selector', value: selector });
          await call('POST', `${s}/element/${el[ELEMENT]}/click`, {});
        },
        async problems() {
          const [seen, urls] = await evaluate(() => [
            window.smokeProblems ?? [],
            [location.href, ...performance.getEntriesByType('resource').map((e) => e.name)],
          ]);
          // WebKit's Resource Timing has no status: each file the page asked for is asked
          // again from here (a static site answers the same), and must come from the site.
          const origin = new URL(urls[0]).origin;
          const out = [...seen];
          for (const url of new Set(urls)) {
            if (new URL(url).origin !== origin) {
              out.push(`request to another origin: ${url}`);
              continue;
            }
            if (!checked.has(url)) {
              const res = await fetch(url).catch((e) => ({ status: `failed (${e.message})` }));
              await res.arrayBuffer?.();
              checked.set(url, res.status);
            }
            const status = checked.get(url);
            if (!(status < 400)) out.push(`HTTP ${status}: ${url}`);
          }
          return out;
        },
        async screenshot(path) {
          writeFileSync(path, Buffer.from(await call('GET', `${s}/screenshot`), 'base64'));
        },
        close: () => call('DELETE', s),
      };
    },
    async close() {
      stop();
      process.off('exit', stop);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
    },
  };
}
