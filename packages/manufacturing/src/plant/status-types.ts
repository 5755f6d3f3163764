import type { Alarm } from '../alarms/alarms.js';
import type { LineEvent, LineItem } from '../monitoring/line-monitor.js';
import type { QualityIssue } from '../telemetry/quality.js';
import type { ActiveAlarm, AssetHealth } from './asset-health.js';

/** What {@link LineStatus} reads from the monitor it follows: a {@link LineMonitor} or a {@link ScaledLineMonitor}. */
export interface StatusSource {
  /** Alarms active now. */
  active(): Alarm[];
  /** Assets held now. */
  assets(): string[];
  /** {@link LineMonitor.push}, when the status feeds the monitor ({@link LineStatus.push}). */
  push?(item: LineItem): Promise<LineEvent[]>;
  /** {@link LineMonitor.flush}. */
  flush?(): Promise<LineEvent[]>;
  /** {@link LineMonitor.hasAsset}: {@link LineStatus.push} counts a sample for an asset only when the monitor holds it. */
  hasAsset?(asset: string): boolean;
  /** {@link LineMonitor.forgetAsset}, called by {@link LineStatus.retire}. */
  forgetAsset?(asset: string): boolean;
}

/** Options of {@link LineStatus}. */
export interface LineStatusOptions {
  /** The line's name: one MQTT topic level, a Prometheus label and the Sparkplug edge node's default id. */
  line: string;
  /** The monitor to follow (and feed, through {@link LineStatus.push}); give it later with {@link LineStatus.attach}. */
  monitor?: StatusSource;
  /**
   * The monitor's signals, all of them: each asset's SPC state lists them (in control until an SPC alarm says
   * otherwise), and, when given, {@link LineStatus.push} counts samples of these signals only (others are `ignored`).
   */
  signals?: readonly string[];
  /** An asset from which no sample has arrived for this long is `stale`, ms. Default 60,000. */
  staleAfterMs?: number;
  /** Assets tracked at most (a misbehaving source cannot grow memory); samples of more are counted in `untracked`. Default 10,000. */
  maxAssets?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * What changed in a {@link LineStatus}: an asset's health (state, alarms, SPC — not every sample's counters), an alarm
 * raised, acknowledged or cleared, a one-off data-quality issue, or an asset retired.
 */
export type StatusChange =
  | {
      /** The asset's health changed (or the asset is new). */
      type: 'health';
      /** Its health now. */
      health: AssetHealth;
    }
  | {
      /** An alarm event. */
      type: 'alarm';
      /** What happened. */
      event: 'raised' | 'acknowledged' | 'cleared';
      /** The alarm (with `clearedAt` once cleared, `acknowledged` once acknowledged). */
      alarm: ActiveAlarm;
      /** When, epoch ms (the monitor's time for raised/cleared, the clock for acknowledged). */
      at: number;
    }
  | {
      /** A one-off data-quality issue (gap, out-of-order, duplicate, stuck …). */
      type: 'quality';
      /** The issue. */
      issue: QualityIssue;
    }
  | {
      /** The asset left the line ({@link LineStatus.retire}): its state topics are cleared. */
      type: 'retired';
      /** The asset. */
      asset: string;
      /** When, epoch ms. */
      at: number;
    }
  | {
      /**
       * The followed monitor no longer holds the asset (a `ScaledLineMonitor` member handed it over): it is dropped here
       * but not retired — another member publishes it now, so its retained state must not be cleared.
       */
      type: 'released';
      /** The asset. */
      asset: string;
      /** When, epoch ms. */
      at: number;
    };

/** Counters of a {@link LineStatus} that belong to no asset. */
export interface LineStatusStats {
  /** Refused records whose asset is not tracked (no valid asset field, a source's rejection, or an asset the monitor refused, e.g. beyond its `maxAssets`). */
  rejectedUnattributed: number;
  /** Records {@link LineStatus.push} gave the monitor that it took but applied to no asset it holds (an unknown signal, a timestamp from the future): counted here, never creating an asset. */
  ignored: number;
  /** Samples of assets beyond `maxAssets`, not tracked. */
  untracked: number;
  /** Exceptions thrown by listeners, swallowed so that the others still run. */
  listenerErrors: number;
  /** Assets tracked now. */
  assets: number;
}
