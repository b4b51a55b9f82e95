// Live updates of an open case page (staff or portal): while the tab is visible it asks
// the case's live state every few seconds; when the signal moves it reads the page again
// and inserts the entries it does not show yet (rendered by the server, in the page's own
// markup), and it tells a person writing in the composer that the case changed or that
// a colleague writes too. The page says where to ask in <div data-ck-live>.
(function () {
  "use strict";
  var box = document.querySelector("[data-ck-live]");
  if (!box || !window.fetch || !window.DOMParser) { return; }
  var stateUrl = box.getAttribute("data-ck-live");
  var writingUrl = box.getAttribute("data-ck-writing");
  var csrf = box.getAttribute("data-ck-csrf") || "";
  var every = Math.max(1, parseFloat(box.getAttribute("data-ck-every")) || 4) * 1000;
  var signal = box.getAttribute("data-ck-signal") || null;
  var notice = box.querySelector(".ck-live-notice");
  var composer = document.querySelector("form.ck-composer");
  var body = composer ? composer.querySelector("textarea") : null;
  var composerNote = null;
  var writers = [];
  var added = 0;
  var changedWhileWriting = false;
  var saidWriting = false;
  var lastSaid = 0;
  var busy = false;
  var timer = null;

  function entryNumber(node) { return parseInt(node.id.slice("entry-".length), 10) || 0; }

  function entries(root) { return root.querySelectorAll(".ck-entries > li[id^='entry-']"); }

  var full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment.getTime())) { return; }
      el.title = el.textContent;
      el.textContent = (el.dataset.style === "date" ? day : full).format(moment);
    });
  }

  function writing() { return !!(body && body.value.trim()); }

  function names(list) {
    if (list.length < 2) { return list.join(""); }
    return list.slice(0, -1).join(", ") + " and " + list[list.length - 1];
  }

  function show() {
    var parts = [];
    if (added) {
      parts.push(added === 1 ? "1 new entry arrived below." : added + " new entries arrived below.");
    }
    if (writers.length) {
      parts.push(names(writers) + (writers.length === 1 ? " is" : " are") + " writing on this case.");
    }
    if (notice) {
      notice.textContent = parts.join(" ");
      notice.hidden = parts.length === 0;
    }
    if (!composer) { return; }
    var said = [];
    if (changedWhileWriting) {
      said.push("This case changed while you were writing: read the new entries before you send.");
    }
    if (writers.length && writing()) {
      said.push(names(writers) + (writers.length === 1 ? " is" : " are") + " writing on it too.");
    }
    if (!composerNote) {
      composerNote = document.createElement("p");
      composerNote.className = "ck-live-composer";
      composerNote.setAttribute("role", "status");
      composerNote.setAttribute("aria-live", "polite");
      // Right under the text being written, wherever the layout puts the buttons.
      var anchor = body || composer.querySelector("button[type=submit], button:not([type])");
      if (anchor) {
        anchor.parentNode.insertBefore(composerNote, anchor.nextSibling);
      } else {
        composer.appendChild(composerNote);
      }
    }
    composerNote.textContent = said.join(" ");
    composerNote.hidden = said.length === 0;
  }

  // The page read again: the entries it shows that this one does not, in id order.
  function merge(doc) {
    var list = document.querySelector(".ck-entries");
    if (!list) { return 0; }
    var have = {};
    entries(document).forEach(function (li) { have[li.id] = true; });
    var count = 0;
    entries(doc).forEach(function (li) {
      if (have[li.id]) { return; }
      var node = document.importNode(li, true);
      node.classList.add("ck-live-new");
      var before = null;
      entries(document).forEach(function (old) {
        if (!before && entryNumber(old) > entryNumber(li)) { before = old; }
      });
      list.insertBefore(node, before);
      localize(node);
      count += 1;
    });
    var status = doc.querySelector("h1 .ck-status");
    var shown = document.querySelector("h1 .ck-status");
    if (status && shown && status.outerHTML !== shown.outerHTML) {
      shown.replaceWith(document.importNode(status, true));
    }
    return count;
  }

  function refresh() {
    return fetch(window.location.pathname, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      cache: "no-store"
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      var count = merge(new DOMParser().parseFromString(html, "text/html"));
      if (count) {
        added += count;
        if (writing()) { changedWhileWriting = true; }
      }
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    if (!document.hidden) { timer = window.setTimeout(poll, every); }
  }

  function poll() {
    if (busy || document.hidden) { return; }
    busy = true;
    if (saidWriting && writing() && Date.now() - lastSaid > 8000) {
      say(true);  // still writing: say so again before it is forgotten
      lastSaid = Date.now();
    }
    fetch(stateUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store"
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (state) {
      if (!state) { return null; }
      writers = state.writing || [];
      var moved = signal !== null && state.signal !== signal;
      signal = state.signal;
      return moved ? refresh() : null;
    }).catch(function () {
      return null;  // a network hiccup: ask again next time
    }).then(function () {
      busy = false;
      show();
      schedule();
    });
  }

  function say(active) {
    if (!writingUrl) { return; }
    var form = new FormData();
    form.append("active", active ? "1" : "0");
    form.append("csrf_token", csrf);
    fetch(writingUrl, { method: "POST", body: form, credentials: "same-origin", keepalive: true })
      .catch(function () { return null; });
  }

  if (body && writingUrl) {
    body.addEventListener("input", function () {
      var now = Date.now();
      if (writing() && (!saidWriting || now - lastSaid > 8000)) {
        say(true);
        saidWriting = true;
        lastSaid = now;
      } else if (!writing() && saidWriting) {
        say(false);
        saidWriting = false;
      }
      show();
    });
    composer.addEventListener("submit", function () {
      if (saidWriting) { say(false); }
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { window.clearTimeout(timer); } else { poll(); }
  });
  poll();
})();
