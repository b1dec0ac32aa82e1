import XCTest
final class TensorsTestsSmoke: XCTestCase { func testBuilds() {} }
