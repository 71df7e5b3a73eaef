import Testing
@testable import Sampling

@Suite struct SamplingPlaceholderTests {
    @Test func moduleLoads() {}
}
