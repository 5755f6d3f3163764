/**
 * Keeps camera credentials out of error messages and logs. Camera URLs often carry them (`rtsp://admin:pw@10.0.0.7/…`,
 * `http://cam/snapshot?user=admin&password=pw`), and ffmpeg repeats the URL in its own error lines; every message or
 * `details` field of `@lepton/surveillance` that names an input goes through {@link redactCredentials}.
 *
 * No imports: the frame-reader thread uses it (see `reader-worker.ts`: nothing there may load `@lepton/core`).
 *
 * @module
 * @internal
 */

// user:password@ or user@ right after "scheme://": everything up to the LAST '@' before the path, query or whitespace,
// so a password holding '@', ':' or quotes (ffmpeg takes them) is masked whole, not cut at its first '@'.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi;
// ?password=… / &pw=… / &token=… (and similar names) in a query string; the value runs to the next parameter, quotes
// included (a quote in a password must not end the mask early).
const SECRET_PARAM = /([?&;](?:[a-z0-9_.-]*(?:pass|pwd|pw|psw|secret|token|auth|key|sig|credential)[a-z0-9_.-]*)=)[^&;#\s]*/gi;

/**
 * Replaces the credentials of every URL in `text` with `***`: the user-info part (`rtsp://***@host/…`) and the values
 * of query parameters that look secret (`password`, `pwd`, `pw`, `token`, `auth`, `key`, `signature` …).
 *
 * @param text - a URL, a message or an ffmpeg error line
 * @returns the text with credentials masked (unchanged when it has none)
 * @internal
 */
export function redactCredentials(text: string): string {
  return text.replace(USERINFO, '$1***@').replace(SECRET_PARAM, '$1***');
}
