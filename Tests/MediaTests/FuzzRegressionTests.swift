import Foundation
import Media
import XCTest

/// Inputs that crashed a fuzz target (fuzz/, `make fuzz`), kept so the fix stays fixed.
final class FuzzRegressionTests: XCTestCase {
    /// fuzz-image, crash-e137d94d…: a 92-byte PNG whose IHDR declares 2825580202 × 3599426187 pixels.
    /// The refusal message multiplied the two as Int and overflowed (a trap in checked builds, a
    /// wrong number in -Ounchecked ones); the product is now exact.
    func testPNGHeaderWhosePixelCountOverflowsIntIsRefusedWithTheExactCount() {
        let input = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUqhq7qrWiuKL+awpKt7KQs4AvOZkzEoUZFYaRAARGWAx35wfDt6TBdXWWlPbcqSSYGYK1E3W5oZyqPq9EQChrSoAAAAASUVORK5CYII=")!
        XCTAssertThrowsError(try ImageDecoder.decode(data: input, name: "fuzz-crash.png")) { error in
            guard let error = error as? ImageError else { return XCTFail("not an ImageError: \(error)") }
            XCTAssertEqual(error.kind, .tooLarge)
            XCTAssertTrue("\(error)".contains("fuzz-crash.png"), "\(error)")
            XCTAssertTrue("\(error)".contains("2825580202x3599426187 = 10170467372547549774 pixels"), "\(error)")
        }
    }

    /// A negative pixel limit (a caller's mistake) refuses every image instead of trapping in a
    /// UInt64 conversion.
    func testDecodeOptionsWithANegativePixelLimitRefuseInsteadOfTrapping() {
        let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")!
        XCTAssertThrowsError(try ImageDecoder.decode(data: png, name: "tiny.png", options: ImageDecodeOptions(maxPixels: -1)))
    }
}
