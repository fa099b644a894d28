/* Channel form niceties that htmx cannot do: the tag-style model list and "Tick all".
   Without this script the plain textarea and checkboxes work the same way. */
(function () {
  "use strict";

  function splitNames(text) {
    return text.split(/[,\n\r]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function fetchedBoxes(form, name) {
    return Array.prototype.filter.call(
      form.querySelectorAll('input[name="fetched_models"]'),
      function (box) { return name === undefined || box.value === name; }
    );
  }

  function enhance(textarea) {
    if (textarea.dataset.tagReady) return;
    textarea.dataset.tagReady = "1";
    var form = textarea.form;
    var box = document.createElement("div");
    box.className = "ch-tags";
    var list = document.createElement("span");
    list.className = "ch-tag-list";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "ch-tag-input";
    input.spellcheck = false;
    input.placeholder = textarea.dataset.placeholder || "";
    input.id = textarea.id + "_entry";
    var label = form.querySelector('label[for="' + textarea.id + '"]');
    if (label) label.htmlFor = input.id;
    box.appendChild(list);
    box.appendChild(input);
    textarea.hidden = true;
    textarea.parentNode.insertBefore(box, textarea.nextSibling);
    var names = splitNames(textarea.value);

    function render() {
      list.replaceChildren.apply(list, names.map(function (name) {
        var chip = document.createElement("span");
        chip.className = "ch-chip ch-tag";
        chip.appendChild(document.createTextNode(name));
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "ch-tag-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", (textarea.dataset.removeLabel || "Remove") + " " + name);
        remove.addEventListener("click", function () { removeName(name); input.focus(); });
        chip.appendChild(remove);
        return chip;
      }));
    }
    function sync() {
      textarea.value = names.join("\n");
      render();
    }
    function addNames(text) {
      splitNames(text).forEach(function (name) {
        if (names.indexOf(name) < 0) names.push(name);
      });
      sync();
    }
    function removeName(name) {
      names = names.filter(function (n) { return n !== name; });
      // A ticked offer would bring the model back on save.
      fetchedBoxes(form, name).forEach(function (b) { b.checked = false; });
      sync();
    }
    function commit() {
      if (input.value.trim()) {
        addNames(input.value);
        input.value = "";
        return true;
      }
      return false;
    }

    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === ",") {
        if (commit() || event.key === ",") event.preventDefault();
      } else if (event.key === "Backspace" && !input.value && names.length) {
        removeName(names[names.length - 1]);
      }
    });
    input.addEventListener("blur", commit);
    input.addEventListener("paste", function (event) {
      var text = (event.clipboardData || window.clipboardData).getData("text");
      if (/[,\n]/.test(text)) {
        event.preventDefault();
        addNames(text);
      }
    });
    form.addEventListener("submit", commit);
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.name !== "fetched_models") return;
      if (target.checked) addNames(target.value);
      else removeName(target.value);
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-add-all-models]");
      if (!button) return;
      fetchedBoxes(form).forEach(function (b) {
        if (!b.checked) {
          b.checked = true;
          addNames(b.value);
        }
      });
    });
    render();
  }

  function setUp(root) {
    root.querySelectorAll("textarea[data-tag-input]").forEach(enhance);
    root.querySelectorAll("[data-add-all-models]").forEach(function (b) {
      b.hidden = !b.parentNode.querySelector('input[name="fetched_models"]');
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(setUp);
  } else {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  }
})();

/* "Test all" with htmx: each channel's result replaces its pending item; the summary above the
   list counts them ("12 tested: 10 passed, 2 failed. Done."). Its words come translated from
   the page (data-progress, data-finished). */
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return name in values ? String(values[name]) : match;
    });
  }

  function summarise(panel) {
    var summary = panel.querySelector("[data-test-run-summary]");
    if (!summary) return;
    var passed = panel.querySelectorAll(".ch-test-run-item.is-ok").length;
    var failed = panel.querySelectorAll(".ch-test-run-item.is-failed").length;
    var total = Number(summary.dataset.total);
    var done = passed + failed;
    var values = { done: done, total: total, passed: passed, failed: failed };
    var finished = done >= total;
    summary.textContent = fill(finished ? summary.dataset.finished : summary.dataset.progress, values);
    summary.classList.toggle("is-finished", finished);
    summary.classList.toggle("has-failures", failed > 0);
  }

  // htmx:load fires on each piece of content htmx puts in the page: the panel, then each result.
  if (window.htmx) {
    window.htmx.onLoad(function (element) {
      var panel = element.closest && element.closest(".ch-test-run");
      if (panel) summarise(panel);
    });
  }
})();
