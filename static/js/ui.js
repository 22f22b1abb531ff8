/* Small behaviours declared in the templates with data- attributes, so that no page
   needs an inline script, event handler or style attribute (the Content-Security-Policy
   allows scripts and styles from our own files only; setting element.style from a
   script is allowed). Loaded on every page (base.html, public/base.html); listeners are
   delegated from the document, so content swapped in by htmx works too.

   data-autosubmit        on a <select>: submit its form when the choice changes
   data-confirm="..."     on a <form>: ask before submitting (Cancel submits nothing)
   data-disable-on-submit on a <form>: disable its buttons once submitted (no double post)
   data-select-on-focus   on an <input>: select its text when it gets the focus
   data-copy-target="id"  on a <button>: copy that input's value; shows data-copied after
   data-width="42"        on any element: its width, in percent (progress bars)

   And without an attribute: a .table-responsive box that scrolls sideways (a wide table
   on a phone) takes the keyboard focus, so that arrow keys scroll it (WCAG 2.1.1).
*/
(function () {
  "use strict";

  function applyWidths(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const elements = Array.from(scope.querySelectorAll("[data-width]"));
    if (scope.matches && scope.matches("[data-width]")) elements.push(scope);
    elements.forEach(function (element) {
      const percent = Math.max(0, Math.min(100, parseFloat(element.dataset.width) || 0));
      element.style.width = percent + "%";
    });
  }

  function focusableScrollers() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth) box.setAttribute("tabindex", "0");
      else box.removeAttribute("tabindex");
    });
  }

  function copyValue(button) {
    const input = document.getElementById(button.dataset.copyTarget);
    if (!input) return;
    input.select();
    const done = function () {
      if (button.dataset.copied) button.textContent = button.dataset.copied;
    };
    const fallback = function () {
      document.execCommand("copy");
      done();
    };
    if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, fallback);
    else fallback();
  }

  document.addEventListener("change", function (event) {
    const select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

  // In the capture phase, so a refusal also stops htmx (its listener is on the form).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset.confirm !== undefined && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    if (form.dataset.disableOnSubmit !== undefined) {
      // After this listener returns, so the clicked button's name=value is still sent.
      window.setTimeout(function () {
        form.querySelectorAll("button").forEach(function (button) {
          button.disabled = true;
        });
      });
    }
  }, true);

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input[data-select-on-focus]")) {
      event.target.select();
    }
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (button) copyValue(button);
  });

  // htmx:load fires for every piece of content htmx swaps in (and once for the body).
  document.addEventListener("htmx:load", function (event) {
    applyWidths(event.target);
    focusableScrollers();
  });
  let resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(focusableScrollers, 200);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      applyWidths(document);
      focusableScrollers();
    });
  } else {
    applyWidths(document);
    focusableScrollers();
  }
})();
