/**
 * Keeps camera credentials out of error messages and logs. Camera URLs often carry them (`rtsp://admin:pw@10.0.0.7/…`,
 * `http://cam/snapshot?user=admin&password=pw`), and ffmpeg repeats the URL in its own error lines; every message or
 * `details` field of `@lepton/surveillance` that names an input goes through {@link redactCredentials}.
 *
 * Two layers: a pattern that masks the user-info of any URL and secret-looking query parameters, and the literal
 * credentials of the inputs this process was configured with ({@link rememberCredentials}: the configuration loader,
 * the recorder and the probe register theirs), masked wherever they appear, whatever characters they hold.
 *
 * No imports: the frame-reader thread uses it (see `reader-worker.ts`: nothing there may load `@lepton/core`).
 *
 * @module
 * @internal
 */

// user:password@ or user@ right after "scheme://": everything up to the first '@', then on to the LAST '@' before the
// next '/' — spaces, '#', '?', ':', quotes and '@' included (ffmpeg takes them in a password), so such a password is
// masked whole. It may mask more than the user-info of an unusual line (an e-mail address later on it), never less.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\r\n@]*@(?:[^\r\n/@]*@)*/gi;
// ?password=… / &pw=… / &token=… (and similar names) in a query string; the value runs to the next parameter, quotes
// included (a quote in a password must not end the mask early).
const SECRET_PARAM = /([?&;](?:[a-z0-9_.-]*(?:pass|pwd|pw|psw|secret|token|auth|key|sig|credential)[a-z0-9_.-]*)=)[^&;#\s]*/gi;

/** Shortest credential masked as a literal: a shorter one ("a", "1") would mask ordinary text everywhere. */
const MIN_SECRET = 4;
/** Most literals remembered (a configuration has a few cameras; this only bounds a caller registering in a loop). */
const MAX_SECRETS = 512;
const secrets = new Set<string>();
let sorted: string[] = [];

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * Remembers the credentials of an input (the user name and password of its URL, raw and percent-decoded, and the
 * values of secret-looking query parameters), so that {@link redactCredentials} masks them wherever they appear —
 * also where the pattern cannot see them (a password with a space, a `#` or a `?`, cut out of its URL by ffmpeg).
 * Literals shorter than 4 characters are not remembered (the pattern still masks them inside a URL).
 *
 * @param input - a camera input, record stream or broker URL
 * @internal
 */
export function rememberCredentials(input: string): void {
  if (typeof input !== 'string') return;
  const found: string[] = [];
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^\r\n@]*@(?:[^\r\n/@]*@)*)/i.exec(input);
  if (m) {
    const userinfo = m[1]!.slice(0, -1);
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    const password = colon < 0 ? '' : userinfo.slice(colon + 1);
    found.push(userinfo, user, password);
  }
  for (const p of input.matchAll(new RegExp(SECRET_PARAM.source, 'gi'))) found.push(p[0].slice(p[1]!.length));
  let added = false;
  for (const raw of found) {
    for (const s of [raw, decode(raw)]) {
      if (s.length < MIN_SECRET || secrets.has(s) || secrets.size >= MAX_SECRETS) continue;
      secrets.add(s);
      added = true;
    }
  }
  // Longest first: a password that contains the user name is masked whole.
  if (added) sorted = [...secrets].sort((a, b) => b.length - a.length);
}

/**
 * Replaces the credentials of every URL in `text` with `***`: the user-info part (`rtsp://***@host/…`), the values
 * of query parameters that look secret (`password`, `pwd`, `pw`, `token`, `auth`, `key`, `signature` …), and every
 * credential remembered with {@link rememberCredentials}, wherever it appears.
 *
 * @param text - a URL, a message or an ffmpeg error line
 * @returns the text with credentials masked (unchanged when it has none)
 * @internal
 */
export function redactCredentials(text: string): string {
  let out = text;
  for (const s of sorted) if (out.includes(s)) out = out.split(s).join('***');
  return out.replace(USERINFO, '$1***@').replace(SECRET_PARAM, '$1***');
}
