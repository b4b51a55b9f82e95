// Shows every <time datetime="..."> in the browser's own time zone.
(function () {
  "use strict";
  function localize(root) {
    var full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    var day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment.getTime())) { return; }
      el.title = el.textContent;
      el.textContent = (el.dataset.style === "date" ? day : full).format(moment);
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
  function start() { localize(document); tidyFilters(document); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
