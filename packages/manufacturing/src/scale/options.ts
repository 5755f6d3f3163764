import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LeptonError } from '@lepton/core';
import { integer, invalid } from '../internal/guards.js';
import type { LineEvent, LineMonitorOptions } from '../monitoring/line-monitor.js';
import type { SensorRecord } from '../telemetry/record.js';
import { checkLevel, checkPartitions, checkPrefix } from './partition.js';

/** What a {@link ScaledLineMonitor} tells about its group, besides the monitor's own {@link LineEvent}s. */
export type ScaleEvent =
  | {
      /** Partitions taken over (at start, or from a member that left or died), their assets restored from snapshots. */
      type: 'acquired';
      /** The partitions. */
      partitions: number[];
      /** Assets restored from their snapshots. */
      assets: string[];
      /** Snapshots refused (damaged, or from monitors with other settings); their assets start afresh. */
      rejectedSnapshots: number;
      /** From deciding to take the partitions to consuming them, ms. */
      ms: number;
      /** When it finished, epoch ms. */
      at: number;
    }
  | {
      /** Partitions handed over to a member that ranks first for them now (final snapshots published first). */
      type: 'released';
      /** The partitions. */
      partitions: number[];
      /** Their assets. */
      assets: string[];
      /** When it finished, epoch ms. */
      at: number;
    }
  | {
      /**
       * Partitions given up without a hand-over because this member lost the broker (or its lease): another member may
       * own them already, so no snapshot is published and their state is dropped. The member rejoins when it can.
       */
      type: 'lost';
      /** The partitions. */
      partitions: number[];
      /** Why. */
      reason: 'disconnected' | 'lease-expired';
      /** When, epoch ms. */
      at: number;
    }
  | {
      /** The live members changed. */
      type: 'members';
      /** Live member ids, this one included, sorted. */
      members: string[];
      /** When, epoch ms. */
      at: number;
    }
  | {
      /** Something failed and was skipped (a snapshot refused or too large, a publish that failed); monitoring goes on. */
      type: 'error';
      /** The typed error. */
      error: LeptonError;
    };

/** Options of {@link ScaledLineMonitor.start}. Every member of one group passes the same `prefix`, `partitions`, `group` and `monitor` settings. */
export interface ScaledLineMonitorOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. The broker must speak MQTT 5 (Mosquitto 2 does). */
  url: string;
  /**
   * The plant's topic prefix (one or more levels). Samples arrive on `<prefix>/data/<partition>/<asset>/<signal>`
   * ({@link telemetryTopic}); the group uses `<prefix>/members/<id>/<connection>` (presence, retained), `<prefix>/state/<partition>/<asset>`
   * (snapshots, retained), `<prefix>/events/<asset>` (alarm events), `<prefix>/config` and `<prefix>/sync/<id>`. Default `plant`.
   */
  prefix?: string;
  /**
   * How many partitions the plant's assets are split into (1 to 1024), the same for every publisher and member and for
   * the life of the plant's topics (recorded retained on `<prefix>/config`; a member with another count refuses to
   * start). Use several times more partitions than members, so that they spread evenly. Default 64.
   */
  partitions?: number;
  /** Shared-subscription group name (`$share/<group>/…`). Default `lepton-line-monitors`. */
  group?: string;
  /** This member's id (one topic level), unique among live members. Default `<hostname>-<pid>`. */
  memberId?: string;
  /** The line monitor's settings (signals, detector, baseline, alarms …), the same in every member. */
  monitor: LineMonitorOptions;
  /** How often this member republishes its presence, ms (50 to 60,000). Default 1,000. */
  heartbeatMs?: number;
  /**
   * A member not heard for this long is gone and its partitions are taken over, ms (at least 2 × `heartbeatMs`). A
   * member that cannot publish its own presence for this long gives up its partitions (it must assume another member
   * took them). Default 5,000.
   */
  leaseMs?: number;
  /**
   * MQTT keep-alive, s: the broker publishes a member's will (its departure) 1.5 × this after it stops hearing it — a
   * host that vanished. A process that dies on a live host closes its socket, and its will goes out at once.
   * Default `leaseMs` / 1000, rounded up.
   */
  keepaliveSeconds?: number;
  /** After joining, how long to listen before taking partitions, so that members starting together do not take everything and give it back, ms. Default 2 × `heartbeatMs`. */
  settleMs?: number;
  /**
   * How often every owned asset's snapshot is published (retained), ms. An asset's snapshot is also published when it
   * is first seen and right after each of its alarms is raised or cleared, so an alarm survives a hand-over; the rest of
   * its state is at most this old when another member takes it over. Default 5,000.
   */
  snapshotEveryMs?: number;
  /** Snapshots expire on the broker after this many seconds without an update (an asset no longer on the line). Default 86,400. */
  snapshotTtlSeconds?: number;
  /** Largest snapshot published or accepted, bytes. Default 1 MiB. */
  maxSnapshotBytes?: number;
  /** Samples waiting to be monitored at most; more are refused and counted (`overflow`). Default 100,000. */
  maxQueue?: number;
  /**
   * Other members tracked at most (1 to 65,536). Presence topics are network input: the presence of a new member id
   * beyond this many (or of a ninth connection of one member) is ignored and counted (`presencesIgnored`), so made-up
   * ids cannot grow memory or the cost of rebalancing without bound. Members that expire free their places.
   * Default 1,024.
   */
  maxMembers?: number;
  /** Subscription QoS of the data. Default 1. */
  qos?: 0 | 1;
  /** Which monitor events go to `<prefix>/events/<asset>` (QoS 1): alarm `raised`/`cleared` only, every event, or none. Default `alarms`. */
  publishEvents?: 'alarms' | 'all' | 'none';
  /** Called with every monitor event and every scale event, in order. */
  onEvent?: (event: LineEvent | ScaleEvent) => void;
  /** Called with every valid sample this member monitors, before the monitor sees it (archiving, tests). */
  onRecord?: (record: SensorRecord, partition: number) => void;
  /** First connection deadline, ms. Default 5,000. */
  connectTimeoutMs?: number;
  /** Wait between reconnection attempts, ms. Default 500. */
  reconnectPeriodMs?: number;
}

