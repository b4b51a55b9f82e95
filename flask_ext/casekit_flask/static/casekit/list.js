// The Case Management list, enhanced: multi-selects you can type into, and
// selecting every row for a bulk action. Without this script the page is a
// plain form: the selects stay list boxes and each row has its checkbox.
(function () {
  "use strict";
  var serial = 0;

  // A select[multiple][data-ck-combo] becomes a text box with a list of
  // matching options (an ARIA combobox) and the chosen values as removable
  // chips. The select stays in the form, hidden, and holds the choice.
  function combo(select) {
    serial += 1;
    var id = select.id || "ck-combo-" + serial;
    var listId = id + "-options";
    var label = document.querySelector("label[for='" + id + "']");
    var box = document.createElement("div");
    box.className = "ck-combo";
    var picked = document.createElement("ul");
    picked.className = "ck-combo-picked";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "ck-combo-input";
    input.id = id + "-input";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");
    input.placeholder = "Type to filter";
    var list = document.createElement("ul");
    list.className = "ck-combo-list";
    list.id = listId;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    if (label) {
      label.htmlFor = input.id;
      if (!label.id) { label.id = id + "-label"; }
      list.setAttribute("aria-labelledby", label.id);
      picked.setAttribute("aria-label", label.textContent.trim() + ": chosen");
    }
    box.appendChild(picked);
    box.appendChild(input);
    box.appendChild(list);
    select.parentNode.insertBefore(box, select);
    select.hidden = true;
    select.tabIndex = -1;
    var active = -1;
    var shown = [];

    function options() { return Array.prototype.slice.call(select.options); }

    function drawPicked() {
      picked.textContent = "";
      options().forEach(function (option) {
        if (!option.selected) { return; }
        var item = document.createElement("li");
        var text = document.createElement("span");
        text.textContent = option.textContent;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + option.textContent);
        remove.addEventListener("click", function () {
          option.selected = false;
          drawPicked();
          input.focus();
        });
        item.appendChild(text);
        item.appendChild(remove);
        picked.appendChild(item);
      });
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      items.forEach(function (el, i) { el.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    // Chosen, the list closes (it would cover what follows); typing or the
    // down arrow opens it again for another value.
    function choose(option) {
      option.selected = true;
      input.value = "";
      drawPicked();
      close();
    }

    function open() {
      var needle = input.value.trim().toLowerCase();
      shown = options().filter(function (option) {
        return !option.selected && option.textContent.toLowerCase().indexOf(needle) !== -1;
      });
      list.textContent = "";
      shown.forEach(function (option, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = option.textContent;
        item.addEventListener("mousedown", function (event) { event.preventDefault(); });
        item.addEventListener("click", function () { choose(option); });
        list.appendChild(item);
      });
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "ck-combo-empty";
        none.textContent = options().length ? "No other match" : "No values yet";
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(shown.length && needle ? 0 : -1);
    }

    input.addEventListener("input", open);
    input.addEventListener("focus", open);
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { open(); }
        highlight(Math.min(active + 1, shown.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0 && shown[active]) {
          event.preventDefault();  // choosing, not sending the form
          choose(shown[active]);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
      } else if (event.key === "Backspace" && input.value === "") {
        var chosen = options().filter(function (option) { return option.selected; });
        if (chosen.length) {
          chosen[chosen.length - 1].selected = false;
          drawPicked();
        }
      }
    });
    box.addEventListener("click", function (event) {
      if (event.target === box) { input.focus(); }
    });
    drawPicked();
  }

  // The header's checkbox selects every row of the page; the bulk form says how many.
  function selection(root) {
    var all = root.querySelector("#select-all");
    var count = root.querySelector("#bulk-count");
    var boxes = Array.prototype.slice.call(root.querySelectorAll("input[name=case][form=bulk-form]"));
    if (!all || !boxes.length) { return; }
    all.hidden = false;
    function update() {
      var checked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
      if (count) { count.textContent = checked ? checked + " selected" : ""; }
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }

  // On a narrow screen (list.css) the filters fold under their summary, so the
  // first screen shows cases, unless some filter is set; a wider screen shows
  // them again (its summary is hidden, so they could not be opened there).
  function fold(details) {
    if (!details || !window.matchMedia) { return; }
    var narrow = window.matchMedia("(max-width: 800px)");
    if (narrow.matches && !details.hasAttribute("data-ck-active")) { details.open = false; }
    narrow.addEventListener("change", function (event) {
      if (!event.matches) { details.open = true; }
    });
  }

  function start() {
    document.querySelectorAll("select[multiple][data-ck-combo]").forEach(combo);
    selection(document);
    fold(document.querySelector(".ck-filter-fold"));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
