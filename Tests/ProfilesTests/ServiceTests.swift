import LookoutCore
import Sampling
import Synchronization
import TestSupport
import Testing

@testable import Profiles

@Suite struct ProfileRequestTests {
    @Test func defaultsAreTenSecondsOfCPUAsPprof() throws {
        #expect(try ProfileRequest.parse(query: []) == ProfileRequest(seconds: 10, type: .cpu, format: .pprof))
        #expect(
            try ProfileRequest.parse(query: [("seconds", "300"), ("type", "block"), ("format", "folded"), ("debug", "1")])
                == ProfileRequest(seconds: 300, type: .block, format: .folded))
        #expect(try ProfileRequest.parse(query: [("seconds", "1")]).seconds == 1)
        // The first value counts, as in Go's net/http/pprof.
        #expect(try ProfileRequest.parse(query: [("seconds", "5"), ("seconds", "7")]).seconds == 5)
    }

    @Test(arguments: ["0", "301", "-1", "abc", "", "1.5", "10s", " 10", "99999999999999999999"])
    func secondsOutOfRangeOrMalformedAreRejected(_ value: String) {
        do {
            _ = try ProfileRequest.parse(query: [("seconds", value)])
            Issue.record("seconds=\(value) was accepted")
        } catch {
            #expect(error.status == 400)
            #expect(error.message.hasPrefix("seconds must be a whole number from 1 to 300, got \""))
        }
    }

    @Test func unknownTypesAndFormatsAreRejected() {
        #expect(throws: ProfileError(.badRequest, "type must be cpu, block or mutex, got \"heap\"")) {
            try ProfileRequest.parse(query: [("type", "heap")])
        }
        #expect(throws: ProfileError(.badRequest, "format must be pprof or folded, got \"svg\"")) {
            try ProfileRequest.parse(query: [("format", "svg")])
        }
        #expect(throws: ProfileError(.badRequest, "type must be cpu, block or mutex, got \"a\\nb\\\"\"")) {
            try ProfileRequest.parse(query: [("type", "a\nb\"")])
        }
    }
}

@Suite struct ProfileServiceTests {
    /// A service over a recorder on a manual clock, with settings the test changes.
    final class Fixture: Sendable {
        let clock = ManualClock()
        let recorder: ProfileRecorder
        let settings: SettingsBox
        let service: ProfileService

        final class SettingsBox: Sendable {
            let value: Mutex<SamplerSettings>
            init(_ s: SamplerSettings) { value = Mutex(s) }
            func withLock<R>(_ body: (inout SamplerSettings) -> R) -> R { value.withLock { body(&$0) } }
        }

        init(_ s: SamplerSettings = SamplerSettings()) {
            recorder = ProfileRecorder(clock: clock)
            let settings = SettingsBox(s)
            self.settings = settings
            service = ProfileService(recorder: recorder, settings: { settings.withLock { $0 } })
        }

        /// Answers a request while feeding one tick of `samples` every 1/19 s until the window ends.
        func serve(_ query: [(String, String)], samples: [ThreadSample], recordings: Int = 1) async -> ProfileResponse {
            let service = self.service
            let q = query.map { (name: $0.0, value: $0.1) }
            let task = Task { await service.handle(query: q) }
            _ = await clock.waitForSleepers(recordings)
            let seconds = Int(query.first { $0.0 == "seconds" }?.1 ?? "10") ?? 10
            for _ in 0..<(seconds * 19) {
                clock.advance(by: .nanoseconds(1_000_000_000 / 19))
                recorder.report(tick(at: clock.now, samples))
            }
            clock.advance(by: .seconds(1))
            return await task.value
        }
    }

    func body(_ r: ProfileResponse) -> String { String(decoding: r.body, as: UTF8.self) }
    func header(_ r: ProfileResponse, _ name: String) -> String? { r.headers.first { $0.name == name }?.value }

    @Test func invalidParametersAre400WithAMessageAndRecordNothing() async {
        let f = Fixture()
        for (query, message) in [
            ([("seconds", "0")], "seconds must be a whole number from 1 to 300, got \"0\"\n"),
            ([("seconds", "301")], "seconds must be a whole number from 1 to 300, got \"301\"\n"),
            ([("type", "goroutine")], "type must be cpu, block or mutex, got \"goroutine\"\n"),
            ([("format", "text")], "format must be pprof or folded, got \"text\"\n"),
        ] {
            let r = await f.service.handle(query: query.map { (name: $0.0, value: $0.1) })
            #expect(r.status == 400)
            #expect(r.contentType == "text/plain; charset=utf-8")
            #expect(body(r) == message)
        }
        #expect(f.clock.sleepsStarted == 0)
    }

