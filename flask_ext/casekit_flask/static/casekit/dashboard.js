// The dashboard counts days in the browser's time zone: the first visit
// without a chosen zone reloads once with it (UTC without script).
(function () {
  "use strict";
  function start() {
    var input = document.querySelector("input[data-ck-timezone]");
    if (!input || input.hasAttribute("data-ck-chosen")) { return; }
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone || zone === input.value) { return; }
    input.value = zone;
    var url = new URL(window.location.href);
    url.searchParams.set("timezone", zone);
    window.location.replace(url.toString());
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
