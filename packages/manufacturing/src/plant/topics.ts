import { invalid } from '../internal/guards.js';
import { checkLevel, checkPrefix } from '../scale/partition.js';

/**
 * One MQTT topic level from a name that comes from data (an asset, an alarm id): `%`, `/`, `+`, `#`, NUL and a leading
 * `$` are percent-encoded (`press/1` → `press%2F1`), so a name can never add a level, become a wildcard or reach the
 * broker's `$SYS` tree. Every other character (UTF-8) stays as it is, so ordinary names read as themselves.
 *
 * @param name - the name
 * @returns the topic level
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `name` is neither a string nor a number
 * @example
 * ```ts
 * import { topicLevel } from '@lepton/manufacturing';
 * console.log(topicLevel('press-1'), topicLevel('line/2#a')); // press-1 line%2F2%23a
 * ```
 */
export function topicLevel(name: string): string {
  // String() of an object without a callable toString throws a TypeError; a name from data is a string (or a number).
  if (typeof name !== 'string' && typeof name !== 'number') throw invalid('topicLevel', 'name', 'a string', name, 'INVALID_ARGUMENT');
  const s = String(name).replace(/[%/+#\u0000]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return s.startsWith('$') ? `%24${s.slice(1)}` : s;
}

/**
 * The MQTT topics of one line under a prefix (see the package README, "Output to the plant"). Every level that comes
 * from data goes through {@link topicLevel}.
 *
 * @internal
 */
export class PlantTopics {
  readonly base: string;
  private readonly member: string | undefined;

  constructor(fn: string, prefix: unknown, line: unknown, member?: unknown) {
    this.base = `${checkPrefix(fn, prefix)}/${checkLevel(fn, 'line', line)}`;
    this.member = member === undefined ? undefined : checkLevel(fn, 'options.member', member);
  }

  /** `<prefix>/<line>/status`, or `<prefix>/<line>/members/<member>/status` with a member: online/offline (retained; the will says offline). */
  status(): string {
    return this.member === undefined ? `${this.base}/status` : `${this.base}/members/${this.member}/status`;
  }

  /** `<prefix>/<line>/<asset>/health` (retained). */
  health(asset: string): string {
    return `${this.base}/${topicLevel(asset)}/health`;
  }

  /** `<prefix>/<line>/<asset>/alarms/active/<alarmId>` (retained while the alarm is active). */
  activeAlarm(asset: string, alarmId: string): string {
    return `${this.base}/${topicLevel(asset)}/alarms/active/${topicLevel(alarmId)}`;
  }

  /** `<prefix>/<line>/<asset>/events/<kind>` (QoS 1, not retained). */
  event(asset: string, kind: string): string {
    return `${this.base}/${topicLevel(asset)}/events/${kind}`;
  }
}
