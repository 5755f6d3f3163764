// One monitor process of the scale-out tests and benchmark: a ScaledLineMonitor started from the JSON options in argv[2]
// (memberId, broker, plant topics, line monitor settings), reporting to its parent over IPC every 100 ms: the
// partitions and assets it holds, the samples it monitored since the last report (asset|signal|timestamp), and every
// event. On the message 'close' it reports its active alarms, hands its partitions over and exits.
// SCALE_DETECTOR=<bundle dir> adds a saved AnomalyDetector (wasm backend) to the monitor; SCALE_KEYS=0 reports counts only.
import { AnomalyDetector, initRuntime, ScaledLineMonitor, type LineEvent, type ScaledLineMonitorOptions, type ScaleEvent } from '@lepton/manufacturing';

const options = JSON.parse(process.argv[2]!) as ScaledLineMonitorOptions;
const detectorDir = process.env['SCALE_DETECTOR'];
if (detectorDir) {
  await initRuntime({ backend: 'wasm' }, {});
  options.monitor = { ...options.monitor, detector: await AnomalyDetector.load(detectorDir) };
}
const cpu0 = process.cpuUsage();
const send = (m: unknown): void => void process.send?.(m);
const wire = (e: LineEvent | ScaleEvent): unknown => (e.type === 'error' ? { type: 'error', code: e.error.code, message: e.error.message } : e);

let keys: string[] = [];
let samples = 0;
const monitor = await ScaledLineMonitor.start({
  ...options,
  onEvent: (e) => send({ type: 'event', at: Date.now(), event: wire(e) }),
  onRecord: (r) => {
    samples++;
    if (process.env['SCALE_KEYS'] !== '0') keys.push(`${r.asset}|${r.signal}|${r.timestamp}`);
  },
});
const report = (): void => {
  const cpu = process.cpuUsage(cpu0);
  send({ type: 'report', at: Date.now(), member: monitor.memberId, partitions: monitor.partitions(), assets: monitor.assets(), members: monitor.members(), samples, cpuSeconds: (cpu.user + cpu.system) / 1e6, keys });
  keys = [];
};
const timer = setInterval(report, 100);
process.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  const active = monitor.active();
  report();
  void monitor.close().then(() => {
    const cpu = process.cpuUsage(cpu0);
    send({ type: 'closed', active, stats: monitor.stats(), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    process.disconnect?.();
  });
});
send({ type: 'ready', member: monitor.memberId, pid: process.pid });
