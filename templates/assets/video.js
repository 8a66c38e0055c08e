// Click-to-play: the video player (an inert <template> until now) replaces its poster,
// titled with the story's title and asked to start at once.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest(".video-play");
  if (!button) return;
  var frame = button.nextElementSibling.content.cloneNode(true);
  var iframe = frame.querySelector("iframe");
  if (iframe) {
    iframe.title = button.dataset.title;
    iframe.src += (iframe.src.indexOf("?") < 0 ? "?" : "&") + "autoplay=1";
    iframe.removeAttribute("loading");
  }
  button.replaceWith(frame);
});
