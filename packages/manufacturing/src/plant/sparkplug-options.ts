/**
 * Options, counters and device metrics of the Sparkplug B edge node ({@link SparkplugEdgeNode}).
 * @module
 */
import type { LeptonError } from '@lepton/core';
import { severityRank, type AssetHealth } from './asset-health.js';
import type { LineStatus } from './line-status.js';
import type { PlantMqttOptions } from './mqtt-link.js';
import type { SparkplugMetric } from './sparkplug-codec.js';
import type { SparkplugTemplateDefinition, SparkplugTemplateInstance } from './sparkplug-templates.js';
import type { SparkplugEdgeNode } from './sparkplug-node.js';

/** Options of {@link SparkplugEdgeNode.start}. */
export interface SparkplugEdgeNodeOptions extends PlantMqttOptions {
  /** The line status to publish: the line is the edge node, each asset a device. */
  status: LineStatus;
  /** Sparkplug group id (one topic level). */
  groupId: string;
  /** Edge node id (one topic level, unique in the group). Default: the line's name. */
  edgeNodeId?: string;
  /**
   * bdSeq of the first session (0–255); each new MQTT session uses the next one (255 → 0). Keep the last one across
   * restarts ({@link SparkplugEdgeNode.bdSeq}) so that hosts correlate every NDEATH with its NBIRTH. Default 0.
   */
  bdSeq?: number;
  /** Counters (samples, freshness) are sent in DDATA/NDATA at this period when they changed, ms; state changes go at once. Default 10,000. */
  dataIntervalMs?: number;
  /**
   * Metric aliases (Sparkplug 3.0): every data metric of the node and its devices gets an alias, unique across the
   * edge node, declared with its name in NBIRTH/DBIRTH; NDATA and DDATA then carry the alias alone, which keeps data
   * messages small. `bdSeq`, `Node Control/Rebirth` and `Properties/Line` keep their names only (NDEATH and a host's
   * rebirth command name them). Aliases are numbered afresh at each NBIRTH. Default false.
   */
  aliases?: boolean;
  /**
   * The primary host application's id (Sparkplug 3.0 `STATE`): the node subscribes to `spBv1.0/STATE/<id>` and
   * publishes its births only once that host says `{"online": true, "timestamp": …}`. When the host goes offline (a
   * STATE with `online: false` and a timestamp not older than the last), the node drops its connection (the broker
   * publishes the NDEATH will), reconnects with the next bdSeq and waits for the host again; nothing is published
   * meanwhile. Default: none (births at once).
   */
  primaryHostId?: string;
  /**
   * Store-and-forward: up to this many device state changes (0–100,000) made while nothing can be published (broker
   * down, or the primary host offline) are kept, oldest dropped first, and sent after the next births as DDATA with
   * `is_historical` metrics carrying their own timestamps. Counters are not kept (the births carry their totals).
   * Default 0 (off: the births on reconnection carry the current state only).
   */
  historicalChanges?: number;
  /**
   * Template (UDT) definitions by name, published in every NBIRTH as metrics `_types_/<name>` of type `Template` with
   * `is_definition: true` and no `template_ref` (Sparkplug 3.0: definitions go in NBIRTH only). Members may nest other
   * definitions (no cycles, at most 8 deep). Checked at start: `INVALID_ARGUMENT`. Default: none.
   */
  templates?: Record<string, SparkplugTemplateDefinition>;
  /**
   * Template instances per device (asset name): each is a metric of type `Template` in that asset's DBIRTH with
   * `template_ref` naming its definition, `is_definition: false`, its parameters and every member's value. Change
   * members with {@link SparkplugEdgeNode.setTemplateValues}: DDATA then carries the instance with the changed members
   * only. With `aliases`, the instance metric gets an alias; its members are named inside it and carry none. An
   * asset's instances are born with the asset (when the line status first has it). Default: none.
   */
  templateInstances?: Record<string, SparkplugTemplateInstance[]>;
  /**
   * Let SCADA hosts acknowledge alarms: each DBIRTH declares a writable `Alarms/Acknowledge` (String) metric, and a
   * `DCMD` to that device writing the id of one of its active alarms there acknowledges it (`LineStatus.acknowledge`,
   * by `Sparkplug DCMD`); Unacknowledged counts then go out as DDATA. A write naming no active alarm of that device, or
   * mixed with other metrics, acknowledges nothing and is counted in `badCommands`. Off by default: anyone who can
   * publish to the group's DCMD topics could acknowledge, so enable it only where the broker's ACLs limit that to the
   * host. Default false.
   */
  alarmAcknowledgement?: boolean;
  /**
   * Called with each typed failure; the node goes on: a command that is not Sparkplug B (`MFG_SPARKPLUG_DECODE`,
   * `MFG_SPARKPLUG_COMMAND`), a lost connection (`MFG_MQTT_DISCONNECTED`), reconnections that keep failing
   * (`MFG_MQTT_CONNECT`, at most one report per 30 s), a periodic data message that failed (the error thrown, typed;
   * counted in `periodicErrors`).
   */
  onError?: (error: LeptonError) => void;
}

