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
