// Copy buttons: <button data-copy="element-id" data-copied-label="Copied" hidden>.
// Without JavaScript the buttons stay hidden and the read-only field can be selected by hand.
(function () {
  "use strict";

  function fallbackCopy(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  async function copy(button) {
    const field = document.getElementById(button.dataset.copy);
    if (!field) return;
    const text = "value" in field ? field.value : field.textContent;
    let copied = false;
    // The Clipboard API needs a secure context (HTTPS or localhost).
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch (error) {
        copied = false;
      }
    }
    if (!copied) copied = fallbackCopy(field);
    if (!copied) return;
    const original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = button.dataset.copiedLabel || original;
    window.setTimeout(function () { button.textContent = original; }, 2000);
  }

  function init() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
