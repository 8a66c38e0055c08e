// masthead live reload: injected into every page by `masthead serve`, never into a build.
(() => {
  "use strict";
  const here = () => decodeURIComponent(location.pathname);
  let overlay = null;

  function showErrors(errors) {
    if (!errors.length) {
      if (overlay) { overlay.remove(); overlay = null; }
      return;
    }
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "masthead-error-overlay";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;" +
        "background:rgba(20,20,22,.94);color:#ffd7d2;font:14px/1.5 ui-monospace,monospace;padding:2rem";
      document.body.appendChild(overlay);
    }
    overlay.replaceChildren();
    const title = document.createElement("h2");
    title.textContent = "masthead: the last build reported errors";
    title.style.cssText = "color:#ff8a78;font:bold 18px system-ui,sans-serif;margin:0 0 1rem";
    overlay.appendChild(title);
    for (const message of errors) {
      const line = document.createElement("pre");
      line.className = "masthead-error";
      line.textContent = message;
      line.style.cssText = "white-space:pre-wrap;margin:0 0 .75rem";
      overlay.appendChild(line);
    }
  }

  function swapStylesheets(urls) {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href);
      if (urls.includes(url.pathname)) {
        url.searchParams.set("masthead-reload", Date.now());
        link.href = url.toString();
      }
    }
  }

  const source = new EventSource("/__masthead/events");
  let connectedOnce = false;
  source.addEventListener("open", () => {
    if (connectedOnce) location.reload();  // the server restarted: the site may have changed
    connectedOnce = true;
  });
  source.addEventListener("status", (event) => showErrors(JSON.parse(event.data).errors));
  source.addEventListener("reload", (event) => {
    const change = JSON.parse(event.data);
    const path = here();
    const index = path.endsWith("/") ? path + "index.html" : path;
    if (change.pages.includes(path) || change.pages.includes(index)) {
      location.reload();
    } else if (change.stylesheets.length) {
      swapStylesheets(change.stylesheets);
    }
  });
})();
