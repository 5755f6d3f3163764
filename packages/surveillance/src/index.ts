/**
 * `@lepton/surveillance` — video surveillance recognition on the Lepton model core: video in through ffmpeg, motion
 * gating, pretrained detection, tracking, zones and lines, events, clips and annotated video.
 *
 * @packageDocumentation
 */

export { initRuntime, runtimeInfo, seededRandom, tf } from '@lepton/core';

export type { Point, Polygon, Box, Frame, Detection, Track, SurveillanceErrorCode } from './types.js';
