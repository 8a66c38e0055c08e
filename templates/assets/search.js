// The search page: Pagefind's ready-made interface over the index that `masthead build`
// wrote to /pagefind/. A `?q=` in the address starts a search at once.
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("search");
  if (!box) return;
  var status = box.querySelector("[data-search-status]");
  if (typeof PagefindUI === "undefined") {
    if (status) status.textContent = "Search is not available on this copy of the site.";
    return;
  }
  if (status) status.remove();
  var ui = new PagefindUI({
    element: "#search",
    baseUrl: box.dataset.baseUrl,
    showSubResults: false,
    resetStyles: false,
    openFilters: ["topic", "provider", "type"],
  });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
});
