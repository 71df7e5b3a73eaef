import CProtobuf
import LookoutCore
import Stacks

/// Encodes a stack aggregate as a `perftools.profiles.Profile` the way Go's runtime writes a
/// CPU profile: sample types `samples/count` and `cpu/nanoseconds`, period type
/// `cpu/nanoseconds`, period 1e9/frequency, so `go tool pprof`, Pyroscope and Grafana
/// Alloy's `pyroscope.scrape` (as `process_cpu`) read it as one.
///
/// Mappings carry the file and build-id (`has_functions`: every location is symbolized
/// already, nothing to look up again); locations carry their address, mapping and line;
/// functions their readable name, the mangled (system) name and the source file. The
/// thread, process and group are sample labels (`thread`, `pid`, `group`).
enum StackPprofEncoder {
    static func encode(_ p: StackProfile) -> [UInt8] {
        let a = p.aggregate
        var strings = StringTable()
        let samplesName = strings.intern("samples")
        let countUnit = strings.intern("count")
        let cpuName = strings.intern("cpu")
        let nanosecondsUnit = strings.intern("nanoseconds")
        let pidKey = strings.intern("pid")
        let threadKey = strings.intern("thread")
        let groupKey = strings.intern("group")
        var comments: [Int64] = [
            Int64(strings.intern("lookout cpu profile: \(a.samples) stack samples, one per \(a.periodNanoseconds) ns of CPU"))
        ]
        if a.droppedSamples > 0 {
            comments.append(
                Int64(strings.intern("\(a.droppedSamples) samples dropped: more than \(a.maxStacks) distinct stacks")))
        }

        let arena = PprofArena()
        var profile = Perftools__Profiles__Profile()
        perftools__profiles__profile__init(&profile)
        arena.setSampleTypes(
            [(samplesName, countUnit), (cpuName, nanosecondsUnit)], period: (cpuName, nanosecondsUnit), of: &profile)
        profile.period = a.periodNanoseconds
        profile.time_nanos = p.startTime.nanosecondsSinceEpoch
        profile.duration_nanos = max(p.duration.nanoseconds, 0)

        // Mappings, functions and locations: ID index + 1.
        var mappingHasLines = [Bool](repeating: false, count: a.mappings.count)
        for l in a.locations where l.mapping >= 0 && l.line > 0 { mappingHasLines[Int(l.mapping)] = true }
        profile.n_mapping = a.mappings.count
        profile.mapping = arena.messages(a.mappings.count, perftools__profiles__mapping__init) { i, m in
            let mapping = a.mappings[i]
            m.pointee.id = UInt64(i + 1)
            m.pointee.memory_start = mapping.start
            m.pointee.memory_limit = mapping.limit
            m.pointee.file_offset = mapping.offset
            m.pointee.filename = Int64(strings.intern(mapping.file))
            m.pointee.build_id = Int64(strings.intern(mapping.buildID))
            m.pointee.has_functions = 1
            m.pointee.has_filenames = 1
            m.pointee.has_line_numbers = mappingHasLines[i] ? 1 : 0
        }
        profile.n_function = a.functions.count
        profile.function = arena.messages(a.functions.count, perftools__profiles__function__init) { i, f in
            let function = a.functions[i]
            f.pointee.id = UInt64(i + 1)
            f.pointee.name = Int64(strings.intern(function.name))
            f.pointee.system_name = Int64(strings.intern(function.systemName.isEmpty ? function.name : function.systemName))
            f.pointee.filename = Int64(strings.intern(function.file))
        }
        profile.n_location = a.locations.count
        profile.location = arena.messages(a.locations.count, perftools__profiles__location__init) { i, l in
            let location = a.locations[i]
            l.pointee.id = UInt64(i + 1)
            l.pointee.mapping_id = location.mapping >= 0 ? UInt64(location.mapping + 1) : 0
            l.pointee.address = location.address
            l.pointee.n_line = 1
            l.pointee.line = arena.messages(1, perftools__profiles__line__init) { _, line in
                line.pointee.function_id = UInt64(location.function + 1)
                line.pointee.line = Int64(location.line)
            }
        }

        // Samples: count and CPU nanoseconds, labels pid, thread, group.
        profile.n_sample = a.stacks.count
        profile.sample = arena.messages(a.stacks.count, perftools__profiles__sample__init) { i, sample in
            let s = a.stacks[i]
            sample.pointee.n_location_id = s.locations.count
            sample.pointee.location_id = arena.copy(s.locations.map { UInt64($0) + 1 })
            sample.pointee.n_value = 2
            sample.pointee.value = arena.copy([s.count, s.count &* a.periodNanoseconds])
            arena.setLabels(
                [
                    .init(key: pidKey, num: Int64(s.pid)), .init(key: threadKey, str: strings.intern(a.labels[Int(s.thread)])),
                    .init(key: groupKey, str: strings.intern(a.labels[Int(s.group)])),
                ], of: sample)
        }

        profile.n_comment = comments.count
        profile.comment = arena.copy(comments)
        arena.setStrings(strings.strings, of: &profile)
        return arena.pack(&profile)
    }
}
