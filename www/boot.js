// Starts the page's WebAssembly (the file names come from the build, in data-js and data-wasm)
// and shows, in the #fatal banner, any error that stops the page: a failed load, an old
// browser, an uncaught exception. A Rust panic fills the same banner from Rust first.
const fatal = document.getElementById('fatal');

function showFatal(what) {
  if (!fatal || !fatal.hidden) return; // keep the first, most specific message
  fatal.querySelector('.what').textContent = what;
  fatal.hidden = false;
}

fatal?.querySelector('.reload')?.addEventListener('click', () => location.reload());
addEventListener('error', (e) => showFatal(`${e.message || e.error}`));
addEventListener('unhandledrejection', (e) => showFatal(`${e.reason}`));

// The build id (`cargo xtask build` writes it into index.html): the lab modules and the workers
// keep fixed names, so each is loaded with ?v=<id>; a cached file of another build has another
// URL and never pairs with this page.
const script = document.querySelector('script[data-js]');
const build = script?.dataset.build || '';
window.softplayBuild = build;
const versioned = (file) => {
  const url = new URL(file, import.meta.url);
  if (build) url.searchParams.set('v', build);
  return url;
};

// The size of each WebAssembly memory of the page (the app's and each lab's, in bytes): the
// memory soak test reads it, as it reads the workers' own (worker-loader.js).
const memories = {};
window.softplayMemory = () => Object.fromEntries(Object.entries(memories).map(([name, m]) => [name, m.buffer.byteLength]));

// A lab loaded on demand (softplay-lab-<name>.js, beside this file): imported and started
// once per page; a failed load is forgotten, so "Try again" loads it afresh.
const labs = new Map();
window.softplayLab = (name) => {
  if (!labs.has(name)) {
    const js = versioned(`./softplay-lab-${name}.js`);
    const wasm = versioned(`./softplay-lab-${name}_bg.wasm`);
    const loading = import(js).then(async (lab) => {
      const exports = await lab.default({ module_or_path: wasm });
      if (exports?.memory) memories[name] = exports.memory;
      return lab;
    });
    loading.catch(() => labs.delete(name));
    labs.set(name, loading);
  }
  return labs.get(name);
};

// The offline copy (www/sw.js), for a stamped build only. A page that opened under an older
// build's worker asks the network for the current build id (build.json); when it differs, the
// new build installs beside this one, and the #update banner offers to reload into it. The
// page never switches builds by itself: only the person's "Reload" (or a reload in another tab
// of the site) moves every open page to the new build, all at once.
if (build && 'serviceWorker' in navigator) {
  const sw = navigator.serviceWorker;
  const controlled = Boolean(sw.controller);
  let asked = false;
  sw.addEventListener('controllerchange', () => {
    if (controlled || asked) location.reload();
  });
  const offer = (registration) => {
    const banner = document.getElementById('update');
    if (!registration.waiting || !banner) return;
    banner.hidden = false;
    banner.querySelector('button').onclick = () => {
      asked = true;
      registration.waiting?.postMessage('activate');
    };
  };
  const watch = (registration) => {
    offer(registration);
    registration.addEventListener('updatefound', () => {
      const next = registration.installing;
      next?.addEventListener('statechange', () => next.state === 'installed' && sw.controller && offer(registration));
    });
  };
  const checkForNewBuild = async () => {
    if (!navigator.onLine) return;
    const response = await fetch(versioned('./build.json'), { cache: 'no-store' });
    const current = (await response.json()).build;
    if (current && current !== build) {
      const next = new URL('./sw.js', import.meta.url);
      next.searchParams.set('v', current);
      watch(await sw.register(next, { scope: './' }));
    }
  };
  // After the page is up, so that the precache never competes with the first render. A
  // registration can be refused (private modes, a blocked worker): the page works without it.
  addEventListener('load', async () => {
    try {
      // A registration of any build stays: checkForNewBuild moves it on when the site has.
      watch((await sw.getRegistration('./')) ?? (await sw.register(versioned('./sw.js'), { scope: './' })));
      await checkForNewBuild();
      addEventListener('visibilitychange', () => document.visibilityState === 'visible' && checkForNewBuild().catch(() => {}));
    } catch {
      // No offline copy this time; nothing else changes.
    }
  });
}

try {
  const { default: init } = await import(script.dataset.js);
  const exports = await init({ module_or_path: script.dataset.wasm });
  if (exports?.memory) memories.app = exports.memory;
} catch (e) {
  showFatal(
    `Softplay could not start (${e}). It needs a browser with WebAssembly SIMD: ` +
      'Chrome or Edge 91+, Firefox 89+, Safari 16.4+.',
  );
}
