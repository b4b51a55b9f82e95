// Shows every <time datetime="..."> in the browser's own time zone; a date-only
// value (data-style="day": an order date, a promised date) is the same day everywhere.
(function () {
  "use strict";
  function localize(root) {
    var full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    var date = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
    // "2025-11-08" parses as midnight UTC: shown in UTC it stays Nov 8.
    var day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
    var formats = { day: day, date: date, datetime: full };
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      // A due time is shown in its clock's time zone, as written (casekit_flask.clocks).
      if (el.dataset.style === "zoned") { return; }
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment.getTime())) { return; }
      if (el.dataset.style !== "day") { el.title = el.textContent; }
      el.textContent = (formats[el.dataset.style] || full).format(moment);
    });
  }
  // Filter forms send only the filters that have a value: shorter, shareable URLs.
  function tidyFilters(root) {
    root.querySelectorAll("form.ck-filters").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input, select").forEach(function (el) {
          if (!el.name || el.type === "hidden") { return; }
          if (el.name.slice(-3) === "_op") {
            var field = form.querySelector("[name='" + el.name.slice(0, -3) + "']");
            if (field && !field.value.trim()) { el.disabled = true; }
          } else if (el.tagName === "INPUT" && el.type !== "checkbox" && !el.value.trim()) {
            el.disabled = true;
          } else if (el.tagName === "SELECT" && !el.multiple && el.value === "") {
            el.disabled = true;
          }
        });
      });
    });
  }
  // The case page's conversation scrolls in its own box on wide screens: a link
  // to an entry (or to the timeline's end, after posting) shows it in that box and
  // leaves the page at the top, where the case's header and the composer are.
  function showInThread() {
    var thread = document.querySelector(".ck-thread");
    if (!thread || !location.hash || getComputedStyle(thread).overflowY !== "auto") { return; }
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target || !thread.contains(target)) { return; }
    window.scrollTo(0, 0);
    target.scrollIntoView({ block: "nearest" });
  }
  function start() { localize(document); tidyFilters(document); }
  window.addEventListener("load", function () { window.requestAnimationFrame(showInThread); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
