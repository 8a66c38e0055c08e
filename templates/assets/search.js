// The search page: Pagefind's ready-made interface over the index that `masthead build`
// wrote to /pagefind/: the primary index there, merged with the shards that
// /pagefind/shards.json names (one search, one list of results, filters over all). A
// `?q=` in the address starts a search at once. The page's own label names the box;
// filter values without results and result pictures without a size are tidied as
// Pagefind draws them.
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("search");
  if (!box) return;
  var status = box.querySelector("[data-search-status]");
  if (typeof PagefindUI === "undefined") {
    if (status) status.textContent = "Search is not available on this copy of the site.";
    return;
  }
  var bundle = box.dataset.bundle;
  fetch(bundle + "shards.json")
    .then(function (response) { return response.ok ? response.json() : { merge: [] }; })
    .catch(function () { return { merge: [] }; })
    .then(function (shards) { start(box, status, bundle, shards.merge || []); });
});

function start(box, status, bundle, merge) {
  if (status) status.remove();
  var ui = new PagefindUI({
    element: "#search",
    bundlePath: bundle,
    mergeIndex: merge.map(function (path) { return { bundlePath: bundle + path }; }),
    baseUrl: box.dataset.baseUrl,
    showSubResults: false,
    showImages: true,
    resetStyles: false,
    // Open filters on a phone would push the first result below the first screen.
    openFilters: window.matchMedia("(max-width: 36rem)").matches ? [] : ["topic", "provider", "type"],
  });
  var tidy = function () {
    var input = box.querySelector(".pagefind-ui__search-input");
    if (input && !input.hasAttribute("aria-labelledby")) {
      input.setAttribute("aria-labelledby", "search-label");
      input.id = "search-input";
    }
    box.querySelectorAll(".pagefind-ui__filter-value").forEach(function (value) {
      var label = value.querySelector(".pagefind-ui__filter-label");
      var checkbox = value.querySelector("input");
      var empty = label && /\(0\)\s*$/.test(label.textContent) && !(checkbox && checkbox.checked);
      value.hidden = !!empty;
    });
    box.querySelectorAll(".pagefind-ui__filter-block").forEach(function (block) {
      var values = block.querySelectorAll(".pagefind-ui__filter-value");
      var shown = Array.prototype.some.call(values, function (v) { return !v.hidden; });
      block.hidden = values.length > 0 && !shown;
    });
    box.querySelectorAll("img.pagefind-ui__result-image:not([width])").forEach(function (img) {
      img.width = 160;
      img.height = 90;
      img.loading = "lazy";
      img.decoding = "async";
    });
  };
  new MutationObserver(tidy).observe(box, { childList: true, subtree: true, characterData: true });
  tidy();
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
}
