/** Bytes as people read them: `512 B`, `3.4 KiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A status tag for text output: `[ok]`, `[fail]`, `[warn]`, `[skip]` — plain ASCII, easy to grep. */
export type Tag = 'ok' | 'fail' | 'warn' | 'skip' | 'info';

/** `[tag]` padded to one width. */
export function tag(t: Tag): string {
  return `[${t}]`.padEnd(7);
}

/** Indents every line after the first of `text` to `width` spaces (for wrapped detail lines). */
export function hang(text: string, width: number): string {
  return text.split('\n').join(`\n${' '.repeat(width)}`);
}

/**
 * Text from a file (a manifest's name, description, labels …) made safe to print on one line: control characters
 * (newlines, ESC sequences that move the cursor or hide text, C1 controls) are shown as `\u001b`-style escapes, so a
 * file cannot forge or erase lines of the CLI's output.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
