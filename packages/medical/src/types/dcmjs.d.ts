// dcmjs ships no typings. These describe the small part of its data API that src/deid/ and src/results/ use (see the
// package's README and build/dcmjs.es.js). Internal: never exported.
declare module 'dcmjs' {
  /** One element of a dcmjs data set: its VR and values (sequences: an array of item data sets). */
  interface DcmjsElement {
    vr: string;
    Value?: unknown[];
    /** The values as read; written back instead of `Value` when the two are still equal. */
    _rawValue?: unknown;
  }
  /** A data set keyed by tag, `GGGGEEEE` upper-case hex. */
  type DcmjsDataset = Record<string, DcmjsElement>;

  /** A loglevel logger. */
  interface DcmjsLogger {
    getLevel(): number;
    setLevel(level: number | 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  class DicomDict {
    constructor(meta: DcmjsDataset);
    meta: DcmjsDataset;
    dict: DcmjsDataset;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }

  const dcmjs: {
    data: {
      DicomMessage: {
        readFile(
          buffer: ArrayBuffer,
          options?: { ignoreErrors?: boolean; untilTag?: string | null; includeUntilTagValue?: boolean; noCopy?: boolean; forceStoreRaw?: boolean },
        ): DicomDict;
      };
      DicomDict: typeof DicomDict;
      DicomMetaDictionary: {
        /** Keyword-keyed ("naturalized") data set → tag-keyed data set; `_vrMap` gives VRs the dictionary leaves open. */
        denaturalizeDataset(dataset: Record<string, unknown>): DcmjsDataset;
        /** Tag-keyed data set → keyword-keyed data set. */
        naturalizeDataset(dataset: DcmjsDataset): Record<string, unknown>;
      };
    };
    log: DcmjsLogger & { getLoggers?(): Record<string, DcmjsLogger> };
  };
  export default dcmjs;
  export type { DcmjsDataset, DcmjsElement };
}
