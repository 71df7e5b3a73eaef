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

        let arena = PprofAllocations()
        var profile = Perftools__Profiles__Profile()
        perftools__profiles__profile__init(&profile)

        // Sample types and the period type.
        let valueTypes = arena.make(Perftools__Profiles__ValueType.self, 3)
        for i in 0..<3 { perftools__profiles__value_type__init(valueTypes + i) }
        valueTypes[0].type = Int64(samplesName)
        valueTypes[0].unit = Int64(countUnit)
        valueTypes[1].type = Int64(valueName)
        valueTypes[1].unit = Int64(nanosecondsUnit)
        valueTypes[2].type = Int64(valueName)
        valueTypes[2].unit = Int64(nanosecondsUnit)
        let sampleTypes = arena.make(UnsafeMutablePointer<Perftools__Profiles__ValueType>?.self, 2)
        sampleTypes[0] = valueTypes
        sampleTypes[1] = valueTypes + 1
        profile.n_sample_type = 2
        profile.sample_type = sampleTypes
        profile.period_type = valueTypes + 2
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
        let labels = arena.make(Perftools__Profiles__Label.self, 3 * m)
        let labelPointers = arena.make(UnsafeMutablePointer<Perftools__Profiles__Label>?.self, 3 * m)
        for (i, key) in keys.enumerated() {
            let v = a.stacks[key]!
            perftools__profiles__sample__init(samples + i)
            samples[i].n_location_id = offsets[i + 1] - offsets[i]
            samples[i].location_id = ids + offsets[i]
            values[2 * i] = v.count
            values[2 * i + 1] = v.nanoseconds
            samples[i].n_value = 2
            samples[i].value = values + 2 * i
            for j in 0..<3 { perftools__profiles__label__init(labels + 3 * i + j) }
            labels[3 * i].key = Int64(pidKey)
            labels[3 * i].num = Int64(key.pid)
            labels[3 * i + 1].key = Int64(tidKey)
            labels[3 * i + 1].num = Int64(key.tid)
            labels[3 * i + 2].key = Int64(groupKey)
            labels[3 * i + 2].str = Int64(key.group)
            for j in 0..<3 { labelPointers[3 * i + j] = labels + 3 * i + j }
            samples[i].n_label = 3
            samples[i].label = labelPointers + 3 * i
            samplePointers[i] = samples + i
        }
        profile.n_sample = m
        profile.sample = samplePointers

        // Comments.
        let commentBuffer = arena.make(Int64.self, comments.count)
        for (i, c) in comments.enumerated() { commentBuffer[i] = c }
        profile.n_comment = comments.count
        profile.comment = commentBuffer

        // The string table: one NUL-terminated block, pointers into it.
        let all = strings.strings
        var total = 0
        for s in all { total += s.utf8.count + 1 }
        let text = arena.make(CChar.self, total)
        let table = arena.make(UnsafeMutablePointer<CChar>?.self, all.count)
        var at = 0
        for (i, s) in all.enumerated() {
            table[i] = text + at
            for b in s.utf8 {
                text[at] = CChar(bitPattern: b)
                at += 1
            }
            text[at] = 0
            at += 1
        }
        profile.n_string_table = all.count
        profile.string_table = table

        let size = perftools__profiles__profile__get_packed_size(&profile)
        let packed = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = perftools__profiles__profile__pack(&profile, buffer.baseAddress)
        }
        withExtendedLifetime(arena) {}
        return packed
    }
}

/// C memory for one encode, freed together when the arena goes.
private final class PprofAllocations {
    private var blocks: [UnsafeMutableRawPointer] = []

    func make<T>(_: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let n = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: n * MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: n)
    }

    deinit {
        for b in blocks { b.deallocate() }
    }
}
