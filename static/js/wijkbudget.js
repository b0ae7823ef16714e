// Small enhancements that need no inline script (the Content-Security-Policy allows none).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    window.print();
  }
});
