/* The at-risk queue as a work list (templates/retention/risk/queue.html).

   One row is open at a time: a row's toggle fetches that row with its actions
   (retention:case, swapped by htmx) and closes the row that was open, here, without a
   request. Without JavaScript the toggle is a link to the queue with ?open=<id>.
   After an action takes a case out of the list (resolve, snooze), the server's notice
   names the next case (data-next-case), which opens in turn.

   Keyboard shortcuts, never while typing in a field (Esc leaves the field):
     j / ArrowDown, k / ArrowUp   next / previous case
     Enter, o                     open or close the case (Enter on a toggle: the link)
     c                            claim (opens the case first if need be)
     l, s, r                      to the outreach, snooze or resolve field of the case
     x                            tick the case for the bulk bar (admins)
     Esc                          close the case;  ?  show or hide the list of shortcuts
*/
(function () {
  "use strict";

  const list = document.querySelector("[data-queue]");
  if (!list) return;
  const help = document.getElementById("queue-shortcuts");
  const helpButton = document.getElementById("queue-help-button");
  let currentId = null; // the row the keyboard is on
  let pending = null; // {id, key}: a shortcut waiting for its row to open

  function rows() {
    return Array.from(list.querySelectorAll("li[data-case]"));
  }

  function toggleOf(row) {
    return row.querySelector("[data-case-toggle]");
  }

  function isOpen(row) {
    return row.querySelector("[data-case-actions]") !== null;
  }

  function setCurrent(row, focus) {
    rows().forEach(function (other) {
      other.classList.toggle("is-current", other === row);
    });
    currentId = row ? row.id : null;
    if (row && focus) {
      toggleOf(row).focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function currentRow() {
    const active = document.activeElement;
    const around = active && active.closest ? active.closest("li[data-case]") : null;
    if (around && list.contains(around)) return around;
    const row = currentId ? document.getElementById(currentId) : null;
    return row && row.matches("li[data-case]") ? row : null;
  }

  function close(row) {
    const panel = row.querySelector("[data-case-actions]");
    if (panel) panel.remove();
    row.classList.remove("is-open");
    const toggle = toggleOf(row);
    toggle.setAttribute("aria-expanded", "false");
    toggle.removeAttribute("aria-controls");
    toggle.setAttribute("href", toggle.dataset.openUrl);
    toggle.querySelector("[data-toggle-text]").textContent = toggle.dataset.openText;
  }

  function closeOthers(row) {
    rows().forEach(function (other) {
      if (other !== row && isOpen(other)) close(other);
    });
  }

  function open(row) {
    closeOthers(row);
    if (!isOpen(row)) {
      window.htmx.ajax("GET", row.dataset.caseUrl, { target: row, swap: "outerHTML" });
    }
  }

  function toggle(row) {
    if (isOpen(row)) {
      close(row);
      setCurrent(row, true);
    } else {
      open(row);
    }
  }

  function act(row, key) {
    if (!isOpen(row)) {
      pending = { id: row.id, key: key };
      open(row);
      return;
    }
    if (key === "claim") {
      const form = row.querySelector('[data-case-action="claim"]');
      if (form) form.requestSubmit();
      return;
    }
    const field = row.querySelector('[data-case-focus="' + key + '"]');
    if (field) field.focus();
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(currentRow());
    let next = index === -1 ? (step > 0 ? 0 : all.length - 1) : index + step;
    next = Math.max(0, Math.min(all.length - 1, next));
    setCurrent(all[next], true);
  }

  function toggleHelp() {
    if (!help || !helpButton) return;
    help.hidden = !help.hidden;
    helpButton.setAttribute("aria-expanded", help.hidden ? "false" : "true");
  }

  function isTyping(element) {
    if (!element || !element.tagName) return false;
    if (element.isContentEditable) return true;
    const tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    const plain = ["checkbox", "radio", "button", "submit", "reset"];
    return tag === "INPUT" && plain.indexOf(element.type) === -1;
  }

  const KEYS = { c: "claim", l: "outreach", s: "snooze", r: "resolve" };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (isTyping(target)) {
      const row = target.closest("li[data-case]");
      if (event.key === "Escape" && row) {
        event.preventDefault();
        setCurrent(row, true);
      }
      return;
    }
    const row = currentRow();
    const key = event.key;
    if (key === "j" || key === "ArrowDown") move(1);
    else if (key === "k" || key === "ArrowUp") move(-1);
    else if (key === "?") toggleHelp();
    else if (key === "Escape") {
      if (help && !help.hidden) toggleHelp();
      else if (row && isOpen(row)) toggle(row);
      else return;
    } else if (key === "o" || key === "Enter") {
      // Enter on a link or button is that link or button (a row's toggle included).
      if (key === "Enter" && target.closest && target.closest("a, button")) return;
      if (!row) return;
      toggle(row);
    } else if (KEYS[key]) {
      if (!row) return;
      act(row, KEYS[key]);
    } else if (key === "x") {
      const box = row ? row.querySelector("input[data-bulk-id]") : null;
      if (!box) return;
      box.checked = !box.checked;
    } else return;
    event.preventDefault();
  });

  list.addEventListener("click", function (event) {
    const link = event.target.closest("[data-case-toggle]");
    if (!link) return;
    event.preventDefault();
    const row = link.closest("li[data-case]");
    setCurrent(row, false);
    toggle(row);
  });

  list.addEventListener("focusin", function (event) {
    const row = event.target.closest("li[data-case]");
    if (row && row.id !== currentId) setCurrent(row, false);
  });

  document.addEventListener("change", function (event) {
    const all = event.target.closest("[data-select-all]");
    if (!all) return;
    list.querySelectorAll("input[data-bulk-id]").forEach(function (box) {
      box.checked = all.checked;
    });
  });

  if (helpButton) {
    helpButton.hidden = false;
    helpButton.addEventListener("click", toggleHelp);
  }

  // htmx:load fires for every piece of content htmx swaps in: an opened row, a row
  // after an action, or the notice of a case that left the list.
  document.addEventListener("htmx:load", function (event) {
    const element = event.target;
    if (!element.matches || !list.contains(element)) return;
    if (element.matches("li[data-case-removed]")) {
      const nextId = element.dataset.nextCase;
      if (!nextId) return;
      const next = document.getElementById("case-" + nextId);
      if (next && next.matches("li[data-case]")) {
        setCurrent(next, false);
        open(next);
      } else if (element.dataset.nextUrl) {
        window.location.assign(element.dataset.nextUrl); // it was on the next page
      }
      return;
    }
    if (!element.matches("li[data-case]")) return;
    if (isOpen(element)) closeOthers(element);
    setCurrent(element, true);
    if (pending && pending.id === element.id) {
      const key = pending.key;
      pending = null;
      act(element, key);
    }
  });

  const opened = list.querySelector("li[data-case].is-open");
  if (opened) setCurrent(opened, true);
})();
