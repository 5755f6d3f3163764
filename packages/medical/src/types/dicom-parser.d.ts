// dicom-parser ships its typings as an ambient `declare module` in index.d.ts without a "types" entry, which
// NodeNext resolution does not pick up; this re-exposes them. Nothing here is part of @lepton/medical's public API.
/// <reference path="../../node_modules/dicom-parser/index.d.ts" />

// At run time dicom-parser is a UMD/CommonJS bundle: Node's ESM loader exposes it as the default export only.
declare module 'dicom-parser' {
  const dicomParser: {
    parseDicom: typeof parseDicom;
    readEncapsulatedImageFrame: typeof readEncapsulatedImageFrame;
  };
  export default dicomParser;
}
