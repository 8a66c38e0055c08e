// masthead live reload: injected into every page by `masthead serve`, never into a build.
(() => {
  "use strict";
  const here = () => decodeURIComponent(location.pathname);
  let overlay = null;
  // Errors the curator dismissed stay hidden in this tab until they change: the rest of
  // the site still built, and can be read and clicked meanwhile.
  const DISMISSED = "masthead-dismissed-errors";
  const remembered = () => { try { return sessionStorage.getItem(DISMISSED); } catch { return null; } };
  const remember = (key) => { try { sessionStorage.setItem(DISMISSED, key); } catch { /* private mode */ } };
  const forget = () => { try { sessionStorage.removeItem(DISMISSED); } catch { /* private mode */ } };

  function hide() {
    if (overlay) { overlay.remove(); overlay = null; }
  }

  function dismiss() {
    if (overlay) remember(overlay.dataset.errors);
    hide();
  }

  function showErrors(errors) {
    const key = JSON.stringify(errors);
    if (!errors.length) forget();  // fixed: the same error made again is shown again
    if (!errors.length || remembered() === key) {
      hide();
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
    overlay.dataset.errors = key;
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Dismiss (Esc)";
    close.style.cssText = "float:right;font:14px system-ui,sans-serif;padding:.3rem .8rem;cursor:pointer";
    close.addEventListener("click", dismiss);
    overlay.appendChild(close);
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

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") dismiss();
  });

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
