import LookoutCore
import Profiles
import Stacks
import Testing
import TestSupport

/// A small aggregate built by hand: two stacks of one process and one of another, kernel
/// frames included.
func handMadeProfile() -> StackProfile {
    let exe = MappingInfo(start: 0x400000, limit: 0x401000, offset: 0, file: "/usr/bin/app", buildID: "abcdef0123")
    let kernel = MappingInfo(start: 0, limit: 0, offset: 0, file: "[kernel.kallsyms]", buildID: "")
    let main = FunctionInfo(name: "main", systemName: "main", file: "/src/app.c")
    let work = FunctionInfo(name: "work::run(int)", systemName: "_ZN4work3runEi", file: "/src/app.c")
    let leaf = FunctionInfo(name: "spin<a&b>", systemName: "spin", file: "/src/app.c")
    let sys = FunctionInfo(name: "do_syscall_64", systemName: "do_syscall_64", file: "[kernel.kallsyms]")
    func f(_ a: UInt64, _ fn: FunctionInfo, _ m: MappingInfo, _ line: Int32 = 0, _ kind: StackFrame.Kind = .user) -> StackFrame {
        StackFrame(address: a, kind: kind, function: fn, mapping: m, line: line)
    }
    var a = StackAggregate(periodNanoseconds: 1_000_000_000 / 19)
    for _ in 0..<3 { a.add([f(0x400100, leaf, exe, 7), f(0x400200, work, exe, 12), f(0x400300, main, exe, 20)], pid: 42, group: "api", thread: "worker") }
    a.add([f(0xffff_ffff_8100_0000, sys, kernel, 0, .kernel), f(0x400200, work, exe, 12), f(0x400300, main, exe, 20)], pid: 42, group: "api", thread: "worker")
    a.add([f(0x400300, main, exe, 20)], pid: 43, group: "api", thread: "app;main")
    return StackProfile(aggregate: a, startTime: WallTime(nanosecondsSinceEpoch: 1_700_000_000_000_000_000), duration: .seconds(2))
}

@Suite struct StackEncodingTests {
    @Test func aggregateInternsFramesAndStacks() {
        let a = handMadeProfile().aggregate
        #expect(a.samples == 5)
        #expect(a.stacks.count == 3)
        #expect(a.functions.count == 4)
        #expect(a.mappings.count == 2)
        #expect(a.locations.count == 4)
        #expect(a.stacks.map(\.count).sorted() == [1, 1, 3])
    }

    @Test func aggregateBoundsStacks() {
        let exe = MappingInfo(start: 0, limit: 0x1000, offset: 0, file: "/x", buildID: "")
        let fn = FunctionInfo(name: "f", systemName: "f", file: "/x")
        var a = StackAggregate(periodNanoseconds: 1000, maxStacks: 2)
        for i in 0..<4 {
            a.add([StackFrame(address: UInt64(i), kind: .user, function: fn, mapping: exe, line: 0)], pid: 1, group: "g", thread: "t")
        }
        a.add([StackFrame(address: 0, kind: .user, function: fn, mapping: exe, line: 0)], pid: 1, group: "g", thread: "t")
        #expect(a.stacks.count == 2)
        #expect(a.samples == 3)
        #expect(a.droppedSamples == 2)
    }

    /// The fields Go's runtime writes for a CPU profile (what pyroscope.scrape's process_cpu
    /// expects), read back by `go tool pprof -raw`.
    @Test func pprofAsGoWritesCPUProfiles() throws {
        let dir = TemporaryDirectory(prefix: "lookout-pprof")
        let file = dir.write("cpu.pb.gz", try handMadeProfile().pprofGzip())
        let raw = goTool(["pprof", "-raw", file])
        try #require(raw.status == 0, "\(raw.output)")
        let out = raw.output
        #expect(out.contains("PeriodType: cpu nanoseconds"), "\(out)")
        #expect(out.contains("Period: 52631578"), "\(out)")
        #expect(out.contains("samples/count cpu/nanoseconds"), "\(out)")
        #expect(out.contains("157894734: 1 2 3"), "\(out)")
        #expect(out.contains("group:[api]") && out.contains("thread:[worker]") && out.contains("pid:[42]"), "\(out)")
        #expect(out.contains("work::run(int) /src/app.c:12"), "\(out)")
        #expect(out.contains("spin<a&b> /src/app.c:7"), "\(out)")
        #expect(out.contains("/usr/bin/app abcdef0123"), "\(out)")
        let top = try pprofTop(handMadeProfile())
        #expect(top.rows.first?.name == "spin<a&b>", "\(top.output)")
        #expect(top.rows.first { $0.name == "main" }?.cumulativePercent == 100, "\(top.output)")
        #expect(top.output.contains("Type: cpu"), "\(top.output)")
    }

    @Test func foldedHasGroupProcessAndThreadAsRootFrames() {
        let folded = handMadeProfile().folded()
        #expect(
            folded == """
                api;pid 42;worker;main;work::run(int);do_syscall_64 1
                api;pid 42;worker;main;work::run(int);spin<a&b> 3
                api;pid 43;app:main;main 1

                """)
    }

    @Test func flameGraphIsSelfContainedSVG() {
        let svg = handMadeProfile().flameGraph(title: "api")
        #expect(svg.hasPrefix("<?xml"))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("<script><![CDATA["))
        #expect(!svg.contains("href="))  // nothing external
        #expect(svg.contains("spin&lt;a&amp;b&gt; (3 samples, 60.0%)"))
        #expect(svg.contains("all (5 samples) (5 samples, 100.0%)"))
        // Every frame is a <g> with its rect and text.
        let groups = svg.split(separator: "<g data-x").count - 1
        // all, api, pid 42, worker, main, work::run, spin, do_syscall_64, pid 43, app;main, main
        #expect(groups == 11)
    }

    @Test func topFunctions() {
        let top = handMadeProfile().topFunctions(3)
        #expect(top.map(\.name) == ["spin<a&b>", "do_syscall_64", "main"])
        #expect(top[0].flat == 3 && top[0].cumulative == 3)
        #expect(top[2].cumulative == 5)
    }
}
