import CProtobuf
import LookoutCore

/// Encodes an aggregate as a `perftools.profiles.Profile` (profile.proto) with protoc-c.
///
/// Each stack becomes locations, leaf first: the kernel stack or wait channel when the
/// sampler had one, then the thread name, then `pid N`, then the group, so a flame graph
/// shows which group, process and thread burned the time. Every distinct frame name is
/// one Function and one Location with the same non-zero ID. Samples carry `pid` and `tid`
/// (numeric) and `group` (string) labels, and two values: the sample count and the
/// nanoseconds (on-CPU time from schedstat for cpu, the tick interval for block and mutex).
enum PprofEncoder {
    static func encode(_ p: RecordedProfile, defaultFrequency: Int) -> [UInt8] {
        let a = p.aggregate
        let frequency = a.frequency > 0 ? a.frequency : max(defaultFrequency, 1)
        var strings = a.strings
        let samplesName = strings.intern("samples")
        let countUnit = strings.intern("count")
        let valueName = strings.intern(a.type.valueName)
        let nanosecondsUnit = strings.intern("nanoseconds")
        let pidKey = strings.intern("pid")
        let tidKey = strings.intern("tid")
        let groupKey = strings.intern("group")
        var comments: [Int64] = [
            Int64(
                strings.intern(
                    "lookout \(a.type.rawValue) profile: \(a.samples) samples in \(a.ticks) ticks at \(frequency) Hz"))
        ]
        if a.droppedSamples > 0 {
            comments.append(
                Int64(
                    strings.intern(
                        "\(a.droppedSamples) samples dropped: more than \(a.maxStacks) distinct stacks")))
        }

        // One Function and one Location per distinct frame name, both with ID index + 1.
        var functionOf: [Int32: UInt64] = [:]
        var functionNames: [Int32] = []
        func location(_ name: Int32) -> UInt64 {
            if let id = functionOf[name] { return id }
            functionNames.append(name)
            let id = UInt64(functionNames.count)
            functionOf[name] = id
            return id
        }

        let keys = a.stacks.keys.sorted {
            ($0.group, $0.pid, $0.tid, $0.thread, $0.kernelStack, $0.waitChannel)
                < ($1.group, $1.pid, $1.tid, $1.thread, $1.kernelStack, $1.waitChannel)
        }
        var locationIDs: [UInt64] = []
        var offsets: [Int] = [0]
        offsets.reserveCapacity(keys.count + 1)
        for key in keys {
            for f in a.leafFrames(key) { locationIDs.append(location(f)) }
            locationIDs.append(location(key.thread))
            locationIDs.append(location(strings.intern(ProfileAggregate.processFrame(key.pid))))
            locationIDs.append(location(key.group))
            offsets.append(locationIDs.count)
        }

        let arena = PprofArena()
        var profile = Perftools__Profiles__Profile()
        perftools__profiles__profile__init(&profile)

        // Sample types and the period type.
        arena.setSampleTypes(
            [(samplesName, countUnit), (valueName, nanosecondsUnit)], period: (valueName, nanosecondsUnit), of: &profile)
        profile.period = 1_000_000_000 / Int64(frequency)
        profile.time_nanos = p.startTime.nanosecondsSinceEpoch
        profile.duration_nanos = max(p.duration.nanoseconds, 0)

        // Functions and locations.
        let n = functionNames.count
        let functions = arena.make(Perftools__Profiles__Function.self, n)
        let functionPointers = arena.make(UnsafeMutablePointer<Perftools__Profiles__Function>?.self, n)
        let locations = arena.make(Perftools__Profiles__Location.self, n)
        let locationPointers = arena.make(UnsafeMutablePointer<Perftools__Profiles__Location>?.self, n)
        let lines = arena.make(Perftools__Profiles__Line.self, n)
        let linePointers = arena.make(UnsafeMutablePointer<Perftools__Profiles__Line>?.self, n)
        for i in 0..<n {
            let id = UInt64(i + 1)
            perftools__profiles__function__init(functions + i)
            functions[i].id = id
            functions[i].name = Int64(functionNames[i])
            functions[i].system_name = Int64(functionNames[i])
            functionPointers[i] = functions + i
            perftools__profiles__line__init(lines + i)
            lines[i].function_id = id
            linePointers[i] = lines + i
            perftools__profiles__location__init(locations + i)
            locations[i].id = id
            locations[i].n_line = 1
            locations[i].line = linePointers + i
            locationPointers[i] = locations + i
        }
        profile.n_function = n
        profile.function = functionPointers
        profile.n_location = n
        profile.location = locationPointers

        // Samples with their values and labels.
        let m = keys.count
        let samples = arena.make(Perftools__Profiles__Sample.self, m)
        let samplePointers = arena.make(UnsafeMutablePointer<Perftools__Profiles__Sample>?.self, m)
        let ids = arena.make(UInt64.self, locationIDs.count)
        for (i, id) in locationIDs.enumerated() { ids[i] = id }
        let values = arena.make(Int64.self, 2 * m)
        for (i, key) in keys.enumerated() {
            let v = a.stacks[key]!
            perftools__profiles__sample__init(samples + i)
            samples[i].n_location_id = offsets[i + 1] - offsets[i]
            samples[i].location_id = ids + offsets[i]
            values[2 * i] = v.count
            values[2 * i + 1] = v.nanoseconds
            samples[i].n_value = 2
            samples[i].value = values + 2 * i
            arena.setLabels(
                [.init(key: pidKey, num: Int64(key.pid)), .init(key: tidKey, num: Int64(key.tid)), .init(key: groupKey, str: key.group)],
                of: samples + i)
            samplePointers[i] = samples + i
        }
        profile.n_sample = m
        profile.sample = samplePointers

        // Comments.
        profile.n_comment = comments.count
        profile.comment = arena.copy(comments)

        arena.setStrings(strings.strings, of: &profile)
        return arena.pack(&profile)
    }
}
