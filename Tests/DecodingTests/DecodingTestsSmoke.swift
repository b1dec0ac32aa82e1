import XCTest
final class DecodingTestsSmoke: XCTestCase { func testBuilds() {} }