    @Test func blockAndMutexNeedTheirSamplingOn() async {
        let f = Fixture()
        let block = await f.service.handle(query: [("type", "block")])
        #expect(block.status == 400)
        #expect(body(block) == "block profile needs block sampling, which is off (set sampling.block: true)\n")
        let mutex = await f.service.handle(query: [("type", "mutex"), ("seconds", "5")])
        #expect(mutex.status == 400)
        #expect(body(mutex) == "mutex profile needs mutex sampling, which is off (set sampling.mutex: true)\n")
        f.settings.withLock { $0.cpu = false }
        let cpu = await f.service.handle(query: [])
        #expect(cpu.status == 400)
        #expect(body(cpu).hasPrefix("cpu profile needs cpu sampling"))
        #expect(f.recorder.runningCount == 0)
        #expect(f.clock.sleepsStarted == 0)
    }

    @Test func blockSamplingTurnedOnByAReloadCountsAtOnce() async throws {
        let f = Fixture()
        #expect(await f.service.handle(query: [("type", "block")]).status == 400)
        f.settings.withLock { $0.block = true }
        let r = await f.serve(
            [("type", "block"), ("seconds", "1"), ("format", "folded")],
            samples: [sample(.blocked, tid: 3, thread: "flush", ns: 52_631_578, wchan: "io_schedule"), sample(tid: 4, thread: "cpu")])
        #expect(r.status == 200)
        #expect(body(r) == "api;pid 100;flush;io_schedule 19\n")
    }

    @Test func pprofIsAGzippedAttachmentLikeGosNetHTTPPprof() async throws {
        let f = Fixture()
        let r = await f.serve([("seconds", "2")], samples: [sample(tid: 1, thread: "busy", ns: 52_000_000)])
        #expect(r.status == 200)
        #expect(r.contentType == "application/octet-stream")
        #expect(header(r, "Content-Disposition") == "attachment; filename=\"profile.pb.gz\"")
        #expect(r.allHeaders.first?.name == "Content-Type")
        let d = try #require(decodeGzipped(r.body))
        #expect(d.samples.count == 1)
        #expect(d.samples[0].values == [38, 38 * 52_000_000])
        #expect(d.samples[0].frames == ["busy", "pid 100", "api"])
        #expect(d.durationNanos >= 2_000_000_000)
    }

    @Test func foldedIsPlainText() async {
        let f = Fixture()
        let r = await f.serve([("seconds", "1"), ("format", "folded")], samples: [sample(tid: 1, thread: "busy")])
        #expect(r.status == 200)
        #expect(r.contentType == "text/plain; charset=utf-8")
        #expect(header(r, "Content-Disposition") == nil)
        #expect(body(r) == "api;pid 100;busy 19\n")
    }

    @Test func twoClientsAtOnceBothGetTheirProfile() async throws {
        let f = Fixture()
        let service = f.service
        let a = Task { await service.handle(query: [("seconds", "2")]) }
        let b = Task { await service.handle(query: [("seconds", "2"), ("format", "folded")]) }
        #expect(await f.clock.waitForSleepers(2))
        #expect(f.recorder.runningCount == 2)
        for _ in 0..<38 {
            f.clock.advance(by: .nanoseconds(1_000_000_000 / 19))
            f.recorder.report(tick(at: f.clock.now, [sample(tid: 1, thread: "busy")]))
        }
        f.clock.advance(by: .seconds(1))
        let (ra, rb) = (await a.value, await b.value)
        #expect(ra.status == 200 && rb.status == 200)
        #expect(try #require(decodeGzipped(ra.body)).samples.first?.values.first == 38)
        #expect(body(rb) == "api;pid 100;busy 38\n")
        #expect(f.recorder.runningCount == 0)
    }

    @Test func withoutTicksTheAnswerIs503() async {
        let f = Fixture()
        let service = f.service
        let task = Task { await service.handle(query: [("seconds", "1")]) }
        #expect(await f.clock.waitForSleepers(1))
        f.clock.advance(by: .seconds(2))
        let r = await task.value
        #expect(r.status == 503)
        #expect(body(r) == "the sampler did not tick during the 1s window; is it running?\n")
    }

    @Test func tooManyClientsAre429() async {
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock, limits: .init(maxStacks: 100, maxConcurrent: 1))
        let service = ProfileService(recorder: recorder, settings: { SamplerSettings() })
        let first = Task { await service.handle(query: [("seconds", "1")]) }
        #expect(await clock.waitForSleepers(1))
        let second = await service.handle(query: [("seconds", "1")])
        #expect(second.status == 429)
        #expect(body(second).contains("profiles are being recorded already"))
        clock.advance(by: .milliseconds(500))
        recorder.report(tick(at: clock.now, [sample(tid: 1, thread: "x")]))
        clock.advance(by: .seconds(1))
        #expect(await first.value.status == 200)
    }
}
