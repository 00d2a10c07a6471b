/**
 * The DICOMweb routes the viewer's proxy forwards to the PACS, and nothing else: QIDO-RS and
 * WADO-RS reads (GET/HEAD) and STOW-RS to /studies (POST, the one write the viewer makes: the
 * SEG export). Everything Orthanc serves besides (its REST API, /tools/*, Orthanc Explorer)
 * stays out of reach, however the path is spelt.
 *
 * The raw path (as the client sent it, before any decoding) is checked, so that what is checked
 * is what is forwarded: every allowed segment is a keyword, a UID (digits and dots), a frame list
 * or a bulk-data tag, so any `%`, `\`, empty, `.` or `..` segment is refused outright rather than
 * decoded or normalised (fetch would resolve `..` and `%2e%2e`, Orthanc decodes `%2f`).
 */

/** What to do with a request to {dicomweb}{path}. */
export type RouteDecision =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly status: 400 | 404 | 405; readonly reason: string; readonly allow?: string };

const UID = /^[0-9]+(\.[0-9]+)*$/;
const FRAMES = /^[0-9]+(,[0-9]+)*$/;
const TAG = /^[0-9A-Fa-f]+$/;
const SAFE = /^[A-Za-z0-9.,/]*$/;
const RENDITION = new Set(['rendered', 'thumbnail']);

type Read = 'read' | 'read+stow';

/** The route kind of split segments, or undefined when it is not a DICOMweb route we forward. */
function routeOf(s: readonly string[]): Read | undefined {
  const uid = (i: number) => s[i] !== undefined && s[i]!.length <= 64 && UID.test(s[i]!);
  const n = s.length;
  if (n === 1) return s[0] === 'studies' ? 'read+stow' : s[0] === 'series' || s[0] === 'instances' ? 'read' : undefined;
  if (s[0] !== 'studies' || !uid(1)) return undefined;
  if (n === 2) return 'read+stow';
  if (n === 3) return s[2] === 'metadata' || s[2] === 'series' || s[2] === 'instances' || RENDITION.has(s[2]!) ? 'read' : undefined;
  if (s[2] !== 'series' || !uid(3)) return undefined;
  if (n === 4) return 'read';
  if (n === 5) return s[4] === 'metadata' || s[4] === 'instances' || RENDITION.has(s[4]!) ? 'read' : undefined;
  if (s[4] !== 'instances' || !uid(5)) return undefined;
  if (n === 6) return 'read';
  if (n === 7) return s[6] === 'metadata' || RENDITION.has(s[6]!) ? 'read' : undefined;
  if (s[6] === 'frames' && FRAMES.test(s[7] ?? '')) return n === 8 || (n === 9 && RENDITION.has(s[8]!)) ? 'read' : undefined;
  // Orthanc's BulkDataURI: …/instances/{uid}/bulk/{tag}[/{item}/{tag}…]
  if (s[6] === 'bulk' && n >= 8 && s.slice(7).every((t) => TAG.test(t))) return 'read';
  return undefined;
}

/**
 * Decides whether `method` on `rawPath` (the part after the proxy's prefix, without the query,
 * exactly as received) is forwarded.
 */
export function dicomWebRoute(method: string, rawPath: string): RouteDecision {
  if (!SAFE.test(rawPath)) return { ok: false, status: 400, reason: 'the path holds characters no DICOMweb route has (percent-encoding, backslash, …)' };
  if (!rawPath.startsWith('/')) return { ok: false, status: 404, reason: 'not a DICOMweb route this viewer forwards' };
  const segments = rawPath.slice(1).split('/');
  if (segments.some((x) => x === '' || x === '.' || x === '..')) return { ok: false, status: 400, reason: 'empty, "." or ".." path segment' };
  const route = routeOf(segments);
  if (!route) return { ok: false, status: 404, reason: 'not a DICOMweb route this viewer forwards' };
  const allowed = route === 'read+stow' ? ['GET', 'HEAD', 'POST'] : ['GET', 'HEAD'];
  if (!allowed.includes(method)) return { ok: false, status: 405, reason: `${method} is not forwarded here`, allow: allowed.join(', ') };
  return { ok: true, path: rawPath };
}
