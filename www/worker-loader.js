// Starts a worker's WebAssembly, built by trunk: the compute worker (softplay-worker.js +
// _bg.wasm), or with ?bin=model the Model lab's training worker (softplay-model-worker).
// Both are loaded with this build's id (?v=…, passed on from the page), so a cached worker of
// another build is never used. A load failure is sent to the page as the protocol's `failed`
// message, so the page can say that computation is off instead of waiting forever.
const params = new URLSearchParams(self.location.search);
const model = params.get('bin') === 'model';
const name = model ? 'softplay-model-worker' : 'softplay-worker';
const build = params.get('v');
const versioned = (file) => (build ? `./${file}?v=${encodeURIComponent(build)}` : `./${file}`);
const failed = (e) =>
  postMessage({
    failed: model
      ? { run: null, message: `could not load the training worker (${e})` }
      : { id: null, message: `could not load the compute worker (${e})` },
  });
try {
  importScripts(versioned(`${name}.js`));
  wasm_bindgen({ module_or_path: versioned(`${name}_bg.wasm`) }).then((exports) => {
    // Its WebAssembly memory's size in bytes, for the memory soak test (as the page's in boot.js).
    self.softplayMemory = () => exports.memory.buffer.byteLength;
  }, failed);
} catch (e) {
  failed(e);
}
