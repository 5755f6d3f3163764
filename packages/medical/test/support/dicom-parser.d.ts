// dicom-parser's typings are an ambient `declare module` without a default export, but under Node's ESM loader its
// UMD bundle is the default export only (as src/types/dicom-parser.d.ts says for the package itself). The tests use
// dicom-parser directly to look inside written files independently of @lepton/medical's reader.
/// <reference path="../../node_modules/dicom-parser/index.d.ts" />
declare module 'dicom-parser' {
  const dicomParser: { parseDicom: typeof parseDicom };
  export default dicomParser;
}
