/** Why an input could not be normalised (see normalize.ts); the de-identifier maps it to a typed error. @internal */
export class NormalizeFailure extends Error {
  constructor(
    readonly kind: 'truncated' | 'malformed' | 'too-large',
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
