// dicom-parser ships its typings as an ambient `declare module` in index.d.ts without a "types" entry, which
// NodeNext resolution does not pick up; this re-exposes them. Nothing here is part of @lepton/medical's public API.
/// <reference path="../../node_modules/dicom-parser/index.d.ts" />

// At run time dicom-parser is a UMD/CommonJS bundle: Node's ESM loader exposes it as the default export only.
// src/dicom/parse.ts drives the parser's data-set functions itself (its Part 10 header reader misreads files whose data
// set starts with a group below 0002), so those are declared here too. `DataSet` is a class at run time.
declare module 'dicom-parser' {
  const dicomParser: {
    parseDicom: typeof parseDicom;
    readEncapsulatedImageFrame: typeof readEncapsulatedImageFrame;
    parseDicomDataSetExplicit: typeof parseDicomDataSetExplicit;
    parseDicomDataSetImplicit: typeof parseDicomDataSetImplicit;
    littleEndianByteArrayParser: ByteArrayParser;
    bigEndianByteArrayParser: ByteArrayParser;
    ByteStream: typeof ByteStream;
    DataSet: new (parser: ByteArrayParser, byteArray: ByteArray, elements: Record<string, Element>) => DataSet;
  };
  export default dicomParser;
}
