// lookout-stacks: the stack sampling engine alone, running like the agent: each tick copies
// the raw samples out of the ring buffers, and a second thread unwinds and symbolizes them
// once a second (sooner when the raw buffer is half full); for Benchmarks/stacks.
//
//     lookout-stacks --pid PID [--pid PID...] [--seconds 60] [--frequency 19]
//                    [--scope cpus|tasks] [--dwarf auto|always|never] [--no-kernel] [--no-lines]
//                    [--off] [--folded FILE]
//
// Prints one JSON object: samples, lost, the top functions (own samples), its own CPU
// seconds (user + system, symbolization included) and peak RSS. --off samples nothing
// (the RSS and CPU floor of the process itself).
#if canImport(Glibc)
import Glibc
#endif
import Stacks

var pids: [Int32] = []
var seconds = 60.0
var frequency = 19
var scope = StackSamplingScope.cpus
var dwarf = DwarfUnwinding.auto
var off = false
var foldedPath: String?
var kernelStacks = true
var lineNumbers = true
var args = CommandLine.arguments.dropFirst()
func value() -> String {
    guard let v = args.popFirst() else {
        fputs("missing value\n", stderr)
        exit(2)
    }
    return v
}
while let a = args.popFirst() {
    switch a {
    case "--pid": pids.append(Int32(value())!)
    case "--seconds": seconds = Double(value())!
    case "--frequency": frequency = Int(value())!
    case "--scope": scope = StackSamplingScope(rawValue: value())!
    case "--dwarf": dwarf = DwarfUnwinding(rawValue: value())!
    case "--off": off = true
    case "--folded": foldedPath = value()
    case "--no-kernel": kernelStacks = false
    case "--no-lines": lineNumbers = false
    default:
        fputs("unknown argument \(a)\n", stderr)
        exit(2)
    }
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where c.value < 0x20: out += " "
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}

let settings = StackSamplingSettings(
    frequency: frequency, dwarfUnwinding: dwarf, scope: scope, kernelStacks: kernelStacks, lineNumbers: lineNumbers)
var sampler: StackSampler?
if !off {
    switch StackSampler.start(settings) {
    case .success(let s): sampler = s
    case .failure(let e):
        fputs("\(e.message)\n", stderr)
        exit(1)
    }
    sampler!.setTargets(Dictionary(uniqueKeysWithValues: pids.map { ($0, "bench") }))
}
var aggregate = StackAggregate(periodNanoseconds: settings.periodNanoseconds)
let interval = 1.0 / Double(frequency)
let start = now()
var next = start + interval
var ticks = 0
var longestCollect = 0.0
var longestProcess = 0.0

/// The worker: waits up to a second for a wake-up, processes, until told to finish.
final class Worker {
    var mutex = pthread_mutex_t()
    var condition = pthread_cond_t()
    var woken = false
    var finished = false
    var thread = pthread_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    func signal(finish: Bool) {
        pthread_mutex_lock(&mutex)
        woken = true
        if finish { finished = true }
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Waits for a wake-up or a second; false once finished.
    func wait() -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if !woken {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            deadline.tv_sec += 1
            _ = pthread_cond_timedwait(&condition, &mutex, &deadline)
        }
        woken = false
        return !finished
    }
}
let worker = Worker()
if let sampler {
    let context = Unmanaged.passRetained(sampler).toOpaque()
    pthread_create(&worker.thread, nil, { raw in
        let sampler = Unmanaged<StackSampler>.fromOpaque(raw!).takeRetainedValue()
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
        var running = true
        while running {
            running = worker.wait()
            let before = now()
            sampler.processor.process { batch, _ in aggregate.add(batch) }
            longestProcess = max(longestProcess, now() - before)
        }
        return nil
    }, context)
}
while now() - start < seconds {
    var t = timespec(tv_sec: Int(next), tv_nsec: Int((next - Double(Int(next))) * 1e9))
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nil)
    next += interval
    ticks += 1
    if let sampler {
        let before = now()
        let filling = sampler.collect(tag: UInt64(ticks))
        longestCollect = max(longestCollect, now() - before)
        if filling { worker.signal(finish: false) }
    }
}
if sampler != nil {
    worker.signal(finish: true)
    pthread_join(worker.thread, nil)
}

var usage = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
let cpu =
    Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
    + Double(usage.ru_stime.tv_usec) / 1e6

// Own samples per function name.
var flat: [String: Int64] = [:]
for s in aggregate.stacks {
    guard let leaf = s.locations.first else { continue }
    flat[aggregate.functions[Int(aggregate.locations[Int(leaf)].function)].name, default: 0] += s.count
}
let top = flat.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(10)
if let foldedPath {
    var text = ""
    for s in aggregate.stacks {
        text += aggregate.functionNames(s).reversed().joined(separator: ";") + " \(s.count)\n"
    }
    let fd = open(foldedPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}
let counters = sampler?.counters ?? StackSamplingCounters()
var json = "{"
json += "\"samples\":\(aggregate.samples),\"lost\":\(counters.lostSamples),\"other_samples\":\(counters.otherSamples),"
json += "\"dwarf_unwinds\":\(counters.dwarfUnwinds),\"truncated\":\(counters.unwindFailures[.truncated] ?? 0),"
json += "\"ticks\":\(ticks),\"seconds\":\(now() - start),\"cpu_seconds\":\(cpu),\"max_rss_kb\":\(usage.ru_maxrss),"
json += "\"longest_collect_seconds\":\(longestCollect),\"longest_process_seconds\":\(longestProcess),\"symbol_cache_bytes\":\(sampler?.symbolCacheBytes ?? 0),"
json += "\"ring_buffer_bytes\":\(sampler?.ringBufferBytes ?? 0),"
json += "\"top\":[" + top.map { "[\(jsonString($0.key)),\($0.value)]" }.joined(separator: ",") + "]}"
print(json)
