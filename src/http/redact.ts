/** Query parameters whose values are credentials. */
const SECRET_PARAMS = new Set(['token', 'ticket']);

/**
 * A request URL safe to log: the value of every credential parameter is replaced, judged by the
 * parameter's name as the query parser reads it (`?%74oken=` is `token` too).
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const pairs = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    return SECRET_PARAMS.has(decodeLeniently(name).trim().toLowerCase()) ? `${name}=[redacted]` : pair;
  });
  return `${url.slice(0, q)}?${pairs.join('&')}`;
}

/** Percent-decodes what can be decoded and keeps the rest, so a malformed escape hides nothing. */
function decodeLeniently(s: string): string {
  return s.replace(/\+/g, ' ').replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
