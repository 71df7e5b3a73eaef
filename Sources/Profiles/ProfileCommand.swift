#if canImport(Glibc)
import Glibc
#endif
import Logging
import LookoutCore
import ProcFS
import Sampling
import Series

/// `lookout profile (--pid PID | --group NAME) [--seconds N] [--type T] [--format F] -o FILE`:
/// records a profile without the server, with a sampler of its own that watches only that
/// process (or the configured group), threads included.
///
/// The command line parses its flags and calls `run`; an error's `exitCode` is 2 for
/// usage and configuration mistakes, 1 for failures at run time; success is 0.
public enum ProfileCommand {
    public struct Summary: Sendable {
        /// Where the profile went (`-` for standard output).
        public var output: String
        public var format: ProfileFormat
        public var type: ProfileType
        public var group: String
        public var samples: Int64
        public var stacks: Int
        public var droppedSamples: Int64
        public var ticks: Int
        public var missedTicks: UInt64
        public var bytes: Int
        /// Whether the profile has real (perf_event) stacks rather than thread-level ones.
        public var realStacks: Bool

        /// One line for standard error.
        public var description: String {
            var s =
                "wrote \(format.rawValue) \(type.rawValue) profile of \(group) to \(output) "
                + "(\(realStacks ? "function stacks" : "thread-level")): \(samples) samples, "
                + "\(stacks) stacks, \(ticks) ticks, \(bytes) bytes"
            if droppedSamples > 0 { s += ", \(droppedSamples) samples dropped (too many stacks)" }
            if missedTicks > 0 { s += ", \(missedTicks) ticks missed" }
            return s
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// 2: usage or configuration; 1: failed while running.
        public let exitCode: Int32
        public let message: String
        public var description: String { message }

        static func usage(_ m: String) -> Failure { Failure(exitCode: 2, message: m) }
        static func runtime(_ m: String) -> Failure { Failure(exitCode: 1, message: m) }
    }