/** Counters of a {@link SparkplugEdgeNode}. */
export interface SparkplugEdgeNodeStats {
  /** Connected now. */
  connected: boolean;
  /** NBIRTHs sent (one per session, plus rebirths). */
  births: number;
  /** Rebirths requested by a host (`Node Control/Rebirth`). */
  rebirths: number;
  /** DBIRTH, DDATA, DDEATH and NDATA messages sent. */
  messages: number;
  /** Changes not sent because the broker was down (the next birth carries the state). */
  skipped: number;
  /** Commands (NCMD/DCMD) that were not valid Sparkplug B, or wrote metrics this node does not accept; STATE messages that were not valid. */
  badCommands: number;
  /** With `alarmAcknowledgement`: alarms acknowledged by a host's DCMD. */
  acknowledgements: number;
  /** Periodic data messages (every `dataIntervalMs`) that failed (each reported to `onError`; the timer goes on). */
  periodicErrors: number;
  /** With `primaryHostId`: whether the primary host is online (births and data are published only then). */
  hostOnline: boolean;
  /** With `primaryHostId`: times the node dropped its session because the primary host went offline. */
  hostOfflineDrops: number;
  /** Store-and-forward: changes kept now, sent later as historical DDATA, and dropped because the store was full. */
  historical: {
    /** Changes kept now, waiting for the next births. */
    queued: number;
    /** Historical DDATA messages sent. */
    sent: number;
    /** Changes dropped, oldest first, because the store was full. */
    dropped: number;
  };
}

/** @internal A metric with its name (what the node builds; aliases are added when it sends). */
export type NamedMetric = SparkplugMetric & { name: string };

/** @internal An asset's DBIRTH/DDATA metrics. */
export function deviceMetrics(h: AssetHealth, now: number): NamedMetric[] {
  const m = (name: string, type: SparkplugMetric['type'], value: SparkplugMetric['value']): NamedMetric => ({ name, timestamp: now, type, value });
  return [
    m('Health/State', 'String', h.state),
    m('Alarms/Active', 'Int32', h.activeAlarms),
    m('Alarms/Unacknowledged', 'Int32', h.unacknowledged),
    m('Alarms/Max Severity', 'UInt8', severityRank(h.severity)),
    ...Object.entries(h.bySource).map(([source, n]) => m(`Alarms/By Source/${source}`, 'Int32', n)),
    ...Object.entries(h.spc).map(([signal, s]) => m(`SPC/${signal}/Out Of Control`, 'Boolean', s === 'out-of-control')),
    m('Samples/Accepted', 'UInt64', h.samples.accepted),
    m('Samples/Rejected', 'UInt64', h.samples.rejected),
    m('Samples/Last At', 'DateTime', h.lastSampleAt === null ? null : Math.max(0, Math.round(h.lastSampleAt))),
  ];
}

/** @internal Store-and-forward: device changes kept while nothing can be published, oldest dropped first when full. */
export class HistoricalStore {
  private readonly items: Array<{ asset: string; metrics: NamedMetric[] }> = [];
  /** Historical DDATA messages sent, and changes dropped because the store was full. */
  readonly counts = { sent: 0, dropped: 0 };

  constructor(readonly max: number) {}

  /** Changes kept now. */
  get queued(): number {
    return this.items.length;
  }

  /** Keeps a device's changed metrics for later (nothing when off or empty), dropping the oldest when full. */
  keep(asset: string, metrics: NamedMetric[]): void {
    if (this.max === 0 || metrics.length === 0) return;
    if (this.items.length >= this.max) {
      this.items.shift();
      this.counts.dropped++;
    }
    this.items.push({ asset, metrics });
  }

  /** Takes every kept change, oldest first, emptying the store. */
  take(): Array<{ asset: string; metrics: NamedMetric[] }> {
    return this.items.splice(0);
  }
}

/** @internal A primary host's STATE payload (`{"online": boolean, "timestamp": finite number}`, JSON, ≤ 1 KiB), or undefined. */
export function parseHostState(payload: Buffer): { online: boolean; timestamp: number } | undefined {
  let state: { online?: unknown; timestamp?: unknown } | undefined;
  try {
    state = payload.length <= 1024 ? (JSON.parse(payload.toString('utf8')) as typeof state) : undefined;
  } catch {
    return undefined;
  }
  if (typeof state !== 'object' || state === null || typeof state.online !== 'boolean' || typeof state.timestamp !== 'number' || !Number.isFinite(state.timestamp)) return undefined;
  return { online: state.online, timestamp: state.timestamp };
}
