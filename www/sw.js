// The offline copy of the site: a service worker that keeps one build's files in a cache named
// by its build id, and serves the page, the lab modules, the workers and the data from it.
//
// `www/boot.js` registers it as `sw.js?v=<build id>`. On install it reads `precache.json`
// (written by `cargo xtask build`: every file of the build, and the build's id) and caches
// every file; a list of another build (the site was deployed meanwhile) fails the install, so
// a cache never holds two builds. A newer build is installed beside the running one and waits
// until the person asks for it (the page's "Reload" button sends `activate`); then the old
// caches are deleted and every open page of the site reloads into the new build.
const BUILD = new URL(self.location.href).searchParams.get('v') ?? '';
const CACHE = `softplay-${BUILD}`;
/** Asked of the network every time: is there a newer build? */
const ALWAYS_NETWORK = ['build.json'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const response = await fetch(`precache.json?v=${BUILD}`, { cache: 'no-store' });
      const list = await response.json();
      if (list.build !== BUILD) throw new Error(`precache.json lists build ${list.build}, this worker is build ${BUILD}`);
      const cache = await caches.open(CACHE);
      await cache.addAll(list.files.map((file) => new Request(file, { cache: 'reload' })));
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data === 'activate') self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('softplay-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (request.method !== 'GET' || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  if (ALWAYS_NETWORK.some((file) => url.pathname === scope.pathname + file)) {
    // From the network; with the network off, this worker's own build answers, so that the page
    // sees no new version and no failed request (browsers do not all report offline alike).
    const here = () => new Response(JSON.stringify({ build: BUILD, offline: true }), { headers: { 'Content-Type': 'application/json' } });
    event.respondWith(fetch(request).catch(here));
    return;
  }
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // Every page of the site is index.html (pages are chosen by the query); a file is the
      // same whatever its ?v= says, as the cache holds one build only.
      const key = request.mode === 'navigate' ? scope.href : request;
      const hit = await cache.match(key, { ignoreSearch: true });
      if (!hit) return fetch(request);
      // A new response takes the request's URL: a worker reads its settings from its own
      // location (worker-loader.js?bin=model), which the cached response's URL has lost.
      return new Response(hit.body, { status: hit.status, statusText: hit.statusText, headers: hit.headers });
    })(),
  );
});
