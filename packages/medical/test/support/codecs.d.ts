// htj2k.test.ts imports src/pixels/codecs.ts, whose codec packages' typings live in src/types/codecs.d.ts (ambient,
// included by the package's own build, not by the test typecheck); and OpenJPH's WebAssembly build, used only by tests
// and fixture scripts to encode HTJ2K, ships none. The test describes the encoder it calls itself.
/// <reference path="../../src/types/codecs.d.ts" />
declare module '@cornerstonejs/codec-openjph' {
  const factory: (options: { print?: (text: string) => void; printErr?: (text: string) => void }) => Promise<unknown>;
  export default factory;
}
