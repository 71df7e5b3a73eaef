import LookoutCore
import TestSupport
import Testing

@Suite struct FileIOTests {
    @Test func aFileLargerThanTheLimitIsAnErrorNotCutShort() throws {
        let dir = TemporaryDirectory()
        let exact = dir.write("exact", [UInt8](repeating: 65, count: 10_000))
        #expect(try FileIO.read(exact, limit: 10_000).count == 10_000)
        let over = dir.write("over", [UInt8](repeating: 65, count: 10_001))
        #expect {
            try FileIO.read(over, limit: 10_000)
        } throws: { error in
            (error as? FileIO.Error)?.description == "\(over): file is larger than 10000 bytes, the most this reads"
        }
        #expect(throws: FileIO.Error.self) { try FileIO.readText(dir.write("big", [UInt8](repeating: 65, count: 3 << 20)), limit: 2 << 20) }
    }
}