    /// Records and writes one profile.
    /// - Parameters:
    ///   - pid: the process to profile; exactly one of `pid` and `group`.
    ///   - group: a `processes[].name` of `groups` (the config's groups).
    ///   - seconds: 1...300; 10 by default.
    ///   - output: the file to write (atomically), or `-` for standard output.
    ///   - format: `pprof` or `folded`; by default folded when `output` ends in `.folded`, else pprof.
    ///   - type: cpu by default; block and mutex turn that sampling on in the command's own sampler.
    ///   - sampling: the config's `sampling:` (its frequency, `stacks` and `dwarf_unwinding`
    ///     count); defaults otherwise. A cpu profile has real stacks when the process's group
    ///     is stack-sampled and perf events are allowed; a refusal is logged to `stackLogger`.
    public static func run(
        pid: Int32? = nil, group: String? = nil, seconds: Int? = nil, output: String?, format: String? = nil,
        type: String? = nil, groups: [ProcessGroupSettings] = [], sampling: SamplerSettings = SamplerSettings(),
        procfs: ProcFS? = nil, clock: any AgentClock = SystemClock(), stackLogger: Logger = Logger(label: "lookout.stacks")
    ) async throws(Failure) -> Summary {
        // Usage first, before touching /proc.
        if pid != nil && group != nil { throw .usage("--pid and --group exclude each other") }
        if pid == nil && group == nil { throw .usage("give the process to profile: --pid PID or --group NAME") }
        if let pid, pid <= 0 { throw .usage("--pid must be a positive process ID, got \(pid)") }
        let seconds = seconds ?? ProfileRequest.defaultSeconds
        guard (1...ProfileRequest.maxSeconds).contains(seconds) else {
            throw .usage("--seconds must be from 1 to \(ProfileRequest.maxSeconds), got \(seconds)")
        }
        guard let output, !output.isEmpty else { throw .usage("give the output file: -o FILE (or -o - for standard output)") }
        let chosenFormat: ProfileFormat
        if let format {
            guard let f = ProfileFormat(rawValue: format) else {
                throw .usage("--format must be pprof or folded, got \(ProfileRequest.quoted(format))")
            }
            chosenFormat = f
        } else {
            chosenFormat = output.hasSuffix(".folded") ? .folded : .pprof
        }
        var profileType = ProfileType.cpu
        if let type {
            guard let t = ProfileType(rawValue: type) else {
                throw .usage("--type must be cpu, block or mutex, got \(ProfileRequest.quoted(type))")
            }
            profileType = t
        }
        var settings = sampling
        switch profileType {
        case .cpu: settings.cpu = true
        case .block: settings.block = true
        case .mutex: settings.mutex = true
        }

        let fs: ProcFS
        do {
            fs = try procfs ?? ProcFS()
        } catch {
            throw .runtime("cannot use the procfs: \(error)")
        }
        var watched: ProcessGroupSettings
        if let group {
            guard let g = groups.first(where: { $0.name == group }) else {
                let known = groups.map(\.name)
                throw .usage(
                    "no process group named \(ProfileRequest.quoted(group)) in the config"
                        + (known.isEmpty ? " (it has no processes)" : " (groups: \(known.joined(separator: ", ")))"))
            }
            watched = g
        } else {
            let pid = pid!
            let comm: String?
            do {
                comm = try fs.processComm(pid: pid)
            } catch {
                throw .runtime("cannot read process \(pid): \(error)")
            }
            guard let comm else { throw .runtime("no process with PID \(pid) (\(fs.path(pid: pid, "comm")) is missing)") }
            watched = ProcessGroupSettings(name: comm.isEmpty ? "pid \(pid)" : comm, selector: .pid(pid))
        }
        watched.threads = true

        let recorder = ProfileRecorder(clock: clock)
        // Real stacks when the group is stack-sampled and perf events are allowed.
        let stacks = StackReader(
            settings: settings, groups: [watched], recorder: recorder, logger: stackLogger, procRoot: fs.root, sysRoot: fs.sysRoot)
        let sampler = Sampler(
            settings: settings, groups: [watched], procfs: fs, clock: clock, reporters: [recorder], readers: [stacks])
        let recorded: RecordedProfile
        do {
            recorded = try await record(sampler: sampler, recorder: recorder, type: profileType, seconds: seconds, clock: clock)
        } catch {
            throw .runtime("recording failed: \(error)")
        }
        let families = sampler.metrics.collect()
        let processes =
            families.first { $0.name == SamplerMetricNames.processes }?
            .metrics.first { $0.labels == ["group": watched.name] }?.value.singleValue ?? 0
        if recorded.samples == 0 && processes == 0 {
            throw .runtime(
                pid.map { "process \($0) exited before anything was recorded" }
                    ?? "group \(ProfileRequest.quoted(watched.name)) matched no process")
        }

        let bytes: [UInt8]
        do {
            bytes = try recorded.encoded(chosenFormat, defaultFrequency: settings.frequency)
        } catch {
            throw .runtime("cannot encode the profile: \(error)")
        }
        if output == "-" {
            try writeStandardOutput(bytes)
        } else {
            do {
                try FileIO.writeAtomically(output, bytes)
            } catch {
                throw .runtime("cannot write the profile: \(error)")
            }
        }
        let a = recorded.aggregate
        return Summary(
            output: output, format: chosenFormat, type: profileType, group: watched.name, samples: recorded.samples,
            stacks: recorded.stacks?.aggregate.stacks.count ?? a.stackCount,
            droppedSamples: recorded.droppedSamples, ticks: a.ticks,
            missedTicks: sampler.metrics.missedTicks, bytes: bytes.count, realStacks: recorded.stacks != nil)
    }

    /// Runs the sampler until the recording is done. The recording starts after the
    /// sampler's first tick, which only takes the baseline of every thread's CPU time.
    static func record(
        sampler: Sampler, recorder: ProfileRecorder, type: ProfileType, seconds: Int, clock: any AgentClock
    ) async throws -> RecordedProfile {
        try await withThrowingTaskGroup(of: RecordedProfile?.self) { tasks in
            tasks.addTask {
                try await sampler.run()
                return nil
            }
            tasks.addTask {
                let deadline = clock.now + .seconds(5)
                while !sampler.isReady {
                    guard clock.now < deadline else { throw ProfileError(.noTicks, "the sampler did not start within 5s") }
                    try await clock.sleep(for: .milliseconds(5))
                }
                return try await recorder.record(type, for: .seconds(seconds))
            }
            defer { tasks.cancelAll() }
            while let result = try await tasks.next() {
                if let profile = result { return profile }
            }
            throw ProfileError(.noTicks, "the sampler stopped before the recording ended")
        }
    }

    private static func writeStandardOutput(_ bytes: [UInt8]) throws(Failure) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .runtime("cannot write the profile to standard output: \(String(cString: strerror(errno)))")
            }
            written += n
        }
    }
}
