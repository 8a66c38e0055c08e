// A picture that fails to load (a remote one gone, or refused to other sites) would show
// the browser's broken-image icon in its frame; the frame goes instead, and the story
// reads as one without a picture. Deferred, so failures before it ran are found by
// decode(), which rejects for a picture that cannot be shown.
(function () {
  var frames = ".thumb, figure, .pagefind-ui__result-thumb";
  function drop(img) {
    (img.closest(frames) || img).remove();
  }
  document.addEventListener("error", function (event) {
    if (event.target instanceof HTMLImageElement) drop(event.target);
  }, true);
  Array.prototype.forEach.call(document.images, function (img) {
    if (img.complete && img.decode) img.decode().catch(function () { drop(img); });
  });
})();
