// The dismissible line under the header, for things the user should know
// once (updates were missed, logging out failed). Shown on every page.

import { byId } from "./dom.js";

export function createNotice() {
  const element = byId("notice");
  const text = byId("notice-text");
  byId("notice-dismiss").addEventListener("click", () => {
    element.hidden = true;
  });
  return {
    show(message) {
      text.textContent = message;
      element.hidden = false;
    },
    hide() {
      element.hidden = true;
    },
  };
}
