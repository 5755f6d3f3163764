import type { CameraReport } from '../pipeline/pipeline.js';
import type { RuleCounts } from '../rules/engine.js';
import type { ServiceHealth } from './health.js';
import { renderMetrics, type MetricFamily, type MetricSample } from './metrics.js';
import type { Recorder } from './recorder.js';

/**
 * Counters the service keeps for its metrics and report.
 * @internal
 */
export interface ServiceCounters {
  objectEvents: Map<string, { new: number; update: number; end: number }>;
  mqtt: { published: number; failed: number };
  clips: { ready: number; failed: number };
  deleted: { expired: number; overBudget: number };
  storedBytes: number;
  /** Object messages the service failed to handle (store refused, snapshot not written). */
  eventErrors: number;
  /** Retention runs or deletions that failed, and the last reason. */
  retention: { errors: number; lastError: string | null };
  /** Messages dropped for readers of `events()` that were too far behind (readers already detached). */
  streamDropped: number;
}

/**
 * What {@link serviceMetrics} reads.
 * @internal
 */
export interface ServiceMetricsInput {
  health: ServiceHealth;
  counts: Record<string, RuleCounts>;
  reports: readonly CameraReport[];
  ended: ReadonlyMap<string, CameraReport>;
  counters: ServiceCounters;
  recorders: ReadonlyMap<string, Recorder>;
}

const P = 'lepton_surveillance_';

/**
 * The service's metrics (names in the README's "Metrics" table).
 * @internal
 */
