import XCTest
final class MediaTestsSmoke: XCTestCase { func testBuilds() {} }
