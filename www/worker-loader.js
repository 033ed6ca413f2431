// Starts a worker's WebAssembly, built by trunk: the compute worker (softplay-worker.js +
// _bg.wasm), or with ?bin=model the Model lab's training worker (softplay-model-worker).
// A load failure is sent to the page as the protocol's `failed` message, so the page can say
// that computation is off instead of waiting forever.
const model = new URLSearchParams(self.location.search).get('bin') === 'model';
const name = model ? 'softplay-model-worker' : 'softplay-worker';
const failed = (e) =>
  postMessage({
    failed: model
      ? { run: null, message: `could not load the training worker (${e})` }
      : { id: null, message: `could not load the compute worker (${e})` },
  });
try {
  importScripts(`./${name}.js`);
  wasm_bindgen({ module_or_path: `./${name}_bg.wasm` }).catch(failed);
} catch (e) {
  failed(e);
}
