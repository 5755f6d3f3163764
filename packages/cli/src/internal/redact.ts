/** Query parameters whose values are secrets in the URLs people pass (`?password=…`, `?token=…`, `?api_key=…`). */
const SECRET_PARAM = /pass|pwd|token|secret|key|auth|sig/i;

/**
 * A URL safe to print: user name and password replaced by `***`, and the values of query parameters that look like
 * credentials (`password`, `token`, `key`, `secret`, `auth`, `sig`) too. Text that is not a URL with a host is never
 * echoed (it may be a credential typed in the wrong place, e.g. `user:password@host` without a scheme, which URL
 * parsing would read as scheme `user:` and path `password@host`): it becomes `<not a URL>`.
 *
 * @param url - a URL as given on the command line or in the environment
 * @returns the URL with its credentials replaced by `***`
 * @example
 * ```ts
 * import { redactUrl } from '@lepton/cli';
 * console.log(redactUrl('redis://app:s3cret@10.0.0.5:6379/0')); // redis://***:***@10.0.0.5:6379/0
 * console.log(redactUrl('http://pacs:8042/dicom-web?token=abc')); // http://pacs:8042/dicom-web?token=***
 * ```
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<not a URL>';
  }
  if (u.host === '') return '<not a URL>';
  if (u.username !== '') u.username = '***';
  if (u.password !== '') u.password = '***';
  for (const key of [...new Set(u.searchParams.keys())]) {
    if (SECRET_PARAM.test(key)) u.searchParams.set(key, '***');
  }
  return u.toString();
}
