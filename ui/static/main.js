// The only script the page loads. It runs under a CSP without 'unsafe-inline', so it is a
// file, and every value from the backend goes in through textContent, never as HTML.

const invoke = window.__TAURI__?.core?.invoke;

function show(id, text) {
  document.getElementById(id).textContent = text;
}

function showError(kind, message) {
  const box = document.getElementById("error");
  box.textContent = `${message} (${kind})`;
  box.hidden = false;
}

async function load() {
  if (typeof invoke !== "function") {
    showError("internal", "This page needs the Herald app; it cannot run in a browser.");
    return;
  }
  try {
    const info = await invoke("app_info");
    show("name", info.name);
    show("version", info.version);
    show("config-path", info.config_path);
    show("database-path", info.database_path);
  } catch (err) {
    // Commands reject with { kind, message }; anything else is a bug in the bridge itself.
    const kind = typeof err?.kind === "string" ? err.kind : "internal";
    const message = typeof err?.message === "string" ? err.message : String(err);
    showError(kind, message);
  }
}

load();