/** @internal {@link ScaledLineMonitorOptions} with every default filled in. */
export type ResolvedScaleOptions = Required<Omit<ScaledLineMonitorOptions, 'onEvent' | 'onRecord'>> & Pick<ScaledLineMonitorOptions, 'onEvent' | 'onRecord'>;

/**
 * @internal Fills defaults and validates.
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the bad option
 */
export function resolveScaleOptions(o: ScaledLineMonitorOptions): ResolvedScaleOptions {
  const fn = 'ScaledLineMonitor';
  if (typeof o !== 'object' || o === null) throw invalid(fn, 'options', 'an object', o, 'INVALID_ARGUMENT');
  if (typeof o.url !== 'string' || !/^(mqtts?|wss?|tcp|tls):\/\//.test(o.url)) throw invalid(fn, 'options.url', 'a broker URL such as mqtt://127.0.0.1:1883', o.url, 'INVALID_ARGUMENT');
  if (typeof o.monitor !== 'object' || o.monitor === null) throw invalid(fn, 'options.monitor', 'line monitor options', o.monitor, 'INVALID_ARGUMENT');
  const heartbeatMs = integer(fn, 'options.heartbeatMs', o.heartbeatMs ?? 1000, 50, 60_000);
  const leaseMs = integer(fn, 'options.leaseMs', o.leaseMs ?? 5 * heartbeatMs, 2 * heartbeatMs, 3_600_000);
  const member = o.memberId ?? `${hostname()}-${process.pid}`.replace(/[/+#\u0000$]/g, '_');
  for (const k of ['publishEvents'] as const) {
    if (o[k] !== undefined && !['alarms', 'all', 'none'].includes(o[k])) throw invalid(fn, `options.${k}`, "'alarms', 'all' or 'none'", o[k], 'INVALID_ARGUMENT');
  }
  if (o.qos !== undefined && o.qos !== 0 && o.qos !== 1) throw invalid(fn, 'options.qos', '0 or 1', o.qos, 'INVALID_ARGUMENT');
  for (const k of ['onEvent', 'onRecord'] as const) if (o[k] !== undefined && typeof o[k] !== 'function') throw invalid(fn, `options.${k}`, 'a function', o[k], 'INVALID_ARGUMENT');
  return {
    url: o.url,
    prefix: checkPrefix(fn, o.prefix ?? 'plant'),
    partitions: checkPartitions(fn, o.partitions ?? 64),
    group: checkLevel(fn, 'group', o.group ?? 'lepton-line-monitors'),
    memberId: checkLevel(fn, 'memberId', member),
    monitor: o.monitor,
    heartbeatMs,
    leaseMs,
    keepaliveSeconds: integer(fn, 'options.keepaliveSeconds', o.keepaliveSeconds ?? Math.ceil(leaseMs / 1000), 1, 65_535),
    settleMs: integer(fn, 'options.settleMs', o.settleMs ?? 2 * heartbeatMs, 0, 600_000),
    snapshotEveryMs: integer(fn, 'options.snapshotEveryMs', o.snapshotEveryMs ?? 5000, 50, 3_600_000),
    snapshotTtlSeconds: integer(fn, 'options.snapshotTtlSeconds', o.snapshotTtlSeconds ?? 86_400, 1, 2 ** 32 - 1),
    maxSnapshotBytes: integer(fn, 'options.maxSnapshotBytes', o.maxSnapshotBytes ?? 1 << 20, 1024, 256 << 20),
    maxQueue: integer(fn, 'options.maxQueue', o.maxQueue ?? 100_000, 1),
    maxMembers: integer(fn, 'options.maxMembers', o.maxMembers ?? 1024, 1, 65_536),
    qos: o.qos ?? 1,
    publishEvents: o.publishEvents ?? 'alarms',
    connectTimeoutMs: integer(fn, 'options.connectTimeoutMs', o.connectTimeoutMs ?? 5000, 100, 600_000),
    reconnectPeriodMs: integer(fn, 'options.reconnectPeriodMs', o.reconnectPeriodMs ?? 500, 10, 600_000),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    ...(o.onRecord ? { onRecord: o.onRecord } : {}),
  };
}

/** @internal A fresh token: alarm ids and client ids stay unique across restarts of a member with the same id. */
export function incarnation(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}
