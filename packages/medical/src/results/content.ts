// SR content items (PS3.3 C.17.3), naturalized for dcmjs. Each builder returns one Content Sequence item.
import { codeItem, type CodedConcept } from './codes.js';
import { ds } from './part10.js';

/** A naturalized content item. @internal */
export type ContentItem = Record<string, unknown>;

/** Relationship Type (0040,A010) values used by TID 1500. @internal */
export type Relationship = 'CONTAINS' | 'HAS CONCEPT MOD' | 'HAS OBS CONTEXT' | 'INFERRED FROM';

const base = (rel: Relationship | undefined, type: string, name: CodedConcept | undefined): ContentItem => ({
  ...(rel === undefined ? {} : { RelationshipType: rel }),
  ValueType: type,
  ...(name === undefined ? {} : { ConceptNameCodeSequence: [codeItem(name, 'concept name')] }),
});

/** @internal */
export function container(rel: Relationship | undefined, name: CodedConcept, children: ContentItem[], template?: string): ContentItem {
  return {
    ...base(rel, 'CONTAINER', name),
    ContinuityOfContent: 'SEPARATE',
    ...(template === undefined ? {} : { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: template }] }),
    ...(children.length ? { ContentSequence: children } : {}),
  };
}

/** @internal */
export function codeValue(rel: Relationship, name: CodedConcept, value: CodedConcept, option: string): ContentItem {
  return { ...base(rel, 'CODE', name), ConceptCodeSequence: [codeItem(value, option)] };
}

/** @internal */
export function text(rel: Relationship, name: CodedConcept, value: string): ContentItem {
  return { ...base(rel, 'TEXT', name), TextValue: value };
}

/** @internal */
export function uidRef(rel: Relationship, name: CodedConcept, uid: string): ContentItem {
  return { ...base(rel, 'UIDREF', name), UID: uid };
}

/**
 * NUM with its unit; the exact double goes in Floating Point Value too when the 16-character Decimal String cannot
 * hold it (PS3.3 C.18.1.1: Type 1C), so no precision is lost.
 * @internal
 */
export function num(rel: Relationship, name: CodedConcept, value: number, unit: CodedConcept, what: string, children: ContentItem[] = []): ContentItem {
  const s = ds(value, what);
  const measured: Record<string, unknown> = { NumericValue: s, MeasurementUnitsCodeSequence: [codeItem(unit, 'unit')] };
  if (Number(s) !== value) measured['FloatingPointValue'] = value;
  return { ...base(rel, 'NUM', name), MeasuredValueSequence: [measured], ...(children.length ? { ContentSequence: children } : {}) };
}

/** An IMAGE reference; `segment` adds Referenced Segment Number (for a SEG). @internal */
export function image(rel: Relationship, name: CodedConcept | undefined, sopClassUid: string, sopInstanceUid: string, segment?: number): ContentItem {
  const ref: Record<string, unknown> = { ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid };
  if (segment !== undefined) ref['ReferencedSegmentNumber'] = segment;
  return { ...base(rel, 'IMAGE', name), ReferencedSOPSequence: [ref] };
}
