import CProtobuf

/// C memory for one encode of a protoc-c `Profile`, freed together when the arena goes.
final class PprofArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    func make<T>(_: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let n = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: n * MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: n)
    }

    /// Copies `values` into arena memory.
    func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let p = make(T.self, values.count)
        for (i, v) in values.enumerated() { (p + i).initialize(to: v) }
        return p
    }

    /// `count` messages, each initialized with protoc-c's `init` and then filled, as the
    /// array of pointers a repeated message field takes.
    func messages<T>(
        _ count: Int, _ initialize: (UnsafeMutablePointer<T>) -> Void, _ fill: (Int, UnsafeMutablePointer<T>) -> Void
    ) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?> {
        let items = make(T.self, count)
        let pointers = make(UnsafeMutablePointer<T>?.self, count)
        for i in 0..<count {
            initialize(items + i)
            fill(i, items + i)
            pointers[i] = items + i
        }
        return pointers
    }

    /// A sample label: a string (`str`, a string index) or a number (`num`).
    struct Label {
        var key: Int32
        var num: Int64 = 0
        var str: Int32 = 0
    }

    /// Sets a sample's labels.
    func setLabels(_ labels: [Label], of sample: UnsafeMutablePointer<Perftools__Profiles__Sample>) {
        sample.pointee.n_label = labels.count
        sample.pointee.label = messages(labels.count, perftools__profiles__label__init) { j, l in
            l.pointee.key = Int64(labels[j].key)
            l.pointee.num = labels[j].num
            l.pointee.str = Int64(labels[j].str)
        }
    }

    /// Sample types and the period type, as (type, unit) string indices.
    func setSampleTypes(
        _ types: [(Int32, Int32)], period: (Int32, Int32), of profile: inout Perftools__Profiles__Profile
    ) {
        let n = types.count
        let values = make(Perftools__Profiles__ValueType.self, n + 1)
        for (i, t) in (types + [period]).enumerated() {
            perftools__profiles__value_type__init(values + i)
            values[i].type = Int64(t.0)
            values[i].unit = Int64(t.1)
        }
        let pointers = make(UnsafeMutablePointer<Perftools__Profiles__ValueType>?.self, n)
        for i in 0..<n { pointers[i] = values + i }
        profile.n_sample_type = n
        profile.sample_type = pointers
        profile.period_type = values + n
    }

    /// The string table: one NUL-terminated block, pointers into it.
    func setStrings(_ all: [String], of profile: inout Perftools__Profiles__Profile) {
        var total = 0
        for s in all { total += s.utf8.count + 1 }
        let text = make(CChar.self, total)
        let table = make(UnsafeMutablePointer<CChar>?.self, all.count)
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
    }

    /// The packed profile; the arena must outlive this call (it does: it is the receiver).
    func pack(_ profile: inout Perftools__Profiles__Profile) -> [UInt8] {
        let size = perftools__profiles__profile__get_packed_size(&profile)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = perftools__profiles__profile__pack(&profile, buffer.baseAddress)
        }
    }

    deinit {
        for b in blocks { b.deallocate() }
    }
}
