// One scorer process of the fault tests: runs FraudScorerService with a stand-in model until SIGTERM, then prints
// its counters as `STATS {json}`. Started by stream-scorer.ts's spawnWorker (node --import tsx).
import { FeatureEngine, FraudScorerService } from '@lepton/finance';
import { standInScorer, type WorkerConfig } from './stream-scorer.js';

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const names = new FeatureEngine().names;
const service = await FraudScorerService.start({
  connection: config.url,
  stream: config.stream,
  partitions: config.partitions,
  consumer: config.consumer,
  model: standInScorer(names, config.delayMs ?? 0),
  minIdleMs: config.minIdleMs,
  batchSize: config.batchSize,
  blockMs: 200,
  includeFeatures: config.includeFeatures === true,
  // Log lines carry entry ids, partitions and codes only; the test checks stderr for card ids.
  log: (e) => process.stderr.write(`${JSON.stringify(e)}\n`),
});
process.stdout.write('READY\n');
process.once('SIGTERM', () => {
  void service.close().then(() => {
    process.stdout.write(`STATS ${JSON.stringify(service.stats())}\n`);
    process.exit(0);
  });
});
