// auth.js — the token prompt. When a call answers 401 the console shows one small form (never more
// than one at a time); the token entered is kept in sessionStorage for this tab's session and the
// current page is loaded again. "Sign out" forgets it.
import { getToken, setToken, setUnauthorizedHandler } from "./api.js";
import { el } from "./dom.js";

/** Wires the prompt and the sign-out button; onSignedIn() reloads the current page. */
export function initAuth(onSignedIn) {
  const box = document.getElementById("auth");
  const signout = document.getElementById("signout");
  let open = false;

  const refreshSignout = () => {
    signout.hidden = !getToken();
  };

  function show(message, hadToken) {
    if (open) return;
    open = true;
    if (hadToken) setToken(""); // that token was refused: forget it
    refreshSignout();
    const input = el("input", {
      id: "token-input",
      name: "token",
      type: "password",
      autocomplete: "off",
      spellcheck: "false",
      required: true,
      "aria-describedby": "token-help",
    });
    const form = el(
      "form",
      { class: "token-form", "aria-labelledby": "token-title" },
      el("h2", { id: "token-title" }, "Sign in to this hub"),
      el(
        "p",
        { id: "token-help" },
        hadToken ? `The hub refused the token: ${message}. ` : `The hub asks for a token: ${message}. `,
        "Paste an API token from hub.api_tokens; it is kept for this browser tab's session only.",
      ),
      el("label", { for: "token-input" }, "API token"),
      el("div", { class: "row" }, input, el("button", { type: "submit" }, "Sign in")),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      setToken(token);
      open = false;
      box.hidden = true;
      box.replaceChildren();
      refreshSignout();
      onSignedIn();
    });
    box.replaceChildren(form);
    box.hidden = false;
    document.getElementById("main").replaceChildren();
    input.focus();
  }

  setUnauthorizedHandler(show);
  signout.addEventListener("click", () => {
    setToken("");
    refreshSignout();
    onSignedIn(); // reload: a hub that needs a token answers 401 and the form comes back
  });
  refreshSignout();
  return { isPrompting: () => open };
}
