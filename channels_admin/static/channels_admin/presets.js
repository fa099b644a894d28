/* The add form's provider choice: picking one fills the type and the usual address at once,
   keeping everything else typed so far. Without this script the "Fill in" button reloads the
   page with ?preset=…, which does the same on the server. The type also shows or hides the
   API version box (Azure OpenAI only). */
(function () {
  "use strict";

  function channelForm() {
    return document.querySelector("form.ch-channel-form");
  }

  function showApiVersion(form) {
    var type = form.querySelector('[name="type"]');
    var box = form.querySelector("[data-api-version-field]");
    if (!type || !box) return;
    var azure = type.value === "azure";
    var input = box.querySelector('[name="api_version"]');
    // An error on the field stays visible whatever the type, so it can be fixed.
    box.hidden = !azure && !(input && input.value) && !box.querySelector(".field-errors");
  }

  function applyPreset(select) {
    var form = channelForm();
    var option = select.options[select.selectedIndex];
    if (!form || !option || !option.value) return;
    var type = form.querySelector('[name="type"]');
    var url = form.querySelector('[name="base_url"]');
    var version = form.querySelector('[name="api_version"]');
    if (type && option.dataset.type) type.value = option.dataset.type;
    if (url) {
      if (option.dataset.baseUrl) url.value = option.dataset.baseUrl;
      else if (option.dataset.placeholder) { url.value = ""; url.placeholder = option.dataset.placeholder; }
    }
    if (version) version.value = option.dataset.apiVersion || "";
    var name = form.querySelector('[name="name"]');
    if (name && !name.value) name.value = option.textContent.trim();
    showApiVersion(form);
    if (url) url.focus();
  }

  function init() {
    var select = document.querySelector("[data-preset-select]");
    if (select) {
      var apply = document.querySelector("[data-preset-apply]");
      if (apply) apply.hidden = true;
      select.addEventListener("change", function () { applyPreset(select); });
    }
    var form = channelForm();
    if (form) {
      var type = form.querySelector('[name="type"]');
      if (type) type.addEventListener("change", function () { showApiVersion(form); });
      showApiVersion(form);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
