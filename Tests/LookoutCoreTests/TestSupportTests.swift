import LookoutCore
import TestSupport
import Testing

/// The test kit itself must work, or every test built on it proves nothing.
@Suite struct TestSupportTests {
    @Test func testServerAnswersAndRecords() throws {
        let server = try TestServer()
        #expect(TestHTTP.get(server.url("/ok")).text == "ok")
        #expect(TestHTTP.get(server.url("/status/503")).status == 503)
        server.set("/hook", status: 202, body: "accepted", failTimes: 1)
        #expect(TestHTTP.post(server.url("/hook"), body: Array("first".utf8)).status == 500)
        #expect(TestHTTP.post(server.url("/hook"), body: Array("second".utf8)).status == 202)
        let got = server.received("/hook")
        #expect(got.map(\.body) == ["first", "second"])
    }

    @Test func childProcessReportsExitStatus() throws {
        let (status, output) = Shell.run(["sh", "-c", "echo hello; exit 3"])
        #expect(status == 3)
        #expect(output == "hello\n")
    }

    @Test func temporaryDirectoryWritesTrees() throws {
        let dir = TemporaryDirectory()
        dir.write("a/b/c.txt", "content")
        #expect(try FileIO.readText(dir.path + "/a/b/c.txt") == "content")
    }
}
