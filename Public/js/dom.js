// Small DOM helpers shared by the views.

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html lacks #${id}`);
  return element;
}

/**
 * The element under `root` that `selector` names: templates always hold it,
 * so a missing one is a bug in index.html, reported as such.
 * @param {ParentNode} root
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function part(root, selector) {
  const element = root.querySelector(selector);
  if (!(element instanceof HTMLElement)) throw new Error(`index.html: no ${selector} in its template`);
  return element;
}

/** Shows `element` (by id) and hides its siblings; the page has one view at a time. */
export function showView(id) {
  for (const view of document.querySelectorAll("[data-view]")) /** @type {HTMLElement} */ (view).hidden = view.id !== id;
}

/** A fresh copy of a `<template>`'s first element. */
export function cloneTemplate(id) {
  const template = /** @type {HTMLTemplateElement} */ (byId(id));
  return /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
}
