// A monitor process for the will tests: publishes one line, prints `ready`, and waits to be killed (SIGKILL: no clean
// disconnect, as a crash or a power cut would leave it).
import { LineMonitor, LineStatus, MqttPlantPublisher, SparkplugEdgeNode } from '@lepton/manufacturing';

const [kind, url, line] = process.argv.slice(2) as [string, string, string];
const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2 });
const status = new LineStatus({ line, monitor, signals: ['pressure'] });
await status.push({ timestamp: Date.now(), asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
if (kind === 'mqtt') await MqttPlantPublisher.start({ url, status, keepaliveSeconds: 2 });
else await SparkplugEdgeNode.start({ url, status, groupId: 'test-group', bdSeq: 41, keepaliveSeconds: 2 });
process.stdout.write('ready\n');
setInterval(() => undefined, 1000);
