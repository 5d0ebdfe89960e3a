// The token form shown without a session. The token goes to the hub once,
// in a POST body, and comes back as an HttpOnly cookie; the page keeps no copy.

import { createSession } from "./api.js";
import { byId, showView } from "./dom.js";

export class LoginView {
  #form = /** @type {HTMLFormElement} */ (byId("login-form"));
  #input = /** @type {HTMLInputElement} */ (byId("token-input"));
  #submit = /** @type {HTMLButtonElement} */ (this.#form.querySelector("button[type=submit]"));
  #message = byId("login-message");

  /** @param {() => void} onLoggedIn called once the session cookie is set */
  constructor(onLoggedIn) {
    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submitToken().then((ok) => ok && onLoggedIn());
    });
  }

  /** Shows the form, with an optional explanation of why it is shown. */
  show(message = "") {
    showView("login-view");
    this.#say(message);
    this.#input.focus();
  }

  async #submitToken() {
    const token = this.#input.value.trim();
    const problem = checkToken(token);
    if (problem) {
      this.#say(problem);
      return false;
    }
    this.#submit.disabled = true;
    try {
      if (await createSession(token)) {
        this.#input.value = "";
        this.#say("");
        return true;
      }
      this.#say("That token was not accepted. It may be mistyped, revoked or expired.");
    } catch {
      this.#say("Could not reach the hub. Check the connection and try again.");
    } finally {
      this.#submit.disabled = false;
    }
    this.#input.select();
    return false;
  }

  #say(message) {
    this.#message.textContent = message;
    this.#message.hidden = message === "";
  }
}

/** Catches the common mistakes before asking the hub. */
function checkToken(token) {
  if (token === "") return "Enter a read or control token.";
  if (token.startsWith("thd_")) return "That is a device token. The dashboard needs a read token (thr_…) or a control token (thc_…).";
  return "";
}
