// Small DOM helpers shared by the pages: no framework, no innerHTML with
// data (every text goes through textContent).

export type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

/** h builds an element: h("li", {class: "x", onclick: fn}, "text", child). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v as EventListener);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

/** append adds children, skipping empty ones. */
export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** $ finds an element by id, or throws: the pages' markup is fixed. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no #${id}`);
  return el as T;
}

/** replace empties el and adds children. */
export function replace(el: Node, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, ...children);
}

/** field reads a named form control's trimmed value. */
export function field(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement | null;
  return el ? el.value.trim() : "";
}

/** utc renders a time as 2026-11-26 12:00:05.123Z. */
export function utc(t: string | number | undefined): string {
  if (t === undefined || t === "") return "";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace("T", " ");
}

/** clock renders a time as the local HH:MM. */
export function hhmm(t: string | number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** span renders a duration for people: "23 h 59 min", "4 min 05 s", "12 s". */
export function span(ms: number): string {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const hrs = Math.floor(m / 60);
  return `${hrs} h ${String(m % 60).padStart(2, "0")} min`;
}

/** URL_IN_TEXT finds http(s) URLs in message text. */
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/gi;

/**
 * linkify turns the http and https URLs in text into links and leaves
 * everything else as text: no markup from a message ever reaches the DOM
 * (no innerHTML), a link's href is only ever an http(s) URL the browser
 * parsed (never javascript: or data:), and links open in a new tab without
 * access to this page (rel noopener noreferrer) or a ranking signal
 * (nofollow). Trailing punctuation stays text ("see https://x.org." links
 * https://x.org).
 */
export function linkify(text: string): Child[] {
  const out: Child[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_IN_TEXT)) {
    let raw = m[0];
    const trail = /[.,;:!?)\]]+$/.exec(raw);
    if (trail) raw = raw.slice(0, -trail[0].length);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    out.push(h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow" }, raw));
    last = at + raw.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/**
 * dayLabel names the local day of t for a date separator: "Today",
 * "Yesterday", else the date ("Mon, Dec 1", with the year when it is not
 * now's). now is passed in so that the label is testable on any date.
 */
export function dayLabel(t: string | number | Date, now: Date): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return "";
  const day = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((day(now) - day(d)) / 86_400_000);
  if (diff === 0) return "Today";
  if (diff === 1) return "Yesterday";
  return d.toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric", ...(d.getFullYear() !== now.getFullYear() ? { year: "numeric" } : {}) });
}
