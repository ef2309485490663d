// docref-nlp viewer: show a mention's details on click or keyboard focus, jump from generated
// resources to their span, copy bug reports. Served from /ui/static (CSP: no inline script).
// Every string put in the page goes through textContent or value, never innerHTML.
"use strict";

function detailsOf(root, key) {
  return root.querySelector('[data-details] [data-for="' + CSS.escape(key) + '"]');
}

function show(root, key) {
  const details = detailsOf(root, key);
  if (!details) return null;
  root.querySelectorAll("[data-details] .details").forEach((d) => { d.hidden = d !== details; });
  root.querySelectorAll("[data-note] .mk.selected").forEach((m) => m.classList.remove("selected"));
  const mark = root.querySelector('[data-note] [data-key="' + CSS.escape(key) + '"]');
  if (mark) mark.classList.add("selected");
  const hint = root.querySelector("[data-hint]");
  if (hint) hint.hidden = true;
  return mark;
}

function reveal(root, key) {
  const mark = show(root, key);
  if (!mark) return;
  mark.scrollIntoView({ block: "center" });
  const focusable = mark.closest("a.mk");
  if (focusable) focusable.focus({ preventScroll: true });
}

function copyReport(button) {
  const text = button.dataset.report || "";
  const box = button.parentElement.querySelector(".report-text");
  const status = button.parentElement.querySelector(".copied");
  if (box) { box.value = text; box.hidden = false; }
  const done = (message) => { if (status) status.textContent = message; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(
      () => done("Copied: no note text included"),
      () => done("Select the text below and copy it"),
    );
  } else {
    if (box) box.select();
    done("Select the text below and copy it");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-annotated]").forEach((root) => {
    const note = root.querySelector("[data-note]");
    if (note) {
      note.addEventListener("click", (event) => {
        const target = event.target.closest("[data-key]");
        if (!target) return;
        event.preventDefault();
        show(root, target.dataset.key);
      });
      note.addEventListener("focusin", (event) => {
        const mark = event.target.closest("a.mk");
        if (mark) show(root, mark.dataset.key);
      });
    }
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-show]");
    if (link) {
      const root = link.closest("[data-annotated]") || document;
      const key = link.dataset.show;
      const owner = document.querySelector('[data-note] [data-key="' + CSS.escape(key) + '"]');
      const scope = owner ? owner.closest("[data-annotated]") : root;
      if (scope) { event.preventDefault(); reveal(scope, key); }
      return;
    }
    const button = event.target.closest(".copy-report");
    if (button) copyReport(button);
  });
});
