import XCTest
final class WhisperTestsSmoke: XCTestCase { func testBuilds() {} }
