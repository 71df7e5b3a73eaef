import CStacks
import Testing

@testable import Stacks

@Suite struct ProcessMapsTests {
    @Test func parsesExecutableMappings() {
        let text = """
            55d0c2a3a000-55d0c2a3c000 r--p 00000000 fd:01 1234567                    /usr/bin/cat
            55d0c2a3c000-55d0c2a41000 r-xp 00002000 fd:01 1234567                    /usr/bin/cat
            7f3cdd7fc000-7f3cdd822000 r-xp 00026000 fd:01 42   /usr/lib/x86_64-linux-gnu/libc.so.6
            7f3cdd900000-7f3cdd901000 r-xp 00000000 00:00 0 
            7f3cdda00000-7f3cdda01000 r-xp 00001000 00:2a 77   /tmp/a dir/prog (deleted)
            7ffd1f9e8000-7ffd1f9ea000 r-xp 00000000 00:00 0                          [vdso]
            garbage line
            """
        let maps = ProcessMaps.parse(Array(text.utf8))
        #expect(maps.mappings.count == 5)
        let cat = maps.mapping(containing: 0x55d0c2a3c010)
        #expect(cat?.path == "/usr/bin/cat")
        #expect(cat?.offset == 0x2000)
        #expect(cat?.inode == 1_234_567)
        #expect(cat?.isFile == true)
        #expect(maps.mapping(containing: 0x55d0c2a3a010) == nil)  // not executable
        #expect(maps.mapping(containing: 0x7f3cdd822000) == nil)  // end is exclusive
        let deleted = maps.mapping(containing: 0x7f3cdda00000)
        #expect(deleted?.path == "/tmp/a dir/prog")
        #expect(deleted?.deleted == true)
        #expect(maps.mapping(containing: 0x7f3cdd900010)?.isFile == false)
        #expect(maps.mapping(containing: 0x7ffd1f9e8000)?.path == "[vdso]")
    }

    @Test func cpuLists() {
        #expect(StackSampler.parseCPUList("0-3,6\n") == [0, 1, 2, 3, 6])
        #expect(StackSampler.parseCPUList("0\n") == [0])
        #expect(StackSampler.parseCPUList("a-b") == nil)
    }
}

@Suite struct SymbolSourceTests {
    @Test func kallsymsKeepsTextSymbols() {
        let text = """
            0000000000000000 A fixed_percpu_data
            ffffffff81000000 T _stext
            ffffffff81001000 t do_one_initcall
            ffffffff81002000 D some_data
            ffffffff81003000 T entry_SYSCALL_64
            ffffffffc0100000 t ext4_read\t[ext4]
            """
        let table = SymbolSources.kallsyms(Array(text.utf8))
        #expect(table.count == 4)
        #expect(table.lookup(0xffff_ffff_8100_1010).map(table.name) == "do_one_initcall")
        #expect(table.lookup(0xffff_ffff_8100_3fff).map(table.name) == "entry_SYSCALL_64")
        #expect(table.lookup(0xffff_ffff_c010_0004).map(table.name) == "ext4_read")
        #expect(table.lookup(0xffff_ffff_80ff_ffff) == nil)
    }

    @Test func restrictedKallsymsIsEmpty() {
        let text = "0000000000000000 T _stext\n0000000000000000 t do_one_initcall\n"
        #expect(SymbolSources.kallsyms(Array(text.utf8)).count == 0)
    }

    @Test func perfMap() {
        let text = """
            3a0c1a4 40 LazyCompile:*hotA /tmp/hot.js:2
            0x3a0c200 0x20 JS:~caller /tmp/hot.js:4
            3a0c1a4 40 LazyCompile:*hotA /tmp/hot.js:2 (recompiled)
            bad line
            """
        let table = SymbolSources.perfMap(Array(text.utf8))
        #expect(table.count == 2)
        #expect(table.lookup(0x3a0c1b0).map(table.name) == "LazyCompile:*hotA /tmp/hot.js:2 (recompiled)")
        #expect(table.lookup(0x3a0c21f).map(table.name) == "JS:~caller /tmp/hot.js:4")
        #expect(table.lookup(0x3a0c220) == nil)
    }