export function serviceMetrics(i: ServiceMetricsInput): string {
  const reports = new Map(i.reports.map((r) => [r.camera, r]));
  for (const [k, r] of i.ended) reports.set(k, r);
  const families: MetricFamily[] = [];
  const perCamera = (name: string, help: string, type: MetricFamily['type'], value: (c: ServiceHealth['cameras'][number]) => number): void => {
    families.push({ name: P + name, help, type, samples: i.health.cameras.map((c) => ({ labels: { camera: c.name }, value: value(c) })) });
  };
  perCamera('camera_up', '1 while the camera delivers frames (state running), else 0.', 'gauge', (c) => (c.state === 'running' ? 1 : 0));
  perCamera('camera_fps', 'Frames processed per second over the last 10 s.', 'gauge', (c) => c.fps);
  perCamera('camera_frames_total', 'Frames processed.', 'counter', (c) => c.frames);
  perCamera('camera_detected_frames_total', 'Frames the detector ran on (the rest were skipped by motion gating).', 'counter', (c) => c.detectedFrames);
  perCamera('camera_dropped_frames_total', 'Frames dropped because the pipeline was behind a live camera.', 'counter', (c) => c.droppedFrames);
  perCamera('camera_reconnects_total', 'Reconnects of the camera input.', 'counter', (c) => c.reconnects);
  perCamera('objects_active', 'Objects tracked now.', 'gauge', (c) => c.activeObjects);

  const ruleEvents: MetricSample[] = [];
  for (const [camera, r] of reports) for (const [kind, n] of Object.entries(r.events)) ruleEvents.push({ labels: { camera, kind }, value: n });
  families.push({ name: `${P}rule_events_total`, help: 'Rule events raised (zone-enter, zone-exit, loitering, intrusion, line-cross, crowd).', type: 'counter', samples: ruleEvents });

  const objectEvents: MetricSample[] = [];
  for (const [camera, c] of i.counters.objectEvents) for (const type of ['new', 'update', 'end'] as const) objectEvents.push({ labels: { camera, type }, value: c[type] });
  families.push({ name: `${P}object_events_total`, help: 'Object lifecycle messages (new, update, end).', type: 'counter', samples: objectEvents });

  const crossings: MetricSample[] = [];
  const occupancy: MetricSample[] = [];
  const entries: MetricSample[] = [];
  for (const [camera, counts] of Object.entries(i.counts)) {
    for (const [line, byLabel] of Object.entries(counts.lines)) {
      for (const [label, c] of Object.entries(byLabel)) {
        crossings.push({ labels: { camera, line, label, direction: 'a-to-b' }, value: c.aToB }, { labels: { camera, line, label, direction: 'b-to-a' }, value: c.bToA });
      }
    }
    for (const [zone, z] of Object.entries(counts.zones)) {
      occupancy.push({ labels: { camera, zone }, value: z.occupancy });
      entries.push({ labels: { camera, zone }, value: z.entries });
    }
  }
  families.push({ name: `${P}line_crossings_total`, help: 'Tripwire crossings by line, class and direction.', type: 'counter', samples: crossings });
  families.push({ name: `${P}zone_occupancy`, help: 'Tracked objects inside each zone now.', type: 'gauge', samples: occupancy });
  families.push({ name: `${P}zone_entries_total`, help: 'Entries into each zone.', type: 'counter', samples: entries });

  const rec = [...i.recorders.values()];
  families.push({ name: `${P}recording_segments_total`, help: 'Recording segments finished.', type: 'counter', samples: rec.map((r) => ({ labels: { camera: r.camera }, value: r.stats.segments })) });
  families.push({ name: `${P}recording_written_bytes_total`, help: 'Bytes of recording segments finished.', type: 'counter', samples: rec.map((r) => ({ labels: { camera: r.camera }, value: r.stats.bytes })) });
  families.push({ name: `${P}recording_restarts_total`, help: 'Restarts of a recorder after its input failed or stalled.', type: 'counter', samples: rec.map((r) => ({ labels: { camera: r.camera }, value: r.stats.restarts })) });
  // Recording on (this process records cameras, or ages out the folders of cameras it does not record).
  if (rec.length > 0 || i.health.retention !== null) {
    families.push({ name: `${P}recording_stored_bytes`, help: 'Bytes of finished segments kept (all cameras of this instance).', type: 'gauge', samples: [{ value: i.counters.storedBytes }] });
    families.push({
      name: `${P}recording_deleted_segments_total`,
      help: 'Segments deleted by retention, by reason (age or byte budget).',
      type: 'counter',
      samples: [{ labels: { reason: 'expired' }, value: i.counters.deleted.expired }, { labels: { reason: 'over-budget' }, value: i.counters.deleted.overBudget }],
    });
    families.push({ name: `${P}recording_retention_errors_total`, help: 'Retention runs that failed and segments retention could not delete.', type: 'counter', samples: [{ value: i.counters.retention.errors }] });
    families.push({ name: `${P}recording_long_segments_total`, help: "Segments longer than twice segmentSeconds (the camera's keyframe interval is longer).", type: 'counter', samples: rec.map((r) => ({ labels: { camera: r.camera }, value: r.stats.longSegments })) });
  }
  families.push({ name: `${P}clips_total`, help: 'Event clips cut from the recording, by result.', type: 'counter', samples: [{ labels: { result: 'ready' }, value: i.counters.clips.ready }, { labels: { result: 'failed' }, value: i.counters.clips.failed }] });
  families.push({ name: `${P}events_stored`, help: 'Events held by the event store.', type: 'gauge', samples: [{ value: i.health.events.stored }] });
  families.push({ name: `${P}events_failed_total`, help: 'Object messages the service failed to handle (the event store refused them, or their snapshot could not be written).', type: 'counter', samples: [{ value: i.health.events.failed }] });
  families.push({ name: `${P}events_file_delete_errors_total`, help: 'Snapshot and clip files of dropped events that could not be deleted.', type: 'counter', samples: [{ value: i.health.events.deleteErrors }] });
  families.push({ name: `${P}events_stream_dropped_total`, help: 'Object messages dropped for readers of events() that were too far behind.', type: 'counter', samples: [{ value: i.health.events.streamDropped }] });
  if (i.health.mqtt !== null) {
    families.push({ name: `${P}mqtt_messages_total`, help: 'MQTT messages, by result.', type: 'counter', samples: [{ labels: { result: 'published' }, value: i.health.mqtt.published }, { labels: { result: 'failed' }, value: i.health.mqtt.failed }] });
  }
  families.push({ name: `${P}uptime_seconds`, help: 'Seconds since the service started.', type: 'gauge', samples: [{ value: i.health.uptimeSeconds }] });
  return renderMetrics(families);
}
