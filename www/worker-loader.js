// Starts the compute worker's WebAssembly (built by trunk as softplay-worker.js + _bg.wasm).
// A load failure is sent to the page as the protocol's `failed` message, so the page can say
// that computation is off instead of waiting forever.
try {
  importScripts('./softplay-worker.js');
  wasm_bindgen({ module_or_path: './softplay-worker_bg.wasm' }).catch((e) => {
    postMessage({ failed: { id: null, message: `could not load the compute worker (${e})` } });
  });
} catch (e) {
  postMessage({ failed: { id: null, message: `could not load the compute worker (${e})` } });
}