    @Test func symbolTablePrefersGlobalAndSizedAliases() {
        var b = SymbolTable.Builder()
        b.add(start: 0x1000, size: 0, name: "__GI_memcpy", rank: 0)
        b.add(start: 0x1000, size: 0x40, name: "memcpy", rank: 2)
        b.add(start: 0x2000, size: 0, name: "tail", rank: 2)
        let t = b.build()
        #expect(t.count == 2)
        #expect(t.lookup(0x1020).map(t.name) == "memcpy")
        #expect(t.lookup(0x1040) == nil)  // past memcpy's size, before the next symbol
        #expect(t.lookup(0x2100).map(t.name) == "tail")  // no size: up to 64 KiB
        #expect(t.lookup(0x20000) == nil)
    }
}

@Suite struct PerfRecordTests {
    /// A sample record as the kernel writes it with a stack copy.
    static func sample(pid: UInt32, tid: UInt32, chain: [UInt64], stack: [UInt8], dynamicSize: UInt64) -> [UInt8] {
        var body: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { body.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { body.append(contentsOf: $0) } }
        u32(pid)
        u32(tid)
        u64(123_456)
        u64(UInt64(chain.count))
        for c in chain { u64(c) }
        u64(2)  // PERF_SAMPLE_REGS_ABI_64
        for r in 0..<Int(LOOKOUT_PERF_USER_REGISTERS) { u64(UInt64(r + 100)) }
        u64(UInt64(stack.count))
        body.append(contentsOf: stack)
        u64(dynamicSize)
        var header: [UInt8] = []
        withUnsafeBytes(of: UInt32(LOOKOUT_PERF_RECORD_SAMPLE).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(0).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(8 + body.count).littleEndian) { header.append(contentsOf: $0) }
        return header + body
    }

    @Test func decodesSampleWithStackCopy() {
        let bytes = Self.sample(
            pid: 42, tid: 43, chain: [LOOKOUT_PERF_CONTEXT_USER, 0x401000, 0x401100], stack: [UInt8](repeating: 7, count: 64),
            dynamicSize: 48)
        bytes.withUnsafeBytes { b in
            guard case .sample(let s) = PerfRecord.decode(b, stackCopy: true) else {
                Issue.record("not decoded as a sample")
                return
            }
            #expect(s.pid == 42 && s.tid == 43 && s.time == 123_456)
            #expect(s.callchainCount == 3)
            #expect(s.callchainEntry(1) == 0x401000)
            #expect(s.register(Int(LOOKOUT_PERF_REG_IP)) == 108)
            #expect(s.stack.count == 48)  // the dynamic size, not the reserved size
        }
    }

    @Test func truncatedRecordsAreMalformed() {
        let bytes = Self.sample(pid: 1, tid: 1, chain: [1, 2, 3], stack: [UInt8](repeating: 0, count: 64), dynamicSize: 64)
        for cut in [9, 24, 40, bytes.count - 1] {
            var short = Array(bytes[..<cut])
            short[6] = UInt8(cut & 0xff)
            short[7] = UInt8(cut >> 8)
            short.withUnsafeBytes { b in
                guard case .malformed = PerfRecord.decode(b, stackCopy: true) else {
                    Issue.record("a record cut at \(cut) bytes decoded")
                    return
                }
            }
        }
    }

