#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Profiles
import Stacks
import Testing
import TestSupport

/// Real programs compiled here, sampled by the engine, their profiles read by `go tool pprof`.
/// Each keeps a core busy for a few seconds, so the suite runs in the serialized pass.
@Suite(.serialized) struct RealProgramHeavyTests {
    /// Frame pointers in every function, leaves included (clang keeps them in leaves when
    /// asked; gcc does not): the kernel's walk is the whole stack, no DWARF needed.
    @Test func cWithFramePointersEverywhere() async throws {
        let prog = try Build.program(
            twoHotFunctionsXorshiftC, file: "hot.c",
            command: ["clang", "-O2", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        let (profile, counters) = try await recordStacks([p.pid: "c"], settings: testSettings(dwarf: .auto))
        try expectTwoHotFunctions(profile, hotA: "hot_a", hotB: "hot_b", caller: "caller", main: "main")
        #expect(counters.dwarfUnwinds == 0)
    }

    /// Without frame pointers (-fomit-frame-pointer) the kernel's walk stops at the hot
    /// function; with them (-fno-omit-frame-pointer) gcc still leaves leaf functions without
    /// a frame, so the walk from the hot leaf skips its caller. Either way `auto` sees the
    /// stack is cut short and unwinds it with DWARF.
    @Test(arguments: ["-fomit-frame-pointer", "-fno-omit-frame-pointer"])
    func cNeedsDWARF(_ framePointers: String) async throws {
        let prog = try Build.program(
            twoHotFunctionsC, file: "hot.c", command: ["gcc", "-O2", framePointers, "-g", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        // Without DWARF the frame-pointer walk from the hot leaf misses `caller`.
        let (fpOnly, _) = try await recordStacks([p.pid: "c"], settings: testSettings(dwarf: .never), minSamples: 200)
        let callerShare = try pprofTop(fpOnly).rows.first { $0.name == "caller" }?.cumulativePercent ?? 0
        #expect(callerShare < 50, "frame pointers alone reached the caller in \(callerShare)% of samples")

        let (profile, counters) = try await recordStacks([p.pid: "c"], settings: testSettings(dwarf: .auto))
        try expectTwoHotFunctions(profile, hotA: "hot_a", hotB: "hot_b", caller: "caller", main: "main")
        #expect(counters.dwarfUnwinds > 0)
    }

    @Test func strippedWithDebugLink() async throws {
        let prog = try Build.program(
            twoHotFunctionsC, file: "hot.c", command: ["gcc", "-O2", "-fomit-frame-pointer", "-g", "-o", "$OUT", "$SRC"])
        let dir = prog.directory.path
        for args in [
            ["objcopy", "--only-keep-debug", prog.path, dir + "/prog.debug"],
            ["strip", "--strip-all", prog.path],
            ["objcopy", "--add-gnu-debuglink=prog.debug", prog.path],
        ] {
            let r = Build.run(args, directory: dir)
            try #require(r.status == 0, "\(args): \(r.output)")
        }
        let symbols = Build.run(["nm", prog.path])
        #expect(!symbols.output.contains("hot_a"), "the binary still has its symbols")
        let p = try startProgram([prog.path])
        let (profile, _) = try await recordStacks([p.pid: "c"], settings: testSettings(dwarf: .auto))
        try expectTwoHotFunctions(profile, hotA: "hot_a", hotB: "hot_b", caller: "caller", main: "main")
        // Lines come from the debug file's DWARF.
        let a = profile.aggregate
        let hot = a.locations.filter { a.functions[Int($0.function)].name == "hot_a" }
        #expect(hot.contains { $0.line > 0 })
        #expect(a.functions.contains { $0.name == "hot_a" && $0.file.hasSuffix("hot.c") })
    }

    @Test func goProgram() async throws {
        let source = """
            package main

            var sink uint64

            //go:noinline
            func hotA(n uint64) { x := n; for i := uint64(0); i < n; i++ { x = x*6364136223846793005 + 1442695040888963407 }; sink = x }

            //go:noinline
            func hotB(n uint64) { x := n; for i := uint64(0); i < n; i++ { x = x*6364136223846793005 + 1 }; sink = x }

            //go:noinline
            func caller() { for { hotA(20000000); hotB(10000000) } }

            func main() { caller() }
            """
        let prog = try Build.program(
            source, file: "hot.go", command: ["go", "build", "-o", "$OUT", "$SRC"],
            environment: ["GOCACHE": "/tmp/lookout-gocache", "HOME": "/tmp", "GO111MODULE": "off"])
        let p = try startProgram([prog.path])
        let (profile, _) = try await recordStacks([p.pid: "go"], settings: testSettings())
        try expectTwoHotFunctions(profile, hotA: "main.hotA", hotB: "main.hotB", caller: "main.caller", main: "main.main")
    }

    @Test func cxxProgramDemangled() async throws {
        let source = """
            #include <cstdint>
            namespace work {
            volatile std::uint64_t sink;
            template <int K> struct Engine {
                __attribute__((noinline, aligned(64))) static void spin(std::uint64_t n) {
                    std::uint64_t x = n;
                    for (std::uint64_t i = 0; i < n; i++) x = x * 6364136223846793005ull + K;
                    sink = x;
                }
            };
            __attribute__((noinline)) void loop() { for (;;) { Engine<2>::spin(20000000); Engine<1>::spin(10000000); } }
            }
            int main() { work::loop(); }
            """
        let prog = try Build.program(
            source, file: "hot.cc", command: ["g++", "-O2", "-fomit-frame-pointer", "-g", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        let (profile, _) = try await recordStacks([p.pid: "cxx"], settings: testSettings())
        try expectTwoHotFunctions(
            profile, hotA: "work::Engine<2>::spin(unsigned long)", hotB: "work::Engine<1>::spin(unsigned long)",
            caller: "work::loop()", main: "main")
        #expect(profile.aggregate.functions.contains { $0.systemName.hasPrefix("_ZN4work6EngineILi2EE4spinEm") })
    }

    @Test func swiftProgramDemangled() async throws {
        // A xorshift chain: LLVM folds a multiply-add chain several steps at a time.
        let source = """
            var sink: UInt64 = 0
            @inline(never) func hotA(_ n: UInt64) {
                var x = n | 1
                var i: UInt64 = 0
                while i < n { x ^= x << 13; x ^= x >> 7; x ^= x << 17; i += 1 }
                sink = x
            }
            @inline(never) func hotB(_ n: UInt64) {
                var x = n | 1
                var i: UInt64 = 0
                while i < n { x ^= x << 12; x ^= x >> 7; x ^= x << 17; i += 1 }
                sink = x
            }
            @inline(never) func caller() { while true { hotA(20_000_000); hotB(10_000_000) } }
            caller()
            """
        let prog = try Build.program(
            source, file: "hot.swift", command: ["swiftc", "-O", "-g", "-module-name", "hot", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        let (profile, _) = try await recordStacks([p.pid: "swift"], settings: testSettings())
        try expectTwoHotFunctions(
            profile, hotA: "hot.hotA(Swift.UInt64) -> ()", hotB: "hot.hotB(Swift.UInt64) -> ()", caller: "hot.caller() -> ()",
            main: "main")
        #expect(profile.aggregate.functions.contains { $0.systemName == "$s3hot0A1Ayys6UInt64VF" })
    }

    @Test func nodeWithPerfMap() async throws {
        let source = """
            let sink = 0;
            function hotA(n) { let x = n; for (let i = 0; i < n; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0; sink += x; }
            function hotB(n) { let x = n; for (let i = 0; i < n; i++) x = (Math.imul(x, 1664525) + 1) | 0; sink += x; }
            function caller() { for (;;) { hotA(20000000); hotB(10000000); } }
            caller();
            """
        let dir = TemporaryDirectory(prefix: "lookout-node")
        let script = dir.write("hot.js", source)
        // In the temporary directory: node writes its isolate logs there.
        let p = try startProgram(
            ["node", "--perf-basic-prof", "--interpreted-frames-native-stack", "--no-turbo-inlining", script], directory: dir.path)
        defer { unlink("/tmp/perf-\(p.pid).map") }
        // Let the JIT compile the hot functions before sampling.
        try await Task.sleep(for: .seconds(1))
        let (profile, _) = try await recordStacks([p.pid: "node"], settings: testSettings())
        try expectTwoHotFunctions(profile, hotA: "hotA", hotB: "hotB", caller: "caller", main: "node::Start")
        #expect(profile.aggregate.functions.contains { $0.name.contains("hotA") && $0.file.hasSuffix(".map") })
    }

    @Test func shortLivedThreadsAreSampled() async throws {
        // A thread every 100 ms, each doing ~50 ms of CPU work (on an idle core) and exiting.
        let source = """
            #include <pthread.h>
            #include <stdint.h>
            #include <unistd.h>
            volatile uint64_t sink;
            __attribute__((noinline)) void short_task_work(void) {
                uint64_t x = 1;
                for (uint64_t i = 0; i < 12000000; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
                sink = x;
            }
            void *short_task(void *arg) { (void)arg; short_task_work(); return 0; }
            int main(void) {
                for (;;) { pthread_t t; pthread_create(&t, 0, short_task, 0); pthread_detach(t); usleep(100000); }
            }
            """
        let prog = try Build.program(
            source, file: "threads.c", command: ["gcc", "-O2", "-fno-omit-frame-pointer", "-g", "-pthread", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        for scope in StackSamplingScope.allCases {
            let sampler = try StackSampler.start(testSettings(scope: scope)).get()
            sampler.setTargets([p.pid: "threads"])
            var tids = Set<Int32>()
            var samples = 0
            var named = 0
            let clock = SystemClock()
            let start = clock.now
            var draining = Duration.zero
            while samples < 300 || tids.count < 20, clock.now - start < .seconds(40) {
                try await Task.sleep(for: .milliseconds(20))
                let before = clock.now
                let batch = sampler.drain()
                draining += clock.now - before
                for s in batch.samples where batch.frames(of: s).contains(where: { $0.function.name == "short_task_work" }) {
                    tids.insert(s.tid)
                    samples += 1
                    if s.thread == "prog" { named += 1 }
                }
            }
            sampler.stop()
            let seconds = Double((clock.now - start).nanoseconds) / 1e9
            // Threads live about 100 ms each (longer when the machine is busy): most are sampled, with their name.
            #expect(tids.count >= 20, "\(scope): \(tids.count) threads sampled in \(seconds) s")
            #expect(samples >= 300, "\(scope): \(samples) samples")
            #expect(named == samples, "\(scope): \(samples - named) samples without the thread name")
            print("\(scope): \(tids.count) short-lived threads, \(samples) samples in \(fixed(seconds, 1)) s, lost \(sampler.counters.lostSamples), "
                    + "\(draining) draining \(sampler.counters.otherSamples) other samples")
        }
    }

    @Test func deletedBinaryIsSymbolized() async throws {
        let prog = try Build.program(
            twoHotFunctionsC, file: "hot.c", command: ["gcc", "-O2", "-fno-omit-frame-pointer", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        #expect(unlink(prog.path) == 0)
        let (profile, _) = try await recordStacks([p.pid: "deleted"], settings: testSettings(), minSamples: 200)
        try expectTwoHotFunctions(profile, hotA: "hot_a", hotB: "hot_b", caller: "caller", main: "main")
        #expect(profile.aggregate.mappings.contains { $0.file == prog.path && !$0.buildID.isEmpty })
    }

    @Test func kernelFramesAreNamed() async throws {
        let source = """
            #include <fcntl.h>
            #include <unistd.h>
            static char buffer[1 << 20];
            __attribute__((noinline)) void read_zeros(int fd) { for (;;) read(fd, buffer, sizeof buffer); }
            int main(void) { read_zeros(open("/dev/zero", O_RDONLY)); }
            """
        let prog = try Build.program(
            source, file: "zero.c", command: ["gcc", "-O2", "-fno-omit-frame-pointer", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        let (profile, _) = try await recordStacks([p.pid: "kernel"], settings: testSettings(), minSamples: 200)
        let a = profile.aggregate
        let kernel = a.locations.filter { $0.kind == StackFrame.Kind.kernel }.map { a.functions[Int($0.function)].name }
        #expect(!kernel.isEmpty)
        #expect(kernel.contains("do_syscall_64") || kernel.contains("entry_SYSCALL_64_after_hwframe"), "\(Set(kernel))")
        #expect(!kernel.contains("[kernel]"), "unnamed kernel frames")
        // Kernel frames sit between the user frames and the leaf: read_zeros calls into them.
        let (rows, output) = try pprofTop(profile)
        #expect((rows.first { $0.name == "read_zeros" }?.cumulativePercent ?? 0) >= 85, "\(output)")
    }
}
