// tensorrec-explore's JupyterLab / Notebook 7 extension, hand-written (no build step): a module
// federation container that JupyterLab loads at start-up, before any widget model exists. The
// Voila app's template (tensorrec_explore/app/server.py) runs the same script in its page. Two
// changes for anywidget 0.11's ES modules, which plotly's FigureWidget uses (~5 MB of source):
//
// 1. anywidget gives each widget's module 2 s to load (AbortSignal.timeout(2000)); on a slow or
//    busy machine that deadline passes, the figures' models fail ("[anywidget] Failed to
//    initialize model.") and the curves stay bare axes. Allow two minutes instead.
// 2. anywidget imports each widget's module from a new blob: URL, so the explorer's four figures
//    parse and run plotly's module four times (most of the browser's work while the page loads).
//    A JavaScript blob of 100 kB or more whose text was seen before gets the first one's URL
//    back (never revoked), so the browser's module map runs that module once. Smaller blobs,
//    other types and first-seen texts behave as before.
(function () {
  var original = window.AbortSignal && AbortSignal.timeout;
  if (original && !original.tensorrecExplore) {
    var patched = function (ms) { return original.call(AbortSignal, ms === 2000 ? 120000 : ms); };
    patched.tensorrecExplore = true;
    AbortSignal.timeout = patched;
  }
  var NativeBlob = window.Blob;
  if (NativeBlob && !NativeBlob.tensorrecExplore) {
    var createURL = URL.createObjectURL, revokeURL = URL.revokeObjectURL;
    var sourceOf = new WeakMap(), urlOf = new Map(), shared = new Set();
    var counts = { modules: 0, reused: 0 };  // read by the browser tests
    var SharedModuleBlob = class Blob extends NativeBlob {
      // every Blob (a File, a fetched one) stays an instance of the patched Blob
      static [Symbol.hasInstance](object) { return object instanceof NativeBlob; }
      constructor(parts, options) {
        super(parts, options);
        if (options && options.type === "text/javascript" && parts && parts.length === 1 &&
            typeof parts[0] === "string" && parts[0].length >= 100000) {
          sourceOf.set(this, parts[0]);
        }
      }
    };
    SharedModuleBlob.tensorrecExplore = counts;
    window.Blob = SharedModuleBlob;
    URL.createObjectURL = function (object) {
      var source = sourceOf.get(object);
      if (source === undefined) return createURL.call(URL, object);
      var url = urlOf.get(source);
      if (url !== undefined) {
        counts.reused += 1;
        return url;
      }
      url = createURL.call(URL, object);
      urlOf.set(source, url);
      shared.add(url);
      counts.modules += 1;
      return url;
    };
    URL.revokeObjectURL = function (url) {
      if (!shared.has(url)) revokeURL.call(URL, url);
    };
  }
  var plugin = {
    id: "tensorrec-explore:anywidget-load-limit",
    description: "Raises anywidget's 2 s module-load limit to 2 minutes; runs a module " +
      "shared by several widgets once.",
    autoStart: true,
    activate: function () {}
  };
  var registry = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  registry["tensorrec-explore"] = {
    init: function () { return Promise.resolve(); },
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error("tensorrec-explore has no module " + module));
      }
      return Promise.resolve(function () { return { __esModule: true, default: plugin }; });
    }
  };
})();
