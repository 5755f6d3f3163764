import type { ScorerLogEvent } from './options.js';

/**
 * @internal A cause safe to attach to a LeptonError for a Redis failure. ioredis puts the failed command on its
 * errors (`command: { name, args }`): an `AUTH` carries the password, an `XADD` the transaction JSON. The copy keeps
 * the error's name, its `code` when it has one (`ECONNREFUSED` …), and for a Redis reply error only the first word of
 * the reply (`WRONGPASS`, `WRONGTYPE`, `OOM`, `ERR`), never the rest of the message, the command or its arguments.
 *
 * @param err - what ioredis threw
 * @returns a plain Error with no command, arguments or message text from Redis
 */
export function redisCause(err: unknown): Error {
  let name = 'Error';
  let code: string | undefined;
  let word: string | undefined;
  try {
    const e = err as { name?: unknown; code?: unknown; message?: unknown };
    if (typeof e?.name === 'string' && /^[A-Za-z]{1,40}$/.test(e.name)) name = e.name;
    if (typeof e?.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(e.code)) code = e.code;
    if (name === 'ReplyError' && typeof e?.message === 'string') {
      const first = /^[A-Z][A-Z0-9_-]{0,39}(?=\s|$)/.exec(e.message);
      if (first) word = first[0];
    }
  } catch {
    // An error whose properties cannot be read: the generic cause below.
  }
  const cause = new Error(word ?? code ?? name);
  cause.name = name;
  if (code !== undefined) (cause as Error & { code: string }).code = code;
  return cause;
}

/**
 * @internal Wraps a caller's log callback so that it can never stop the scorer or the client: whatever it throws (or
 * the promise an async one rejects) is dropped.
 *
 * @param log - the caller's callback, or undefined for none
 * @returns a callback that never throws
 */
export function safeLog(log: ((event: ScorerLogEvent) => void) | undefined): (event: ScorerLogEvent) => void {
  if (log === undefined) return () => undefined;
  return (event) => {
    try {
      const r: unknown = log(event);
      if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
        (r as Promise<unknown>).then(undefined, () => undefined);
      }
    } catch {
      // A log transport that fails must not lose a transaction.
    }
  };
}
