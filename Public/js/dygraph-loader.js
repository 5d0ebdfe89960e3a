// Dygraphs comes from the operating system (Debian's libjs-dygraphs, served
// by the hub under /vendor), not from this folder. It is loaded on the first
// visit to a device page, so the overview, the page people keep open, never
// pays for it, and a hub without the package still has a working dashboard.

const SRC = "vendor/dygraphs/dygraph.min.js";

/** @type {Promise<any>|null} */
let loading = null;

/** Resolves to the `Dygraph` constructor, or null when the script is missing. */
export function loadDygraph() {
  loading ??= new Promise((resolve) => {
    const global = /** @type {any} */ (window);
    if (global.Dygraph) {
      resolve(prepare(global.Dygraph));
      return;
    }
    const script = document.createElement("script");
    script.src = SRC;
    script.async = true;
    script.addEventListener("load", () => resolve(global.Dygraph ? prepare(global.Dygraph) : null));
    script.addEventListener("error", () => {
      script.remove();
      loading = null; // let a later visit try again, e.g. after the package was installed
      resolve(null);
    });
    document.head.append(script);
  });
  return loading;
}

/**
 * Removes the built-in legend plugin: it measures text with a `style`
 * attribute and writes `style` attributes into its HTML, both of which the
 * hub's Content-Security-Policy refuses (one console error per redraw). The
 * chart shows its own read-out instead (see chart.js).
 */
function prepare(Dygraph) {
  const legend = Dygraph.Plugins?.Legend;
  if (legend) Dygraph.PLUGINS = Dygraph.PLUGINS.filter((plugin) => plugin !== legend);
  return Dygraph;
}