    @Test func lostAndTaskRecords() {
        func record(_ type: Int32, _ body: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            withUnsafeBytes(of: UInt32(type).littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt16(0)) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt16(8 + body.count).littleEndian) { out.append(contentsOf: $0) }
            return out + body
        }
        func words(_ values: [UInt32]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } } }
        record(Int32(LOOKOUT_PERF_RECORD_LOST), words([9, 0, 17, 0])).withUnsafeBytes { b in
            guard case .lost(17) = PerfRecord.decode(b, stackCopy: false) else {
                Issue.record("lost")
                return
            }
        }
        record(Int32(LOOKOUT_PERF_RECORD_COMM), words([10, 11]) + Array("worker\0\0".utf8)).withUnsafeBytes { b in
            guard case .comm(10, 11, let name) = PerfRecord.decode(b, stackCopy: false) else {
                Issue.record("comm")
                return
            }
            #expect(String(decoding: name, as: UTF8.self) == "worker")
        }
        record(Int32(LOOKOUT_PERF_RECORD_FORK), words([10, 1, 12, 11, 0, 0])).withUnsafeBytes { b in
            guard case .fork(10, 12, 11) = PerfRecord.decode(b, stackCopy: false) else {
                Issue.record("fork")
                return
            }
        }
        record(Int32(LOOKOUT_PERF_RECORD_EXIT), words([10, 1, 12, 11, 0, 0])).withUnsafeBytes { b in
            guard case .exit(10, 12) = PerfRecord.decode(b, stackCopy: false) else {
                Issue.record("exit")
                return
            }
        }
    }
}

@Suite struct DemanglerTests {
    @Test func cxx() {
        #expect(Demangler.demangle("_ZN4work6EngineILi2EE4spinEm") == "work::Engine<2>::spin(unsigned long)")
        #expect(Demangler.demangle("_Z3fooi") == "foo(int)")
        #expect(Demangler.demangle("_Znot_valid_at_all") == "_Znot_valid_at_all")
        #expect(Demangler.demangle("main") == "main")
    }

    @Test func rustLegacy() {
        #expect(
            Demangler.demangle("_ZN4core3fmt5write17h0123456789abcdefE") == "core::fmt::write")
        #expect(
            Demangler.demangle("_ZN60_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..Drop$GT$4drop17h1122334455667788E")
                == "<alloc::vec::Vec<T> as core::ops::Drop>::drop")
    }

    @Test func swift() {
        #expect(Demangler.demangle("$s3hot4hotAyys6UInt64VF") == "hot.hotA(Swift.UInt64) -> ()")
        #expect(Demangler.demangle("$sSS5countSivg") == "Swift.String.count.getter : Swift.Int")
    }
}

@Suite struct SymbolCacheTests {
    static func table(_ n: Int) -> LoadedSymbols {
        var b = SymbolTable.Builder()
        for i in 0..<n { b.add(start: UInt64(i * 16), size: 16, name: "function_\(i)") }
        return LoadedSymbols(table: b.build(), lines: nil, source: "test")
    }

    @Test func boundedByBytesLeastRecentlyUsedOut() {
        let size = Self.table(100).bytes
        var cache = SymbolCache(capacity: size * 3)
        var loads = 0
        func get(_ key: String) -> LoadedSymbols? {
            cache.symbols(key) {
                loads += 1
                return Self.table(100)
            }
        }
        _ = get("a")
        _ = get("b")
        _ = get("c")
        #expect(cache.bytes == 3 * size)
        _ = get("a")  // a is now the most recently used
        _ = get("d")  // b goes
        #expect(cache.count == 3)
        #expect(cache.bytes <= cache.capacity)
        #expect(cache.contains("a") && !cache.contains("b") && cache.contains("c") && cache.contains("d"))
        #expect(loads == 4)
        _ = get("b")  // loaded again
        #expect(loads == 5)
        #expect(cache.evictions == 2)
    }

    @Test func tableLargerThanTheCacheIsUsedNotKept() {
        var cache = SymbolCache(capacity: 100)
        let t = cache.symbols("big") { Self.table(1000) }
        #expect(t?.table.count == 1000)
        #expect(cache.bytes == 0 && cache.count == 0)
    }
}
