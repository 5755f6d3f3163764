// The @cornerstonejs WASM codec packages ship no typings. These describe the small part of their Emscripten
// bindings that src/pixels/codecs.ts uses (see each package's README). Internal: never exported.

interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface EmscriptenDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  delete(): void;
}

interface CharlsDecoder extends EmscriptenDecoder {
  getInterleaveMode(): number;
  getNearLossless(): number;
}

interface CodecFactoryOptions {
  locateFile?: (file: string, prefix: string) => string;
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  interface CharlsModule {
    JpegLSDecoder: new () => CharlsDecoder;
    getExceptionMessage?: (ptr: number) => string;
  }
  const factory: (options?: CodecFactoryOptions) => Promise<CharlsModule>;
  export default factory;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  interface LibJpegTurboModule {
    JPEGDecoder: new () => EmscriptenDecoder;
  }
  const factory: (options?: CodecFactoryOptions) => Promise<LibJpegTurboModule>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  interface OpenJpegModule {
    J2KDecoder: new () => EmscriptenDecoder;
  }
  const factory: (options?: CodecFactoryOptions) => Promise<OpenJpegModule>;
  export default factory;
}
