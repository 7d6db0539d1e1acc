// Test support for the rendering checks on a real DOM (jsdom): mounts a component into the
// document and unmounts everything after each test of the file that imports it.
import { flushSync, mount, unmount, type Component } from "svelte";
import { afterEach } from "vitest";

/** Markup that would run script if any of it reached the page as HTML. */
export const HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';

let mounted: Record<string, unknown>[] = [];
afterEach(() => {
  for (const m of mounted) unmount(m);
  mounted = [];
  document.body.innerHTML = "";
});

/** Mounts `component` with `props` in a fresh element of the document, rendered. */
export function render<P extends Record<string, any>>(component: Component<P, any, any>, props: P): HTMLElement {
  const target = document.createElement("div");
  document.body.appendChild(target);
  mounted.push(mount(component, { target, props }));
  flushSync();
  return target;
}
