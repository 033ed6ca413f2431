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

// A lab loaded on demand (softplay-lab-<name>.js, beside this file): imported and started
// once per page; a failed load is forgotten, so "Try again" loads it afresh.
const labs = new Map();
window.softplayLab = (name) => {
  if (!labs.has(name)) {
    const js = versioned(`./softplay-lab-${name}.js`);
    const wasm = versioned(`./softplay-lab-${name}_bg.wasm`);
    const loading = import(js).then(async (lab) => {
      await lab.default({ module_or_path: wasm });
      return lab;
    });
    loading.catch(() => labs.delete(name));
    labs.set(name, loading);
  }
  return labs.get(name);
};

try {
  const { default: init } = await import(script.dataset.js);
  await init({ module_or_path: script.dataset.wasm });
} catch (e) {
  showFatal(
    `Softplay could not start (${e}). It needs a browser with WebAssembly SIMD: ` +
      'Chrome or Edge 91+, Firefox 89+, Safari 16.4+.',
  );
}
