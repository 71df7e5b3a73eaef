#if canImport(Glibc)
import Glibc
#endif
import CProtobuf
import LookoutCore
import Sampling
import TestSupport

/// A decoded `perftools.profiles.Profile`, read with the generated protobuf-c code.
struct DecodedProfile {
    struct Sample {
        var locationIDs: [UInt64]
        /// Function names of the locations, leaf first.
        var frames: [String]
        var values: [Int64]
        var numLabels: [String: Int64]
        var stringLabels: [String: String]
        /// Keys of labels with both `str` and `num` set.
        var malformedLabels: [String]
    }

    var strings: [String]
    var sampleTypes: [[String]]
    var periodType: [String]?
    var period: Int64
    var timeNanos: Int64
    var durationNanos: Int64
    var functions: [(id: UInt64, name: String)]
    var locations: [(id: UInt64, functionIDs: [UInt64])]
    var samples: [Sample]
    var comments: [String]

    static func decode(_ bytes: [UInt8]) -> DecodedProfile? {
        guard let p = bytes.withUnsafeBufferPointer({ perftools__profiles__profile__unpack(nil, $0.count, $0.baseAddress) }) else {
            return nil
        }
        defer { perftools__profiles__profile__free_unpacked(p, nil) }
        let m = p.pointee
        let strings = (0..<m.n_string_table).map { String(cString: m.string_table[$0]!) }
        func s(_ i: Int64) -> String { i >= 0 && Int(i) < strings.count ? strings[Int(i)] : "<bad index \(i)>" }
        let sampleTypes = (0..<m.n_sample_type).map { i -> [String] in
            let v = m.sample_type[i]!.pointee
            return [s(v.type), s(v.unit)]
        }
        let periodType = m.period_type.map { [s($0.pointee.type), s($0.pointee.unit)] }
        let functions = (0..<m.n_function).map { i -> (id: UInt64, name: String) in
            let f = m.function[i]!.pointee
            return (f.id, s(f.name))
        }
        let locations = (0..<m.n_location).map { i -> (id: UInt64, functionIDs: [UInt64]) in
            let l = m.location[i]!.pointee
            return (l.id, (0..<l.n_line).map { l.line[$0]!.pointee.function_id })
        }
        var nameOfFunction: [UInt64: String] = [:]
        for f in functions { nameOfFunction[f.id] = f.name }
        var functionsOfLocation: [UInt64: [UInt64]] = [:]
        for l in locations { functionsOfLocation[l.id] = l.functionIDs }
        let samples = (0..<m.n_sample).map { i -> Sample in
            let x = m.sample[i]!.pointee
            let ids = (0..<x.n_location_id).map { x.location_id[$0] }
            let frames = ids.flatMap { id in (functionsOfLocation[id] ?? []).map { nameOfFunction[$0] ?? "<no function \($0)>" } }
            var num: [String: Int64] = [:]
            var str: [String: String] = [:]
            var malformed: [String] = []
            for j in 0..<x.n_label {
                let l = x.label[j]!.pointee
                if l.str != 0 && l.num != 0 { malformed.append(s(l.key)) }
                if l.str != 0 { str[s(l.key)] = s(l.str) } else { num[s(l.key)] = l.num }
            }
            return Sample(
                locationIDs: ids, frames: frames, values: (0..<x.n_value).map { x.value[$0] }, numLabels: num, stringLabels: str,
                malformedLabels: malformed)
        }
        let comments = (0..<m.n_comment).map { s(m.comment[$0]) }
        return DecodedProfile(
            strings: strings, sampleTypes: sampleTypes, periodType: periodType, period: m.period, timeNanos: m.time_nanos,
            durationNanos: m.duration_nanos, functions: functions, locations: locations, samples: samples, comments: comments)
    }
}

/// One thread's sample in a synthetic tick.
func sample(
    _ kind: ThreadSample.Kind = .cpu, pid: Int32 = 100, tid: Int32, group: String = "api", thread: String, ns: UInt64 = 10_000_000,
    wchan: String? = nil, stack: [String]? = nil
) -> ThreadSample {
    ThreadSample(kind: kind, pid: pid, tid: tid, group: group, thread: thread, nanoseconds: ns, waitChannel: wchan, kernelStack: stack)
}

/// A tick as the sampler reports it at 19 Hz.
func tick(at t: MonotonicInstant, _ samples: [ThreadSample], frequency: Int = 19) -> SampleTick {
    SampleTick(
        wallTime: WallTime(secondsSinceEpoch: 1_790_000_000), monotonicTime: t, interval: .nanoseconds(1_000_000_000 / Int64(frequency)),
        frequency: frequency, samples: samples)
}

/// Decodes a gzipped profile; nil when either step fails.
func decodeGzipped(_ bytes: [UInt8]) -> DecodedProfile? {
    gunzip(bytes).flatMap(DecodedProfile.decode)
}
