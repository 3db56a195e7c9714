// tensorrec-explore's JupyterLab / Notebook 7 extension, hand-written (no build step): a module
// federation container that JupyterLab loads at start-up, before any widget model exists.
//
// anywidget 0.11 gives each widget's ES module 2 s to load (AbortSignal.timeout(2000)). Plotly's
// FigureWidget module is ~5 MB and the explorer shows four figures, so on a slow or busy machine
// that deadline passes, the figures' models fail ("[anywidget] Failed to initialize model.") and
// the curves stay bare axes. Allow two minutes instead; nothing else is changed. The Voila app's
// template (tensorrec_explore/app/server.py) applies the same patch to its page.
(function () {
  var original = window.AbortSignal && AbortSignal.timeout;
  if (original && !original.tensorrecExplore) {
    var patched = function (ms) { return original.call(AbortSignal, ms === 2000 ? 120000 : ms); };
    patched.tensorrecExplore = true;
    AbortSignal.timeout = patched;
  }
  var plugin = {
    id: "tensorrec-explore:anywidget-load-limit",
    description: "Raises anywidget's 2 s module-load limit to 2 minutes.",
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
