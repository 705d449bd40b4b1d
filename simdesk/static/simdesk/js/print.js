// "Print" buttons: <button data-print hidden>. Without JavaScript they stay hidden and the
// browser's own print command prints the page.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
