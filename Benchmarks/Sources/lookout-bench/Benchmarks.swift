/// Every benchmark, by name. Each module's benchmarks live in a file of their own.
let allBenchmarks: [Benchmark] =
    SamplingBenchmarks.all + ExpositionBenchmarks.all + RulesBenchmarks.all + ProbingBenchmarks.all
    + ProfilesBenchmarks.all
